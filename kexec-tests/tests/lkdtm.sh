# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# The LKDTM crash types of patches/<base>/lkdtm/ (PANIC_ALL_CPUS,
# NMI_PANIC_ALL_CPUS) against the harness' own trigger module, on the
# patched+LKDTM kernel (variant lkdtm): a reviewer who reproduces our
# figures with the in-tree types must see what the module shows.

# LKDTM type of each module scenario.
declare -A LKDTM_TYPE=([panic-all]=PANIC_ALL_CPUS [nmi-panic-all]=NMI_PANIC_ALL_CPUS)
declare -A LKDTM_PANIC=([panic-all]="panic all cpus test" [nmi-panic-all]="NMI panic all cpus test")

# lkdtm_usable: the kernel carries the LKDTM series (run-tests plans these
# tests only for bases that have one).
lkdtm_usable() {
	[ "$VARIANT" = lkdtm ] || t_fail "run as variant $VARIANT, not lkdtm"
}

# lkdtm_cpu SCENARIO SMP: host CPU after the panic, module trigger vs the
# LKDTM type on the same kernel: both within the idle-relative bound, and
# within it of each other.
lkdtm_cpu() {
	local s=$1 smp=$2 module_ns lkdtm_ns bound diff
	lkdtm_usable
	module_ns=$(host_cpu_after_panic module "$smp" "${SCEN_APPEND[$s]}") || t_fail "$module_ns"
	lkdtm_ns=$(host_cpu_after_panic lkdtm "$smp" "kt.trigger=lkdtm:${LKDTM_TYPE[$s]}") || t_fail "$lkdtm_ns"
	grep -q "Kernel panic - not syncing: ${LKDTM_PANIC[$s]}" "$T/lkdtm.console" ||
		t_fail "the LKDTM type did not panic with '${LKDTM_PANIC[$s]}'"
	bound=$(cpu_bound_ns "$(idle_cpu_ns "$smp")")
	diff=$((module_ns > lkdtm_ns ? module_ns - lkdtm_ns : lkdtm_ns - module_ns))
	echo "$smp vCPUs, 10 s after the panic: module trigger $(ms "$module_ns") ms," \
		"LKDTM ${LKDTM_TYPE[$s]} $(ms "$lkdtm_ns") ms (bound $(ms "$bound") ms)"
	{ [ "$module_ns" -le "$bound" ] && [ "$lkdtm_ns" -le "$bound" ]; } ||
		t_fail "above the idle-relative bound of $(ms "$bound") ms"
	[ "$diff" -le "$bound" ] || t_fail "module and LKDTM differ by $(ms "$diff") ms"
}

# lkdtm_kdump SCENARIO SMP: the vmcore of the LKDTM type is as complete
# as the module's: every CPU with a note, registers and a backtrace.
lkdtm_kdump() {
	local s=$1 smp=$2
	lkdtm_usable
	kdump_capture kdump "$smp" "${SCEN_APPEND[$s]}" load
	assert_vmcore "$smp" "${SCEN_PANIC[$s]}" "${SCEN_LOG[$s]}"
	mv "$T/vmcore.report" "$T/module.report"
	kdump_capture kdump-lkdtm "$smp" "kt.trigger=lkdtm:${LKDTM_TYPE[$s]}" load
	assert_vmcore "$smp" "${LKDTM_PANIC[$s]}" "Kernel panic - not syncing: ${LKDTM_PANIC[$s]}"
}

qp_test lkdtm-cpu-panic-all check lkdtm "LKDTM PANIC_ALL_CPUS vs the module's panic-all, no kdump: the same quiet CPUs" \
	lkdtm_cpu panic-all 4
qp_test lkdtm-cpu-nmi-panic-all check lkdtm "LKDTM NMI_PANIC_ALL_CPUS vs the module's nmi-panic-all, no kdump: the same quiet CPUs" \
	lkdtm_cpu nmi-panic-all 4
qp_test lkdtm-kdump-panic-all full lkdtm "LKDTM PANIC_ALL_CPUS vs the module, kdump: both vmcores complete" \
	lkdtm_kdump panic-all 4
qp_test lkdtm-kdump-nmi-panic-all check lkdtm "LKDTM NMI_PANIC_ALL_CPUS vs the module, kdump: both vmcores complete" \
	lkdtm_kdump nmi-panic-all 4
