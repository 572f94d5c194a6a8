# berth: build, demo, test (unit + root integration), conformance, bench.
# `make test` installs missing Debian packages, runs `cargo test`, then the
# root integration suite on this host and, in an emulated test guest (pure
# cgroup v2, systemd as PID 1, AppArmor), the files in VM_FILES.
# RUNTIME=runc make integration (or test-vm) runs the same suite against
# runc (which checks the tests themselves).

CARGO    ?= cargo
BERTH    := $(CURDIR)/target/release/berth
IMGTOOL  := $(CURDIR)/target/release/imgtool
RUNTIME  ?= $(BERTH)
BATS_JOBS ?= 1
DEMO_DIR ?= /tmp/berth-demo
DOCS_DIR := $(CURDIR)/target/docs

# Where `make install` puts things (DESTDIR is prepended to each).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

# Debian packages the tests, demo, conformance and bench use. docker.io,
# tini, iproute2, iptables: docker.bats (a private dockerd in a network
# namespace of its own); python3-grpcio, python3-protobuf, protobuf-compiler:
# cri.bats (Debian has no crictl); man-db, zsh, fish: install.bats;
# python3-seccomp: libseccomp for the seccomp differential test; gcc builds
# seccomp.bats's 32-bit x86 helper (freestanding, so no multilib is needed);
# binutils-{aarch64,riscv64}-linux-gnu, qemu-user-static: the unit tests read
# and run the other architectures' exec-guard trampolines; rustc-web,
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross: berth built for aarch64
# (integration/cross.sh: checked in `make lint`, its unit tests run under
# qemu-user in `make unit`).
DEB_PKGS := busybox-static bats jq runc crun umoci skopeo podman containerd golang-go \
	python3 python3-seccomp gcc util-linux uidmap hyperfine xz-utils docker.io tini iproute2 iptables \
	man-db zsh fish python3-grpcio python3-protobuf protobuf-compiler systemd dbus procps \
	binutils-aarch64-linux-gnu binutils-riscv64-linux-gnu qemu-user-static \
	rustc-web gcc-aarch64-linux-gnu libc6-dev-arm64-cross
# What `make demo` needs beyond the Rust toolchain.
DEMO_PKGS := busybox-static jq

.PHONY: all build demo demo-deps deps docs install uninstall criu lint test unit integration test-vm vm-deps vm-image conformance bench stress clean

all: build

# berth itself is linked statically (glibc): no dynamic loader at each
# start, about 1 ms less per container; imgtool stays dynamic. The static
# build needs --target so proc-macros are still built for the host.
#
# The static berth is not position-independent (relocation-model=static).
# A static-pie relocates itself at every start (6,250 relocations, which
# write to the 120 KB of pointer tables they patch, so each run has those
# pages copied); at a fixed address there is nothing to patch and the tables
# are read-only data: 164 KB smaller, 0.2 MiB less peak RSS per `run`. What
# that gives up is ASLR for berth's own code and data (its stack, heap,
# mmaps and vdso are still randomised; NX and RELRO stay): one who found a
# memory-safety bug in berth would know where its code lies. berth is safe
# Rust outside src/sys; what a container can influence that berth reads
# (its processes' /proc files, its cgroup's files, its rootfs paths) is
# parsed there, and berth exits within milliseconds of being started by its
# caller. For comparison, Debian 12's runc binary is not PIE either, runc's
# own static builds are static-pie (its Makefile), and crun's static release
# is linked with plain -static (nix/derivation.nix).
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
BERTH_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static
build:
	$(CARGO) build --release --bin imgtool
	RUSTFLAGS="$(BERTH_RUSTFLAGS)" $(CARGO) build --release --bin berth --target $(HOST_TRIPLE)
	install -m 755 target/$(HOST_TRIPLE)/release/berth $(BERTH)

# apt-get only what is missing, with one `apt-get update` first. Packages
# must not start their daemons here (docker.io and containerd would take over
# the host's network and /run/containerd): without a policy-rc.d, one that
# refuses every start is put in place for the install only. Then a CRIU for
# the checkpoint tests (a failed CRIU build is reported, and those tests then
# skip saying why).
deps:
	@$(call apt_install,$(DEB_PKGS))
	@$(MAKE) --no-print-directory criu || echo "deps: no working CRIU: the checkpoint/restore tests will skip" >&2
	@integration/cross.sh std >/dev/null || echo "deps: no aarch64 standard library: the aarch64 check and tests will skip" >&2

demo-deps:
	@$(call apt_install,$(DEMO_PKGS))

define apt_install
	missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			policy=/usr/sbin/policy-rc.d; printf '#!/bin/sh\nexit 101\n' >$$policy; chmod 755 $$policy; \
		fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
		rc=$$?; [ -z "$$policy" ] || rm -f $$policy; exit $$rc; \
	fi
endef

