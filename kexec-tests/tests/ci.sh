# shellcheck shell=bash
# What CI runs (tier "ci", make check): named subsets of the check tier,
# chosen so that a cold run (every kernel built from scratch: 7.3, 6.12 and
# 6.1, baseline and patched, about 40 minutes of the 2 CPUs) ends well
# within CI's 90 minutes. The whole check tier is "make check BASE=7.3"
# (about 30 minutes of tests once the kernels are built); "make check-full"
# runs the scenario matrix on every base.
#
# On the primary base (7.3), PRIMARY_TESTS: every mechanism of the series
# once, on the scenario that exercises it:
#  - the vmcore: kdump with sysrq-c on both kernels (the reader works on
#    baseline too), every CPU panicking and an NMI panic on every CPU on
#    patched (the crash NMI reaches CPUs parked in panic_smp_self_stop()
#    and polling in nmi_panic_self_stop());
#  - the halt at each site: sysrq-c (the final wait), every CPU panicking
#    (panic_smp_self_stop()), NMI panic on every CPU
#    (nmi_panic_self_stop()), panic_force_cpu= (the redirecting CPU);
#  - what the v3 design broke: panic() duration with
#    crash_kexec_post_notifiers=1 (the shootdown of CPUs in NMI context),
#    every CPU panicking and NMI panic on every CPU;
#  - the off switch (host CPU as baseline; kdump), panic=N;
#  - the collector over QMP and libvirt (a libvirtd restart included), the
#    LKDTM types against the module, and every bad-input and fault test.
# Left to the check tier: the baseline runs of the CPU tests (they assert
# nothing), the duration tests with crash_kexec_post_notifiers=0 (dominated
# by upstream's stop timeouts on both kernels), and scenarios that take a
# path already covered (IRQs off, oops in IRQ context, three guests at
# once, the NMI/panic-all collector dumps).
#
# On the stable backports (6.12, 6.1), BACKPORT_TESTS: what differs between
# the bases: a vmcore their crash must read (kdump-sysrq-c), the crash NMI
# reaching CPUs in nmi_panic_self_stop() (kdump-nmi-panic-all), the
# panicking CPU's and the NMI-stopped CPUs' halt (cpu-sysrq-c,
# cpu-nmi-panic-all), panic() not stalled by them
# (panic-duration-nmi-panic-all-pn1, where v3 stalled), the panic=N
# countdown, and a host-side dump.
# shellcheck disable=SC2034 # read by run-tests
PRIMARY_TESTS=(boot kdump-sysrq-c kdump-panic-all kdump-nmi-panic-all
	cpu-sysrq-c cpu-panic-all cpu-nmi-panic-all cpu-force-cpu
	panic-duration-panic-all-pn1 panic-duration-nmi-panic-all-pn1
	off-switch-sysrq-c off-switch-kdump panic-timeout
	collector-sysrq-c collector-libvirt collector-libvirt-restart collector-unit
	lkdtm-cpu-nmi-panic-all accel-kvm-missing
	bad-input-make bad-input-run-tests bad-input-qpvm bad-input-no-qemu
	bad-input-series bad-input-version bad-input-collector
	fault-capture-kernel fault-qemu-killed fault-sigint fault-collector-disk-full)
# shellcheck disable=SC2034 # read by run-tests
BACKPORT_TESTS=(boot kdump-sysrq-c kdump-nmi-panic-all cpu-sysrq-c cpu-nmi-panic-all
	panic-duration-nmi-panic-all-pn1 panic-timeout collector-sysrq-c)
# CI runs these tests as patched only where they are "both" (the baseline
# runs of cpu-* and kdump-* assert nothing the patched runs do not); the
# baseline kernels are built for the pair tests.
CI_BASELINE_TESTS=(boot kdump-sysrq-c)
