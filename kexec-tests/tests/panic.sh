# shellcheck shell=bash
# What every CPU does after a panic, on baseline and patched kernels alike:
# host CPU with no kdump loaded, the panic=N reboot, what a panicked guest
# still serves, and a complete vmcore when kdump is loaded.

# --- host CPU after a panic, no kdump -------------------------------------

# cpu_after_panic NAME SMP TRIGGER [APPEND]: panic with kdump not loaded,
# measure the vCPU threads over 10 s from 2 s after the banner. Patched must
# stay within the idle-relative bound; baseline is recorded (it spins).
cpu_after_panic() {
	local name=$1 smp=$2 trigger=$3 append=${4:-} used bound idle
	guest "$name" "$smp" "panic=0 $trigger $append" panic sleep=2 cpu=10 ||
		t_fail "no panic to measure: $(tail -n 1 "$T/$name.err")"
	used=$(t_value "$T/$name.out" cpu_total_ns)
	idle=$(idle_cpu_ns "$smp")
	bound=$(cpu_bound_ns "$idle")
	echo "$smp vCPUs, 10 s after '$(panic_message "$name")': $(ms "$used") ms host CPU" \
		"(per vCPU $(t_value "$T/$name.out" cpu_vcpu_ns) ns); idle guest $(ms "$idle") ms; bound $(ms "$bound") ms"
	[ "$VARIANT" = baseline ] && return 0
	[ "$used" -le "$bound" ] ||
		t_fail "patched guest used $(ms "$used") ms > bound $(ms "$bound") ms"
}

qp_test cpu-sysrq-c quick both "sysrq-c, no kdump: panicking CPU halts (patched <= idle bound)"
test_cpu_sysrq_c() {
	cpu_after_panic cpu 2 "kt.trigger=sysrq-c"
}

qp_test cpu-panic-all check both "every CPU panics at once, no kdump: race losers halt"
test_cpu_panic_all() {
	cpu_after_panic cpu 4 "kt.trigger=qp:panic-all"
}

qp_test cpu-nmi-panic-all check both "NMI panic on every CPU, no kdump: nmi_panic_self_stop halts"
test_cpu_nmi_panic_all() {
	cpu_after_panic cpu 4 "kt.trigger=qp:nmi-panic-all"
}

qp_test cpu-irqoff check both "panic while other CPUs spin with IRQs off, no kdump"
test_cpu_irqoff() {
	cpu_after_panic cpu 2 "kt.trigger=qp:irqoff-panic"
}

qp_test cpu-hardirq-oops check both "oops in hard IRQ context, panic_on_oops, no kdump"
test_cpu_hardirq_oops() {
	cpu_after_panic cpu 2 "kt.trigger=qp:hardirq-oops" "panic_on_oops=1"
}

# --- panic=N ---------------------------------------------------------------

qp_test panic-timeout check both "panic=10 resets the guest 10 s +-5% after the banner"
test_panic_timeout() {
	local after
	guest timeout 2 "panic=10 kt.trigger=sysrq-c" panic exit ||
		t_fail "no reset after panic=10: $(tail -n 1 "$T/timeout.err")"
	[ "$(t_value "$T/timeout.out" exit_reason)" = guest-reset ] ||
		t_fail "guest ended with '$(t_value "$T/timeout.out" exit_reason)', not a reset"
	after=$(t_value "$T/timeout.out" exit_ms_after_panic)
	echo "reset ${after} ms after the panic banner (panic=10)"
	if [ "$after" -lt 9500 ] || [ "$after" -gt 10500 ]; then
		t_fail "reset after $after ms, want 10000 +-5%"
	fi
}

# --- what a panicked guest still serves ----------------------------------

qp_test after-panic-pvpanic check both "pvpanic GUEST_PANICKED event fires (no kdump)"
test_after_panic_pvpanic() {
	guest pv 2 "panic=0 kt.trigger=sysrq-c" panic pvpanic ||
		t_fail "no GUEST_PANICKED event: $(tail -n 1 "$T/pv.err")"
	echo "GUEST_PANICKED $(t_value "$T/pv.out" pvpanic_ms_after_panic) ms after the banner"
}

# Measured on both bases' baseline kernels: after a panic (SMP kernel, no
# kdump) a serial BREAK + b does not reboot the guest, because
# native_stop_other_cpus() disabled the panicking CPU's local APIC and no
# other CPU takes interrupts; on a live guest the same keys reset it. The
# patched kernel must behave the same, both ways.
qp_test after-panic-sysrq check both "serial sysrq-b: resets a live guest, not a panicked one (as baseline)"
test_after_panic_sysrq() {
	guest live 2 "panic=0" 'expect=^kt: idle$' sysrq=b exit ||
		t_fail "control: sysrq-b did not reset a live guest: $(tail -n 1 "$T/live.err")"
	[ "$(t_value "$T/live.out" exit_reason)" = guest-reset ] ||
		t_fail "control: live guest ended with '$(t_value "$T/live.out" exit_reason)'"
	guest sysrq 2 "panic=0 kt.trigger=sysrq-c" panic sleep=1 sysrq=b sleep=5 ||
		t_fail "could not send sysrq after the panic: $(tail -n 1 "$T/sysrq.err")"
	if grep -q 'sysrq: Resetting' "$T/sysrq.console"; then
		t_fail "the panicked guest handled sysrq-b; baseline does not"
	fi
	if [ "$(t_value "$T/sysrq.out" guest_ended)" != no ]; then
		t_fail "the panicked guest reset after sysrq-b; baseline does not"
	fi
	echo "sysrq-b over the serial line: live guest reset, panicked guest stays (as baseline)"
}

# --- kdump loaded: the capture is complete --------------------------------

qp_test kdump-panic-all check both "kdump, every CPU panics at once: a note and a backtrace per CPU"
test_kdump_panic_all() {
	kdump_capture kdump 4 "kt.trigger=qp:panic-all"
	assert_vmcore 4 "qp_trigger: every CPU panics at once"
}

qp_test kdump-nmi-panic-all check both "kdump, NMI panic on every CPU: a note and a backtrace per CPU"
test_kdump_nmi_panic_all() {
	kdump_capture kdump 4 "kt.trigger=qp:nmi-panic-all"
	assert_vmcore 4 "qp_trigger: NMI panic on every CPU"
}

# With a crash kernel loaded, oops_end() kexecs at the oops itself: crash
# names the oops, and no panic() line is ever printed.
qp_test kdump-hardirq-oops check both "kdump, oops in IRQ context with panic_on_oops: every CPU in the dump"
test_kdump_hardirq_oops() {
	kdump_capture kdump 2 "kt.trigger=qp:hardirq-oops panic_on_oops=1"
	assert_vmcore 2 "Oops: 0002 \[#1\]" "BUG: kernel NULL pointer dereference, address: 0000000000000000"
}
