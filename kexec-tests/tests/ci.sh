# shellcheck shell=bash
# What CI runs (tier "ci", make check): the whole check tier on the primary
# base (7.3), and on the stable backports (6.12, 6.1) the tests that go
# through what differs between the bases: a vmcore their crash must read
# (kdump-sysrq-c), the crash NMI reaching CPUs parked in
# nmi_panic_self_stop() (kdump-nmi-panic-all), the panicking CPU's and the
# NMI-stopped CPUs' halt (cpu-sysrq-c, cpu-nmi-panic-all), panic() not
# stalled by them (panic-duration-nmi-panic-all-pn1, where v3 stalled), the
# panic=N countdown, and a host-side dump. Three bases' full check tier do not fit
# CI's time with cold kernel builds; make check-full runs everything.
# shellcheck disable=SC2034 # read by run-tests
BACKPORT_TESTS=(boot kdump-sysrq-c kdump-nmi-panic-all cpu-sysrq-c cpu-nmi-panic-all
	panic-duration-nmi-panic-all-pn1 panic-timeout collector-sysrq-c)
