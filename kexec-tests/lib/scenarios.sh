# shellcheck shell=bash
# Panic scenarios as data, shared by the check-tier tests (panic.sh), the
# full matrix (matrix.sh) and the benchmarks.
#
#   SCEN_APPEND    kernel parameters: the guest init's trigger and whatever
#                  makes it panic (panic_on_oops, softlockup_panic, ...)
#   SCEN_STEPS     host steps (qpvm) that trigger it, after the guest is up
#   SCEN_PANIC     extended regex for crash's "PANIC:" line with kdump
#   SCEN_LOG       a fixed string the vmcore's log must contain
#   SCEN_NEEDS     what the kernel must have, where a base may lack it:
#                  "FILE REGEX" in the base's source tree; SCEN_WHY_NOT
#                  says why a base without it skips (scenario_needs)
#   SCEN_MIN_CPUS  fewest vCPUs it makes sense with
#
# SCEN_PANIC and SCEN_LOG are the default architecture's; scenario_arch
# gives another's where its kernel words them differently, and
# scenario_not_on says why an architecture cannot run a scenario, and
# scenario_baseline_gap what upstream's dump lacks there. Tests read them
# with scen_panic and scen_log.
#
# With kdump loaded an oops kexecs at oops_end(), before any panic(): crash
# then names the oops and the log has the oops line, not a panic() line.

declare -A SCEN_APPEND SCEN_STEPS SCEN_PANIC SCEN_LOG SCEN_NEEDS SCEN_WHY_NOT SCEN_MIN_CPUS SCEN_NOT_ON
declare -A SCEN_BASELINE_GAP
SCENARIOS=()

# scenario NAME APPEND PANIC_REGEX LOG_STRING
scenario() {
	SCENARIOS+=("$1")
	SCEN_APPEND[$1]=$2
	SCEN_PANIC[$1]=$3
	SCEN_LOG[$1]=$4
	SCEN_STEPS[$1]=""
	SCEN_MIN_CPUS[$1]=1
}

# scenario_needs NAME FILE REGEX WHY: NAME runs only on a base whose source
# tree has a line matching the extended REGEX in FILE; any other base skips
# it, saying WHY. Asked of the tree rather than listed per base, so that a
# new base needs no entry here.
scenario_needs() {
	SCEN_NEEDS[$1]="$2 $3"
	SCEN_WHY_NOT[$1]=$4
}

# scenario_arch NAME ARCH PANIC_REGEX LOG_STRING: NAME's panic and log
# line on ARCH, where they differ from the default architecture's.
scenario_arch() {
	SCEN_PANIC[$1/$2]=$3
	SCEN_LOG[$1/$2]=$4
}

# scenario_not_on NAME ARCH WHY: ARCH cannot run NAME; it skips, saying WHY.
scenario_not_on() {
	SCEN_NOT_ON[$1/$2]=$3
}

# scenario_baseline_gap NAME ARCH WHY: upstream's vmcore of NAME on ARCH
# lacks CPUs' registers that the series saves, for the reason WHY. The
# baseline test asserts that gap rather than a complete dump, so that a
# base which closes it shows up as a failure.
scenario_baseline_gap() {
	SCEN_BASELINE_GAP[$1/$2]=$3
}

# scen_panic NAME, scen_log NAME: NAME's panic regex and log line on this
# test's architecture.
# scen_not_on NAME: why this test's architecture cannot run NAME, or
# nothing. scen_baseline_gap NAME: what upstream's vmcore of NAME lacks
# there, or nothing.
scen_not_on() {
	echo "${SCEN_NOT_ON[$1/$(qp_arch)]:-}"
}

scen_baseline_gap() {
	echo "${SCEN_BASELINE_GAP[$1/$(qp_arch)]:-}"
}

scen_panic() {
	local key
	key="$1/$(qp_arch)"
	echo "${SCEN_PANIC[$key]:-${SCEN_PANIC[$1]}}"
}

scen_log() {
	local key
	key="$1/$(qp_arch)"
	echo "${SCEN_LOG[$key]:-${SCEN_LOG[$1]}}"
}

# Watchdog thresholds small enough for a test: soft lockup after 4 s.
LOCKUP_PARAMS="watchdog_thresh=2"

scenario sysrq-c "kt.trigger=sysrq-c" \
	"sysrq triggered crash" "Kernel panic - not syncing: sysrq triggered crash"
scenario lkdtm-panic "kt.trigger=lkdtm:PANIC" \
	"dumptest" "Kernel panic - not syncing: dumptest"
scenario lkdtm-bug "kt.trigger=lkdtm:BUG panic_on_oops=1" \
	"kernel BUG at drivers/misc/lkdtm/bugs.c" "kernel BUG at drivers/misc/lkdtm/bugs.c"
