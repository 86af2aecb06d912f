# shellcheck shell=bash
# Panic now, dump later: tools/panic-collector dumps panicked patched guests
# from the host with QMP dump-guest-memory. No crashkernel is reserved in
# the guests; they carry -device vmcoreinfo so the dump has VMCOREINFO.

# collector_scenario SCENARIO SMP: one guest, one dump.
collector_scenario() {
	local s=$1 smp=$2
	scenario_usable "$s" "$smp"
	collect "$smp" "${SCEN_APPEND[$s]}" guest
	assert_collected "${DUMPS[0]}" "$smp" "$s"
}

qp_test collector-sysrq-c check patched "panic-collector dumps a panicked guest with no crashkernel; the reader opens it" \
	collector_scenario sysrq-c 2
qp_test collector-panic-all check patched "panic-collector, every CPU panics at once: every vCPU in the dump" \
	collector_scenario panic-all 4
qp_test collector-nmi-panic-all check patched "panic-collector, NMI panic on every CPU: every vCPU in the dump" \
	collector_scenario nmi-panic-all 4

qp_test collector-three check patched "three guests panic at once: panic-collector dumps all three"
test_collector_three() {
	local i
	collect 2 "${SCEN_APPEND[sysrq-c]}" vm1 vm2 vm3
	for i in 0 1 2; do
		assert_collected "${DUMPS[$i]}" 2 sysrq-c
	done
}
