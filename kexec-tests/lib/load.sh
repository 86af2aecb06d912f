# shellcheck shell=bash
# Load every library of kexec-tests, in an order where each one's top-level
# settings find what they read: run-tests, the benchmarks and the report
# scripts source this file.
#
#   common        t_fail/t_skip, qpvm results, JSON values, numbers (one
#                 median), bounded waits, and the bad-input tests'
#                 expect_error and its helpers
#   accel         KVM or TCG, and the CPU model
#   guest         one guest of the test's kernel (qpvm)
#   readers       the vmcore readers (crash, drgn) and the dump assertions
#   kdump         the kdump recipe: capture a dump in a guest
#   measure       host CPU after a panic (the one meter), panic()'s
#                 duration, the panic=N countdown
#   scenarios     the panic scenarios as data, and the runners of the
#                 scenario and LKDTM tests
#   distro        the Debian 13 guest booted from disk: kdump-tools'
#                 cycle, and the dump it saved taken out of the image
#   collector     panic-collector against real guests (QMP and libvirt)
#   collector-svc panic-collector as a service, against fakes
#   package       panic-collector's Debian package, chroot and container
#   libvirt       a libvirtd of the test's own

QP_LIB_DIR=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kexec-tests/lib/common.sh
. "$QP_LIB_DIR/common.sh"
# shellcheck source=kexec-tests/lib/accel.sh
. "$QP_LIB_DIR/accel.sh"
# shellcheck source=kexec-tests/lib/guest.sh
. "$QP_LIB_DIR/guest.sh"
# shellcheck source=kexec-tests/lib/readers.sh
. "$QP_LIB_DIR/readers.sh"
# shellcheck source=kexec-tests/lib/kdump.sh
. "$QP_LIB_DIR/kdump.sh"
# shellcheck source=kexec-tests/lib/measure.sh
. "$QP_LIB_DIR/measure.sh"
# shellcheck source=kexec-tests/lib/scenarios.sh
. "$QP_LIB_DIR/scenarios.sh"
# shellcheck source=kexec-tests/lib/distro.sh
. "$QP_LIB_DIR/distro.sh"
# shellcheck source=kexec-tests/lib/collector.sh
. "$QP_LIB_DIR/collector.sh"
# shellcheck source=kexec-tests/lib/collector-svc.sh
. "$QP_LIB_DIR/collector-svc.sh"
# shellcheck source=kexec-tests/lib/package.sh
. "$QP_LIB_DIR/package.sh"
# shellcheck source=kexec-tests/lib/libvirt.sh
. "$QP_LIB_DIR/libvirt.sh"
