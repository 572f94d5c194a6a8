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
	python3 util-linux hyperfine xz-utils

.PHONY: all build demo deps test unit integration conformance bench clean

all: build

build:
	$(CARGO) build --release

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
	if [ -x integration/lib/mkimage.sh ] && [ -x $(IMGTOOL) ] && \
	   integration/lib/mkimage.sh $(DEMO_DIR)/image >/dev/null 2>&1 && \
	   $(IMGTOOL) create $(DEMO_DIR)/image $(DEMO_DIR)/bundle >/dev/null 2>&1; then \
		echo "demo: bundle made by imgtool from a busybox OCI image"; \
	else \
		echo "demo: bundle made from Debian's busybox-static"; \
		mkdir -p $(DEMO_DIR)/bundle/rootfs/bin $(DEMO_DIR)/bundle/rootfs/proc $(DEMO_DIR)/bundle/rootfs/sys \
			$(DEMO_DIR)/bundle/rootfs/dev $(DEMO_DIR)/bundle/rootfs/etc $(DEMO_DIR)/bundle/rootfs/tmp; \
		cp /bin/busybox $(DEMO_DIR)/bundle/rootfs/bin/; \
		for a in sh echo hostname cat; do ln -sf busybox $(DEMO_DIR)/bundle/rootfs/bin/$$a; done; \
		(cd $(DEMO_DIR)/bundle && rm -f config.json && { $(BERTH) spec 2>/dev/null || runc spec; }); \
	fi; \
	cd $(DEMO_DIR)/bundle && jq '.process.terminal = false | .hostname = "berth-demo" | .process.args = ["sh", "-c", "echo Hello from a berth container: $$(hostname), pid $$$$"]' config.json > config.json.new && mv config.json.new config.json; \
	$(BERTH) --root $(DEMO_DIR)/state run -b $(DEMO_DIR)/bundle demo-$$$$; \
	rm -rf $(DEMO_DIR)

unit:
	$(CARGO) test

test: deps unit integration

# The root bats suite (one file per feature). Prints per-test TAP and a summary.
integration:
	@if [ "$(RUNTIME)" = "$(BERTH)" ] && [ ! -x "$(BERTH)" ]; then $(MAKE) build; fi
	@if [ "$$(id -u)" != 0 ]; then echo "integration: needs root" >&2; exit 1; fi
	RUNTIME=$(RUNTIME) integration/run.sh

conformance:
	@if [ "$(RUNTIME)" = "$(BERTH)" ]; then $(MAKE) build; fi
	integration/conformance.sh $(RUNTIME)

bench:
	@if [ -n "$(CARGO)" ] && command -v $(CARGO) >/dev/null; then $(MAKE) build; fi
	integration/bench/runtime.sh $(BENCH_ITERATIONS)

clean:
	$(CARGO) clean
	rm -rf $(DEMO_DIR)
