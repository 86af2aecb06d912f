# shellcheck shell=bash
# The full matrix (tier "full", make check-full): every scenario of
# lib/scenarios.sh with kdump loaded and not, on 2 vCPUs; the all-CPU
# scenarios and sysrq-c also on 1 and 4 vCPUs, loaded with kexec -s -p
# (kexec_file_load) and with crash_kexec_post_notifiers=1. The check tier
# (panic.sh) runs a representative part of it.

MATRIX_WIDE="sysrq-c panic-all nmi-panic-all"

matrix_register() {
	local s smp
	for s in "${SCENARIOS[@]}"; do
		qp_test "m-cpu-$s-2cpu" full both "$s, 2 vCPUs, no kdump: host CPU" cpu_scenario "$s" 2
		qp_test "m-kdump-$s-2cpu" full both "$s, 2 vCPUs, kexec -p: vmcore" kdump_scenario "$s" 2 load 0
	done
	for s in $MATRIX_WIDE; do
		for smp in 1 4; do
			qp_test "m-cpu-$s-${smp}cpu" full both "$s, $smp vCPUs, no kdump: host CPU" cpu_scenario "$s" "$smp"
			qp_test "m-kdump-$s-${smp}cpu" full both "$s, $smp vCPUs, kexec -p: vmcore" kdump_scenario "$s" "$smp" load 0
		done
		qp_test "m-kdump-$s-2cpu-file" full both "$s, 2 vCPUs, kexec -s -p: vmcore" kdump_scenario "$s" 2 file 0
		qp_test "m-kdump-$s-2cpu-postnotifiers" full both "$s, 2 vCPUs, crash_kexec_post_notifiers=1: vmcore" \
			kdump_scenario "$s" 2 load 1
	done
	qp_test m-kdump-nmi-panic-all-8cpu-file-postnotifiers full both \
		"nmi-panic-all, 8 vCPUs, kexec -s -p, crash_kexec_post_notifiers=1: vmcore" \
		kdump_scenario nmi-panic-all 8 file 1
}

matrix_register