scenario lkdtm-exception "kt.trigger=lkdtm:EXCEPTION panic_on_oops=1" \
	"Oops: " "BUG: kernel NULL pointer dereference"
scenario lkdtm-panic-stop-irqoff "kt.trigger=lkdtm:PANIC_STOP_IRQOFF" \
	"panic stop irqoff test" "Kernel panic - not syncing: panic stop irqoff test"
scenario_needs lkdtm-panic-stop-irqoff drivers/misc/lkdtm/bugs.c 'PANIC_STOP_IRQOFF' \
	"LKDTM has no PANIC_STOP_IRQOFF before 6.4"
scenario hardirq-panic "kt.trigger=qp:hardirq-panic" \
	"qp_trigger: panic in hard interrupt context" "Kernel panic - not syncing: qp_trigger: panic in hard interrupt context"
scenario softirq-panic "kt.trigger=qp:softirq-panic" \
	"qp_trigger: panic in softirq context" "Kernel panic - not syncing: qp_trigger: panic in softirq context"
scenario hardirq-oops "kt.trigger=qp:hardirq-oops panic_on_oops=1" \
	"Oops: 0002 \\[#1\\]" "BUG: kernel NULL pointer dereference, address: 0000000000000000"
# arm64 names the fault by its syndrome register (ESR), 16 hex digits.
scenario_arch hardirq-oops arm64 "Oops: [0-9a-f]{16} \\[#1\\]" \
	"Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000"
scenario panic-all "kt.trigger=qp:panic-all" \
	"qp_trigger: every CPU panics at once" "Kernel panic - not syncing: qp_trigger: every CPU panics at once"
scenario panic-all-irq-pending "kt.trigger=qp:panic-all-irq-pending" \
	"qp_trigger: every CPU panics at once, each with an interrupt pending" \
	"Kernel panic - not syncing: qp_trigger: every CPU panics at once, each with an interrupt pending"
scenario nmi-panic-all "kt.trigger=qp:nmi-panic-all" \
	"qp_trigger: NMI panic on every CPU" "Kernel panic - not syncing: qp_trigger: NMI panic on every CPU"
scenario irqoff-panic "kt.trigger=qp:irqoff-panic" \
	"qp_trigger: panic while other CPUs spin with interrupts off" \
	"Kernel panic - not syncing: qp_trigger: panic while other CPUs spin with interrupts off"
scenario_not_on nmi-panic-all arm64 \
	"qp_trigger's NMI IPI is x86's (register_nmi_handler(), the APIC); arm64's pseudo-NMI IPIs are the kernel's own"
scenario_baseline_gap panic-all arm64 \
	"the race losers go offline in panic_smp_self_stop() without saving their registers, and the crash stop targets online CPUs"
SCEN_MIN_CPUS[irqoff-panic]=2
# QEMU's "nmi" reaches the boot CPU only: the boot-CPU-only NMI panic.
scenario qemu-nmi "unknown_nmi_panic=1" \
	"NMI: Not continuing" "Kernel panic - not syncing: NMI: Not continuing"
# Steps are split on blanks: "." stands for the space in "kt: idle".
SCEN_STEPS[qemu-nmi]="expect=^kt:.idle\$ nmi"
scenario softlockup "kt.trigger=lkdtm:SOFTLOCKUP softlockup_panic=1 $LOCKUP_PARAMS" \
	"softlockup: hung tasks" "Kernel panic - not syncing: softlockup: hung tasks"
# The buddy detector watches a CPU from another one: it needs two.
scenario hardlockup "kt.trigger=lkdtm:HARDLOCKUP nmi_watchdog=panic $LOCKUP_PARAMS" \
	"Hard LOCKUP" "Kernel panic - not syncing: Hard LOCKUP"
scenario_needs hardlockup lib/Kconfig.debug '^config HARDLOCKUP_DETECTOR_BUDDY$' \
	"no buddy hard-lockup detector in this tree (6.1 has only the perf one) and QEMU TCG has no PMU"
SCEN_MIN_CPUS[hardlockup]=2

# panic_force_cpu= (7.x): sysrq-c fires on CPU 0, which redirects the panic
# to CPU 1 by IPI and stops itself in panic_smp_self_stop(), marked offline.
scenario force-cpu "panic_force_cpu=1 kt.cpu=0 kt.trigger=sysrq-c" \
	"sysrq triggered crash" "panic: Redirecting from CPU 0 to CPU 1 for crash kernel."
scenario_needs force-cpu kernel/panic.c 'panic_force_cpu' "panic_force_cpu= is new in 7.x"
SCEN_MIN_CPUS[force-cpu]=2

