# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# What a panicked guest costs and how long panic() takes, and when panic=N
# resets it (countdown_ms, with boot_cpu_lpj for TCG): host CPU of the
# vCPU threads (qpvm's meter, the only one: for the tests, bench and, with
# --attach, libvirt's QEMUs in bench-libvirt) against an idle guest's, and
# panic()'s duration from the kernel's own printk timestamps.

# The window of every CPU figure: CPU_WINDOW_S seconds from
# CPU_WINDOW_FROM_S seconds on, as qpvm steps in CPU_WINDOW.
CPU_WINDOW_FROM_S=2
CPU_WINDOW_S=10
CPU_WINDOW="sleep=$CPU_WINDOW_FROM_S cpu=$CPU_WINDOW_S"

# idle_cpu_ns SMP: host CPU (ns) of the vCPU threads of an idle guest of
# this kernel over a 10 s window. Measured once per run and kernel
# ($QP_RUN_DIR), so every bound of the run compares with the same idle.
idle_cpu_ns() {
	local smp=$1 f
	f="$QP_RUN_DIR/idle-$(qp_kernel_name "$BASE" "$VARIANT")-${1}cpu.out"
	if [ ! -s "$f" ]; then
		# shellcheck disable=SC2086 # CPU_WINDOW is a list of qpvm steps
		guest idle "$smp" "panic=0" 'expect=^kt: idle$' $CPU_WINDOW ||
			t_fail "idle guest measurement failed: $(qpvm_reason "$T/idle.err")"
		cp "$T/idle.out" "$f"
	fi
	t_value "$f" cpu_total_ns
}

# cpu_bound_ns IDLE_NS: what a quiet panicked guest may use over 10 s:
# 1.5 x the idle guest, but never less than 1% of one core (100 ms).
cpu_bound_ns() {
	local relative=$(($1 * 3 / 2)) floor=100000000
	echo $((relative > floor ? relative : floor))
}

# host_cpu_after_panic NAME SMP APPEND [STEP...]: kdump not loaded,
# panic=0; the guest (or the host STEPs) panics it; the host CPU (ns) of
# its vCPU threads over 10 s from 2 s after panic() finished (its end line;
# at least 2 s after the banner: stopping the other CPUs alone can take
# over a second under TCG). Details in $T/NAME.out.
host_cpu_after_panic() {
	local name=$1 smp=$2 append=$3
	shift 3
	# shellcheck disable=SC2086 # CPU_WINDOW is a list of qpvm steps
	guest "$name" "$smp" "panic=0 $append" "$@" panic settle=20 $CPU_WINDOW ||
		t_fail "no panic to measure: $(qpvm_reason "$T/$name.err")"
	t_value "$T/$name.out" cpu_total_ns
}

# attached_cpu_ns NAME PID: host CPU (ns) of the vCPU threads of QEMU PID,
# one the harness did not start (a libvirt domain's), over CPU_WINDOW from
# now (qpvm --attach). Details in $T/NAME.out.
attached_cpu_ns() {
	local name=$1 pid=$2
	# shellcheck disable=SC2086 # CPU_WINDOW is a list of qpvm steps
	"$QPVM" --attach "$pid" $CPU_WINDOW >"$T/$name.out" 2>"$T/$name.err" ||
		t_fail "$name: cannot measure its QEMU's vCPU threads: $(qpvm_reason "$T/$name.err")"
	t_value "$T/$name.out" cpu_total_ns
}

# On baseline at least one vCPU spins after every scenario (the panicking
# CPU's final wait): half a host CPU over the 10 s window is the least a
# working meter must see, or a patched "0 ms" would mean nothing.
BASELINE_SPIN_MIN_NS=5000000000

# cpu_after_panic NAME SMP APPEND [STEP...]: host_cpu_after_panic, and
# assert_cpu_after_panic on what it measured.
cpu_after_panic() {
	local used
	used=$(host_cpu_after_panic "$@") || t_fail "$used"
	assert_cpu_after_panic "$1" "$2" "$used"
}

