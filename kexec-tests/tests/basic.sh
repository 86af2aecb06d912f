# shellcheck shell=bash
# The foundation: a kernel boots in QEMU, and kdump captures a dump that
# crash can read, with every vCPU in it.

qp_test boot quick both "boots to init with 2 vCPUs"
test_boot() {
	guest boot 2 "panic=0" 'expect=^kt: init ready: .* 2 cpus$' ||
		t_fail "guest did not reach init with 2 CPUs: $(qpvm_reason "$T/boot.err")"
	grep -m1 '^kt: init ready' "$T/boot.console"
}

# Guest-free: the series as a maintainer first reads it, in this base's own
# tree (checkpatch.pl differs between 6.1, 6.12 and 7.3).
qp_test series-checkpatch quick patched "the series is checkpatch --strict clean in its own tree, every remaining message justified in its notes"
test_series_checkpatch() {
	"$QP_ROOT/scripts/check-patches.sh" "$BASE" >"$T/check-patches.log" 2>&1 ||
		t_fail "$(grep -m1 'checkpatch\|problem' "$T/check-patches.log")"
	tail -n 2 "$T/check-patches.log"
}

qp_test kdump-sysrq-c quick both "sysrq-c with kdump: vmcore panic and log, backtrace and registers of every vCPU" \
	kdump_scenario sysrq-c 2