# scenario_usable NAME SMP: skip (exit 4) with the reason when this
# architecture, base or vCPU count cannot run NAME.
scenario_usable() {
	local name=$1 smp=$2 not_on
	not_on=$(scen_not_on "$name")
	[ -z "$not_on" ] || t_skip "not on $(qp_arch): $not_on"
	scenario_on_base "$name" || t_skip "${SCEN_WHY_NOT[$name]}"
	[ "$smp" -ge "${SCEN_MIN_CPUS[$name]}" ] ||
		t_skip "$name needs at least ${SCEN_MIN_CPUS[$name]} vCPUs"
	return 0
}

# scenario_on_base NAME: does this base's source tree have what NAME needs?
scenario_on_base() {
	local need=${SCEN_NEEDS[$1]:-} tree
	[ -n "$need" ] || return 0
	tree=$(qp_tree_dir "$BASE" baseline)
	[ -f "$tree/${need%% *}" ] || t_fail "setup: $tree/${need%% *} is missing: cannot tell whether $BASE can run $1"
	grep -Eq -- "${need#* }" "$tree/${need%% *}"
}

# cpu_scenario NAME SMP: kdump not loaded; host CPU after the panic.
cpu_scenario() {
	local name=$1 smp=$2
	scenario_usable "$name" "$smp"
	# shellcheck disable=SC2086 # SCEN_STEPS is a list of qpvm steps
	cpu_after_panic cpu "$smp" "${SCEN_APPEND[$name]}" ${SCEN_STEPS[$name]}
}

# kdump_scenario NAME SMP [KDUMP [POST_NOTIFIERS]]: capture and check the
# vmcore. KDUMP: load (kexec -p) or file (kexec -s -p); POST_NOTIFIERS: 0/1.
kdump_scenario() {
	local name=$1 smp=$2 kdump=${3:-load} pn=${4:-0}
	scenario_usable "$name" "$smp"
	# shellcheck disable=SC2086 # SCEN_STEPS is a list of qpvm steps
	kdump_capture kdump "$smp" "${SCEN_APPEND[$name]} crash_kexec_post_notifiers=$pn" \
		"$kdump" ${SCEN_STEPS[$name]}
	assert_scenario_dump "$name" "$smp"
}

# assert_scenario_dump NAME SMP: the vmcore of scenario NAME on SMP vCPUs,
# as read_vmcore reported it, has what the scenario's dump must: every
# CPU (assert_vmcore), or on baseline the upstream gap the scenario
# records (assert_baseline_gap).
assert_scenario_dump() {
	local name=$1 smp=$2 gap
	gap=$(scen_baseline_gap "$name")
	if [ "$VARIANT" = baseline ] && [ -n "$gap" ]; then
		assert_baseline_gap "$smp" "$name" "$gap"
	else
		assert_vmcore "$smp" "$(scen_panic "$name")" "$(scen_log "$name")"
	fi
}

# assert_baseline_gap SMP NAME WHY: the dump names the panic and has its log
# line, and lacks some CPU's registers (scenario_baseline_gap).
assert_baseline_gap() {
	local smp=$1 name=$2 why=$3 want
	assert_panic_log "$(scen_panic "$name")" "$(scen_log "$name")"
	want=$(cpu_list "$smp")
	[ "$(report_value cpus_regs)" != "$want" ] ||
		t_fail "baseline saved the registers of every CPU: upstream closed the gap ($why); drop scenario_baseline_gap $name $(qp_arch)"
	echo "$(vmcore_reader): panic \"$(report_value panic)\"; registers of CPUs '$(report_value cpus_regs)' of '$want' (upstream gap: $why)"
	drop_dump
}

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
	local s=$1 smp=$2 module_ns lkdtm_ns idle bound diff
	lkdtm_usable
	module_ns=$(host_cpu_after_panic module "$smp" "${SCEN_APPEND[$s]}") || t_fail "$module_ns"
	lkdtm_ns=$(host_cpu_after_panic lkdtm "$smp" "kt.trigger=lkdtm:${LKDTM_TYPE[$s]}") || t_fail "$lkdtm_ns"
	grep -q "Kernel panic - not syncing: ${LKDTM_PANIC[$s]}" "$T/lkdtm.console" ||
		t_fail "the LKDTM type did not panic with '${LKDTM_PANIC[$s]}'"
	idle=$(idle_cpu_ns "$smp") || t_fail "$idle"
	bound=$(cpu_bound_ns "$idle")
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
	assert_vmcore "$smp" "$(scen_panic "$s")" "$(scen_log "$s")"
	mv "$T/vmcore.report" "$T/module.report"
	kdump_capture kdump-lkdtm "$smp" "kt.trigger=lkdtm:${LKDTM_TYPE[$s]}" load
	assert_vmcore "$smp" "${LKDTM_PANIC[$s]}" "Kernel panic - not syncing: ${LKDTM_PANIC[$s]}"
}
