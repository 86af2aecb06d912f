# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# The LKDTM crash types of patches/<base>/lkdtm/ (PANIC_ALL_CPUS,
# NMI_PANIC_ALL_CPUS) against the harness' own trigger module, on the
# patched+LKDTM kernel (variant lkdtm): a reviewer who reproduces our
# figures with the in-tree types must see what the module shows.

qp_test lkdtm-cpu-panic-all check lkdtm "LKDTM PANIC_ALL_CPUS vs the module's panic-all, no kdump: the same quiet CPUs" \
	lkdtm_cpu panic-all 4
qp_test lkdtm-cpu-nmi-panic-all check lkdtm "LKDTM NMI_PANIC_ALL_CPUS vs the module's nmi-panic-all, no kdump: the same quiet CPUs" \
	lkdtm_cpu nmi-panic-all 4
qp_test lkdtm-kdump-panic-all full lkdtm "LKDTM PANIC_ALL_CPUS vs the module, kdump: both vmcores complete" \
	lkdtm_kdump panic-all 4
qp_test lkdtm-kdump-nmi-panic-all check lkdtm "LKDTM NMI_PANIC_ALL_CPUS vs the module, kdump: both vmcores complete" \
	lkdtm_kdump nmi-panic-all 4
