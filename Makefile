# berth: build, demo, test (unit + root integration), conformance, bench.
# `make test` installs missing Debian packages, runs `cargo test`, then the
# root integration suite. RUNTIME=runc make integration runs the same suite
# against runc (which checks the tests themselves).

CARGO    ?= cargo
BERTH    := $(CURDIR)/target/release/berth
IMGTOOL  := $(CURDIR)/target/release/imgtool
RUNTIME  ?= $(BERTH)
BATS_JOBS ?= 1
DEMO_DIR ?= /tmp/berth-demo

# Debian packages the tests, demo, conformance and bench use.
DEB_PKGS := busybox-static bats jq runc crun umoci skopeo podman containerd golang-go \
	python3 util-linux uidmap hyperfine xz-utils

.PHONY: all build demo deps lint test unit integration conformance bench stress clean

all: build

# berth itself is linked statically (glibc static-pie): no dynamic loader at
# each start, about 1 ms less per container; imgtool stays dynamic. The
# static build needs --target so proc-macros are still built for the host.
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
build:
	$(CARGO) build --release
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --bin berth --target $(HOST_TRIPLE)
	install -m 755 target/$(HOST_TRIPLE)/release/berth $(BERTH)

# apt-get only what is missing, with one `apt-get update` first.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# A busybox container that greets you. Uses imgtool (image -> bundle) when it
# exists, else a bundle made straight from busybox-static.
demo: build
	@set -e; rm -rf $(DEMO_DIR); mkdir -p $(DEMO_DIR); \
	integration/lib/mkimage.sh $(DEMO_DIR)/image >/dev/null; \
	echo "demo: made a busybox OCI image from Debian's busybox-static in $(DEMO_DIR)/image"; \
	$(IMGTOOL) --store $(DEMO_DIR)/store create --image $(DEMO_DIR)/image:latest $(DEMO_DIR)/bundle \
		-- sh -c 'echo "Hello from a berth container: $$(hostname), pid $$$$, root on $$(grep " / " /proc/mounts | cut -d" " -f1)"'; \
	echo "demo: imgtool prepared $(DEMO_DIR)/bundle (rootfs = overlay of the stored layer + its own upper dir)"; \
	jq '.hostname = "berth-demo"' $(DEMO_DIR)/bundle/config.json > $(DEMO_DIR)/config.json && mv $(DEMO_DIR)/config.json $(DEMO_DIR)/bundle/config.json; \
	echo "demo: berth run:"; \
	$(BERTH) --root $(DEMO_DIR)/state run -b $(DEMO_DIR)/bundle demo-$$$$ || rc=$$?; \
	$(IMGTOOL) --store $(DEMO_DIR)/store remove $(DEMO_DIR)/bundle; \
	rm -rf $(DEMO_DIR); exit $${rc:-0}

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test

test: deps lint unit integration

# The root bats suite (one file per feature). Prints per-test TAP and a summary.
integration:
	@if [ "$(RUNTIME)" = "$(BERTH)" ] && [ ! -x "$(BERTH)" ]; then $(MAKE) build; fi
	@if [ "$$(id -u)" != 0 ]; then echo "integration: needs root" >&2; exit 1; fi
	RUNTIME=$(RUNTIME) integration/run.sh

conformance:
	@if [ "$(RUNTIME)" = "$(BERTH)" ]; then $(MAKE) build; fi
	integration/conformance.sh $(RUNTIME)

# Kill-at-random-points of every verb and concurrent verbs on one
# container, berth and runc side by side (a few minutes per 10 rounds; not
# part of `make test`). STRESS_ROUNDS=N for more.
stress:
	@if [ ! -x "$(BERTH)" ]; then $(MAKE) build; fi
	@if [ "$$(id -u)" != 0 ]; then echo "stress: needs root" >&2; exit 1; fi
	BERTH=$(BERTH) integration/stress.sh $(STRESS_ROUNDS)

bench:
	@if [ -n "$(CARGO)" ] && command -v $(CARGO) >/dev/null; then $(MAKE) build; fi
	integration/bench/runtime.sh $(BENCH_ITERATIONS)

clean:
	$(CARGO) clean
	rm -rf $(DEMO_DIR)