# A CRIU that works on the running kernel: the distribution's when it does
# (Debian 12's 3.17 does not on Linux >= 6.13), else CRIU 4.2.1 built from
# Debian sid's source package into $(CRIU_CACHE)/bin/criu (cached; about a
# minute on 2 cores). Nothing is installed into system paths.
CRIU_CACHE ?= /var/tmp/berth-criu
criu:
	@path=$$(CRIU_CACHE=$(CRIU_CACHE) integration/criu-build.sh) && echo "criu: $$path"

# A busybox container that greets you. Uses imgtool (image -> bundle) when it
# exists, else a bundle made straight from busybox-static.
demo: demo-deps build
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

# Man pages and bash/zsh/fish completions, generated from the clap
# definitions by examples/gen-docs.rs (clap_mangen and clap_complete are
# dev-dependencies: none of their code is in berth or imgtool).
docs:
	rm -rf $(DOCS_DIR)
	$(CARGO) run --quiet --example gen-docs -- $(DOCS_DIR)

# berth (static) and imgtool, their man pages (berth: section 8, as runc's;
# imgtool: section 1) and completions.
install: build docs
	install -D -m 755 $(BERTH) $(DESTDIR)$(BINDIR)/berth
	install -D -m 755 $(IMGTOOL) $(DESTDIR)$(BINDIR)/imgtool
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(DOCS_DIR)/man/man8/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(DOCS_DIR)/man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	for p in berth imgtool; do \
		install -D -m 644 $(DOCS_DIR)/completions/bash/$$p $(DESTDIR)$(BASHCOMPDIR)/$$p && \
		install -D -m 644 $(DOCS_DIR)/completions/zsh/_$$p $(DESTDIR)$(ZSHCOMPDIR)/_$$p && \
		install -D -m 644 $(DOCS_DIR)/completions/fish/$$p.fish $(DESTDIR)$(FISHCOMPDIR)/$$p.fish || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/berth $(DESTDIR)$(BINDIR)/imgtool
	rm -f $(DESTDIR)$(MANDIR)/man8/berth.8 $(DESTDIR)$(MANDIR)/man8/berth-*.8
	rm -f $(DESTDIR)$(MANDIR)/man1/imgtool.1 $(DESTDIR)$(MANDIR)/man1/imgtool-*.1
	for p in berth imgtool; do \
		rm -f $(DESTDIR)$(BASHCOMPDIR)/$$p $(DESTDIR)$(ZSHCOMPDIR)/_$$p $(DESTDIR)$(FISHCOMPDIR)/$$p.fish; \
	done

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	CARGO=$(CARGO) integration/cross.sh check

# The seccomp differential test must not skip here: it is what proves berth's
# BPF against libseccomp's (`make deps` installs python3-seccomp).
unit:
	BERTH_SECCOMP_REFERENCE=required BERTH_CROSS_TOOLS=required $(CARGO) test
	CARGO=$(CARGO) integration/cross.sh test

test: deps lint unit integration test-vm

# The root bats suite (one file per feature). Prints per-test TAP and a summary.
integration:
	@if [ "$(RUNTIME)" = "$(BERTH)" ] && [ ! -x "$(BERTH)" ]; then $(MAKE) build; fi
	@if [ "$$(id -u)" != 0 ]; then echo "integration: needs root" >&2; exit 1; fi
	RUNTIME=$(RUNTIME) integration/run.sh

# The second test host: a Debian 12 guest with a pure cgroup v2 hierarchy,
# systemd as PID 1 and AppArmor, booted with qemu (KVM where /dev/kvm boots
# a stock kernel, else software emulation) from an image built once into
# VM_CACHE (integration/vm/). It runs the root files that exercise cgroups,
# systemd, LSMs and user namespaces against the berth built here (or runc:
# RUNTIME=runc make test-vm). Emulated, each test costs ~20x what it does
# here: add a file only if this host cannot exercise what it tests. The
# systemd cgroup driver's file joins as soon as it exists: there it runs
# against a real PID 1.
VM_CACHE   ?= /var/cache/berth-vm
VM_FILES   ?= cgroups.bats resources.bats apparmor.bats namespaces.bats rootless.bats \
	$(notdir $(wildcard integration/systemd.bats))
VM_TIMEOUT ?= 2700

vm-deps:
	integration/vm/host-deps.sh $(VM_CACHE)

vm-image: vm-deps
	integration/vm/image.sh $(VM_CACHE)

test-vm: vm-image
	@if [ "$(RUNTIME)" = "$(BERTH)" ] && [ ! -x "$(BERTH)" ]; then $(MAKE) build; fi
	@if [ "$$(id -u)" != 0 ]; then echo "test-vm: needs root" >&2; exit 1; fi
	RUNTIME=$(RUNTIME) VM_CACHE=$(VM_CACHE) VM_TIMEOUT=$(VM_TIMEOUT) integration/vm/run.sh $(VM_FILES)

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
