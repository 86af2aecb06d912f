# shellcheck shell=bash
# Which tests run on the architectures besides the default one (ARCHES);
# every test runs on the default. A test runs where what it exercises
# exists: the scenarios arm64 has (scenarios.sh says which it lacks, and
# such a test skips with the reason), the assertions of the x86 tests. Not
# on arm64: the tests of x86-only mechanisms, the collector and packaging
# tests (host-side, the same for every guest architecture), and the
# harness's own bad-input and fault tests (bad-input-arch, which tests the
# arm64 setup, runs on the default architecture).

# ARCH_TESTS[ARCH]: the tests that run on ARCH.
declare -A ARCH_TESTS
# shellcheck disable=SC2034 # read by run-tests
ARCH_TESTS[arm64]="boot
	cpu-sysrq-c cpu-panic-all cpu-panic-all-irq-pending cpu-nmi-panic-all cpu-irqoff cpu-hardirq-oops cpu-force-cpu
	kdump-sysrq-c kdump-panic-all kdump-force-cpu off-switch-sysrq-c
	panic-duration-sysrq-c-pn0 panic-duration-sysrq-c-pn1
	panic-duration-panic-all-pn0 panic-duration-panic-all-pn1
	panic-timeout"
