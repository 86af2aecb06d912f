# shellcheck shell=bash
# The foundation: a kernel boots in QEMU, and kdump captures a dump that
# crash can read, with every vCPU in it.

qp_test boot quick both "boots to init with 2 vCPUs"
test_boot() {
	guest boot 2 "panic=0" 'expect=^kt: init ready: .* 2 cpus$' ||
		t_fail "guest did not reach init with 2 CPUs: $(tail -n 1 "$T/boot.err")"
	grep -m1 '^kt: init ready' "$T/boot.console"
}

qp_test kdump-sysrq-c quick both "sysrq-c with kdump: vmcore panic and log, backtrace and registers of every vCPU" \
	kdump_scenario sysrq-c 2
