# quiet panic: the patch series, its kernels and the harness that proves it.
#
#   make demo          build, panic baseline and patched guests, print the table
#   make check         the test suite CI runs (BASE=7.3, 6.12 or 6.1: one base's
#                      whole check tier)
#   make check-quick   the smallest useful subset, for a development loop
#   make check-parsers the harness's parsers on saved output of real runs, no guest
#   make check-full    every scenario of the matrix
#   make soak          every scenario's kdump capture 10 times, lost dumps counted
#   make bench         the full benchmark (BASE=7.3 for one base) into
#                      docs/results/bench.md
#   make bench-libvirt what a panicked guest costs under libvirt, per on_crash,
#                      and host dumps vs kdump by guest size, into
#                      docs/results/libvirt.md
#   make bench-collector the collector at scale (1030 libvirt domains, 50 QMP
#                      guests: fakes, no guest kernel) into
#                      docs/results/collector-scale.md
#   make build         baseline and patched kernels of every base
#   make check-series  every prefix of the series builds and boots (+ CPU figures)
#   make check-variants  !SMP, !KEXEC_CORE/!CRASH_DUMP builds, the arm64 and
#                      s390 objects the series changes; W=1 under Debian's
#                      amd64, cloud and rt configs
#   make check-s390    s390x guests (TCG) panic into a disabled wait, baseline
#                      and patched (needs qemu-system-misc)
#   make lint          shellcheck, series checks and checkpatch --strict
#
# ACCEL=auto|kvm|tcg (default auto: KVM where a guest boots with it) and
# CPU=MODEL reach every guest; VARIANT=baseline|patched limits build and the
# check targets (demo and the benchmarks always compare both).
# ARCH=x86_64|arm64|all (ARCHES) picks the guests' architecture for build,
# check, check-quick and check-full (each base only where VERSIONS tests it
# there; soak: x86_64 only); unset, x86_64, but for "make check" with no BASE, which
# is CI's run: every architecture's CI list.
#   make docs          render docs/cpu-states.svg
#
# Everything large lives in $(QP_CACHE) (default ~/.cache/quiet-panic).

BASE ?= all
VARIANT ?= all
# auto: KVM where /dev/kvm opens and a guest boots with it, else TCG.
ACCEL ?= auto
QP_CACHE ?= $(HOME)/.cache/quiet-panic
# The bases of VERSIONS; the first is the one the series is posted against.
BASES := $(shell scripts/bases.sh all)
$(if $(BASES),,$(error VERSIONS cannot be read: see scripts/bases.sh all))
PRIMARY_BASE := $(firstword $(BASES))
# The architectures of ARCHES; the first is the default.
ARCHES := $(shell scripts/bases.sh --arches all)
$(if $(ARCHES),,$(error ARCHES cannot be read: see scripts/bases.sh --arches all))

# A bad setting stops make before anything runs, with one line.
one_of = $(if $(and $(filter 1,$(words $(2))),$(filter $(2),$(3))),,\
	$(error unknown $(1) '$(2)' (one of: $(3))))
$(call one_of,BASE,$(BASE),all $(BASES))
$(call one_of,VARIANT,$(VARIANT),all baseline patched)
$(call one_of,ACCEL,$(ACCEL),auto kvm tcg)
$(if $(ARCH),$(call one_of,ARCH,$(ARCH),all $(ARCHES)))
# The accelerator and CPU model (CPU=, default: host on KVM, qemu64 on TCG)
# reach every guest through the environment.
export ACCEL CPU