# assert_cpu_after_panic NAME SMP USED_NS: guest NAME of SMP vCPUs used
# USED_NS after its panic: patched must stay within the idle-relative
# bound; baseline must show the spin.
assert_cpu_after_panic() {
	local name=$1 smp=$2 used=$3 bound idle
	idle=$(idle_cpu_ns "$smp") || t_fail "$idle"
	bound=$(cpu_bound_ns "$idle")
	echo "$smp vCPUs, 10 s after '$(panic_message "$name")': $(ms "$used") ms host CPU" \
		"(per vCPU $(t_value "$T/$name.out" cpu_vcpu_ns) ns); idle guest $(ms "$idle") ms; bound $(ms "$bound") ms"
	if [ "$VARIANT" = baseline ]; then
		[ "$used" -ge "$BASELINE_SPIN_MIN_NS" ] ||
			t_fail "baseline guest used $(ms "$used") ms < $(ms "$BASELINE_SPIN_MIN_NS") ms: the meter does not see its spinning vCPU"
		return 0
	fi
	[ "$used" -le "$bound" ] ||
		t_fail "patched guest used $(ms "$used") ms > bound $(ms "$bound") ms"
}

# panic_duration_ms NAME: "TOTAL STOP_WAIT AFTER_TRACE STOPPED" of panic()
# in guest NAME (ms; STOPPED 0 or 1), by the kernel's own printk timestamps
# (host-side timing of the console can hide stalls: a legacy console prints
# the banner only once the other CPUs are stopped); nothing when the
# backtrace's end or the end line is missing, as in a panic that prints no
# backtrace (after an oops, or without CONFIG_DEBUG_BUGVERBOSE).
#
# TOTAL: from its banner to its "---[ end Kernel panic" line.
#
# AFTER_TRACE: from the end of the panicking CPU's backtrace (x86: its
# "</TASK>", the first after the banner; arm64, whose "Call trace:" has no
# closing line: its last frame) to the end line: kgdb, the shootdowns, the
# notifiers, kmsg_dump and the console flush, where a CPU that no longer
# answers stalls panic(). On 6.12 and 6.1 with an NMI panic the flush also
# prints the banner and backtrace stored in NMI context (6.12: 7 to 77 ms,
# 6.1: 9 to 85 ms under TCG). The banner and backtrace come first, before
# anything the series changes runs; under TCG they took 7 to 222 ms in the
# stored 7.3 and 6.12 runs, on either kernel: more than the tests allow.
#
# STOP_WAIT: what native_stop_other_cpus() spent waiting for CPUs that do
# not take its REBOOT vector (in NMI context, or with interrupts off), then
# for those of them that cannot take its stop NMI either (in NMI context):
# from the line printed before its "Shutting down cpus with NMI" to the
# line printed after it (in practice from the "</TASK>" to "Kernel
# Offset"), since nothing prints during those waits. They are upstream's
# fixed timeouts, 10^6 and 10^4 udelay(1)s: 1 s on hardware, 3.6 to 13.6 s
# under TCG with 4 vCPUs on 2 host CPUs, varying by seconds from run to
# run; 0 when the line is absent. STOPPED: 1 when the line is there.
panic_duration_ms() {
	awk 'function stamp(line) { sub(/^\[ */, "", line); sub(/\].*/, "", line); return line }
	     function ms(s) { return int(s * 1000 + 0.5) }
	     !/^\[ *[0-9]+\.[0-9]+\] / { next }
	     /Kernel panic - not syncing/ && banner == "" { banner = stamp($0) }
	     banner != "" && trace_end == "" && /\] +<\/TASK>/ { trace_end = stamp($0) }
	     in_trace && !/\] +[^ ]+\+0x[0-9a-f]+\/0x[0-9a-f]+/ { trace_end = last_frame; in_trace = 0 }
	     in_trace { last_frame = stamp($0) }
	     banner != "" && trace_end == "" && /\] Call trace:/ { in_trace = 1 }
	     after { wait = stamp($0) - before; after = 0 }
	     banner != "" && /\] Shutting down cpus with NMI/ { before = prev; after = 1; stopped = 1 }
	     trace_end != "" && /\] ---\[ end Kernel panic/ {
		printf "%d %d %d %d\n", ms(stamp($0) - banner), ms(wait), ms(stamp($0) - trace_end), stopped
		exit }
	     { prev = stamp($0) }' "$T/$1.console"
}

PANIC_DURATION_REPS=3

# shellcheck disable=SC2034 # used by tests/panic.sh and duration-report
PANIC_DURATION_SLACK_MS=50

# printk timestamps come from local_clock(). qemu64 is not an Intel CPU, so
# 6.1 marks a multi-CPU guest's TSC unsynchronized ("Marking TSC unstable"),
# and sched_clock_cpu() then runs at most a tick past the CPU's last tick:
# with interrupts off in panic() its timestamps stop, and a stall of seconds
# reads at most a tick (0 to 3 ms in the 6.1 runs before this). TCG's TSCs
# are in sync; say so.
PANIC_DURATION_APPEND="tsc=reliable"