# The architecture(s) of the guests: ARCH, else the default, but for CI's
# run (make check, BASE unset), every one.
GUEST_ARCH := $(or $(ARCH),$(firstword $(ARCHES)))
CHECK_ARCH := $(or $(ARCH),$(if $(filter all,$(BASE)),all,$(firstword $(ARCHES))))
RUN_TESTS := kexec-tests/run-tests --base $(BASE) --variant $(VARIANT)
VARIANTS := $(if $(filter all,$(VARIANT)),baseline patched,$(VARIANT))
SHELL_SOURCES := $(wildcard scripts/*.sh) kexec-tests/run-tests $(wildcard kexec-tests/lib/*.sh) \
	kexec-tests/bench kexec-tests/bench-report \
	kexec-tests/bench-libvirt kexec-tests/bench-collector kexec-tests/duration-report \
	kexec-tests/check-parsers kexec-tests/distro/qp-distro \
	$(wildcard kexec-tests/tests/*.sh) .ci/run

all: check

deps:
	@scripts/deps.sh

tools: deps
	@$(MAKE) -s -C kexec-tests
	@$(MAKE) -s -C tools/panic-collector

# The main job: both kernels, panicked side by side, the table on stdout.
demo: tools
	@kexec-tests/bench --quick --out $(QP_CACHE)/demo

bench: tools
	@kexec-tests/bench --base $(BASE) --arch $(GUEST_ARCH)

bench-libvirt: tools
	@kexec-tests/bench-libvirt $(if $(filter all,$(BASE)),,--base $(BASE))

# The collector at fleet scale (1030 libvirt domains, 50 QMP guests), no guest.
bench-collector: tools
	@kexec-tests/bench-collector

build: deps
	@for a in $$(scripts/bases.sh --arches $(GUEST_ARCH)); do \
		bases=$$(scripts/bases.sh $(BASE) $$a) || exit 1; \
		for b in $$bases; do \
			for v in $(VARIANTS); do QP_ARCH=$$a scripts/build.sh $$b $$v || exit 1; done; \
		done; \
	done

# BASE=all: the check tier on the primary base, a named subset on the
# backports (kexec-tests/tests/ci.sh); one base: its whole check tier.
check: tools check-parsers
	@$(RUN_TESTS) --arch $(CHECK_ARCH) --tier $(if $(filter all,$(BASE)),ci,check)

check-quick: tools
	@kexec-tests/run-tests --base $(if $(filter all,$(BASE)),$(PRIMARY_BASE),$(BASE)) \
		--arch $(GUEST_ARCH) --variant $(VARIANT) --tier quick

check-full: tools
	@$(RUN_TESTS) --arch $(GUEST_ARCH) --tier full

# Seconds, no guest and no kernel: kexec-tests/testdata says what it reads.
check-parsers: deps
	@kexec-tests/check-parsers

# Every scenario's kdump capture (2 vCPUs, kexec -p) on the patched kernels,
# 10 times; run-tests counts lost dumps and dumps missing a CPU. The scenario
# matrix runs on the default architecture only (tests/arches.sh).
SOAK_TESTS = $(shell kexec-tests/run-tests --list | awk '/^m-kdump-.*-2cpu / { print $$1 }')
$(if $(and $(filter soak,$(MAKECMDGOALS)),$(filter-out $(firstword $(ARCHES)),$(GUEST_ARCH))),\
	$(error make soak: the scenario matrix runs on $(firstword $(ARCHES)) only, not ARCH=$(GUEST_ARCH)))
soak: tools
	@kexec-tests/run-tests --base $(BASE) --arch $(GUEST_ARCH) --variant patched --repeat 10 $(SOAK_TESTS)

check-series: deps
	@for b in $$(scripts/bases.sh $(BASE)); do scripts/check-series.sh $$b || exit 1; done

check-variants: deps
	@for b in $$(scripts/bases.sh $(BASE)); do \
		scripts/check-build-variants.sh $$b && scripts/check-debian-configs.sh $$b || exit 1; \
	done

check-s390: deps
	@for b in $$(scripts/bases.sh $(BASE)); do scripts/check-s390-panic.sh $$b || exit 1; done

# checkpatch.pl comes from the base's tree: tree.sh makes it if needed.
lint: deps
	shellcheck $(SHELL_SOURCES)
	@for b in $$(scripts/bases.sh $(BASE)); do \
		scripts/tree.sh $$b && scripts/check-patches.sh $$b || exit 1; \
	done

# The Debian package of tools/panic-collector (debian/ there), built with
# dpkg-buildpackage from a copy of it in $(QP_CACHE)/deb/build (DEB_DIR=
# for another place than $(QP_CACHE)/deb): nothing is written in the tree.
# Prints the .deb's path last.
deb: deps
	@set -e; dir=$${DEB_DIR:-$(QP_CACHE)/deb}; \
	version=$$(dpkg-parsechangelog -l tools/panic-collector/debian/changelog -S Version); \
	src=$$dir/build/panic-collector-$$version; \
	rm -rf "$$dir/build"; mkdir -p "$$dir/build"; \
	cp -a tools/panic-collector "$$src"; \
	if ! (cd "$$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b) \
		>"$$dir/build/build.log" 2>&1; then \
		tail -n 30 "$$dir/build/build.log"; \
		echo "error: dpkg-buildpackage failed (see $$dir/build/build.log)" >&2; exit 1; \
	fi; \
	rm -f "$$dir"/*.deb "$$dir"/*.buildinfo "$$dir"/*.changes; \
	mv "$$dir"/build/*.deb "$$dir"/build/*.buildinfo "$$dir"/build/*.changes "$$dir"/; \
	ls "$$dir"/panic-collector_"$$version"_*.deb

docs: docs/cpu-states.svg

docs/cpu-states.svg: docs/cpu-states.dot
	dot -Tsvg $< -o $@

clean:
	$(MAKE) -C kexec-tests clean
	$(MAKE) -C tools/panic-collector clean

.PHONY: all deps tools demo bench bench-libvirt bench-collector build check check-quick check-full check-parsers soak check-series check-variants check-s390 lint deb docs clean