# panic_durations SCENARIO SMP POST_NOTIFIERS VARIANT: PANIC_DURATION_REPS
# guests of VARIANT, kdump not loaded: "TOTAL STOP_WAIT AFTER_TRACE STOPPED"
# of each one's panic() (panic_duration_ms) in $T/VARIANT.ms.
panic_durations() {
	local s=$1 smp=$2 pn=$3 variant=$4 rep name ms
	: >"$T/$variant.ms"
	for rep in $(seq "$PANIC_DURATION_REPS"); do
		name="$variant-$rep"
		# shellcheck disable=SC2086 # SCEN_STEPS is a list of qpvm steps
		VARIANT=$variant guest "$name" "$smp" \
			"panic=0 crash_kexec_post_notifiers=$pn $PANIC_DURATION_APPEND ${SCEN_APPEND[$s]}" \
			${SCEN_STEPS[$s]} panic settle=30 ||
			t_fail "$variant guest did not panic: $(qpvm_reason "$T/$name.err")"
		! grep -q "Marking TSC unstable" "$T/$name.console" ||
			t_fail "$variant: $name marked its TSC unstable, so its printk timestamps stop while panic() runs"
		ms=$(panic_duration_ms "$name")
		[ -n "$ms" ] || t_fail "$variant: no </TASK> or no end line after the panic banner in $name.console"
		echo "$ms" >>"$T/$variant.ms"
	done
}

# nth_numbers N FILE: the Nth number of every line of FILE, on one line.
nth_numbers() {
	awk -v n="$1" '{ print $n }' "$2" | xargs
}

# net_ms FILE: each run's AFTER_TRACE less its STOP_WAIT, on one line.
net_ms() {
	awk '{ print $3 - $2 }' "$1" | xargs
}

# stop_wait_runs FILE: in how many runs of FILE native_stop_other_cpus()
# waited out its REBOOT vector's timeout (a CPU did not take it).
stop_wait_runs() {
	awk '$4 { n++ } END { print n + 0 }' "$1"
}

# countdown_smp SCENARIO: the vCPUs of a panic=N guest (sysrq-c 2, else 4).
countdown_smp() {
	if [ "$1" = sysrq-c ]; then echo 2; else echo 4; fi
}

# countdown_ms NAME SECONDS SCENARIO [PARAM...]: ms from "Rebooting in
# SECONDS seconds" to the reset of a panic=SECONDS guest of this variant
# (the caller has checked scenario_usable: a skip must not happen in here,
# where it would be a failure of the command substitution).
countdown_ms() {
	local name=$1 secs=$2 s=$3 smp
	shift 3
	smp=$(countdown_smp "$s")
	# shellcheck disable=SC2086 # SCEN_STEPS is a list of qpvm steps
	guest "$name" "$smp" "panic=$secs $* ${SCEN_APPEND[$s]}" ${SCEN_STEPS[$s]} panic \
		"expect=Rebooting in $secs seconds" exit ||
		t_fail "no reset after panic=$secs: $(qpvm_reason "$T/$name.err")"
	[ "$(t_value "$T/$name.out" exit_reason)" = guest-reset ] ||
		t_fail "guest ended with '$(t_value "$T/$name.out" exit_reason)', not a reset"
	echo $(($(t_value "$T/$name.out" shutdown_ms) - $(t_value "$T/$name.out" expect_ms)))
}

# boot_cpu_lpj: "lpj=N" with the boot CPU's loops_per_jiffy, from a boot of
# this variant's kernel; nothing with KVM, where kvmclock presets every
# CPU's value anyway (kvm_get_preset_lpj()).
boot_cpu_lpj() {
	local lpj
	[ "$QP_ACCEL" = kvm ] && return 0
	guest lpj 1 "panic=0" 'expect=BogoMIPS \(lpj=[0-9]+\)' ||
		t_fail "no delay loop calibration line: $(qpvm_reason "$T/lpj.err")"
	lpj=$(sed -n 's/.*BogoMIPS (lpj=\([0-9]\+\)).*/\1/p' "$T/lpj.console" | head -n 1)
	[ -n "$lpj" ] || t_fail "no lpj= value in the calibration line of $T/lpj.console"
	echo "lpj=$lpj"
}
