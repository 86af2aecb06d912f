# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# panic-collector against real guests: dump patched guests over QMP and
# check the dump and its metadata.

COLLECTOR="$QP_ROOT/tools/panic-collector/panic-collector"

# collect NAME...: start one patched guest per NAME (SMP vCPUs, trigger
# APPEND; no crashkernel), each with a second QMP socket, and let
# panic-collector dump them all with policy "quit". Sets DUMPS to the
# dump files in NAME order.
collect() {
	local smp=$1 append=$2 name dump pids=() args=() rc=0
	shift 2
	[ -x "$COLLECTOR" ] || make -s -C "$(dirname "$COLLECTOR")" >/dev/null ||
		t_fail "cannot build panic-collector"
	mkdir -p "$T/dumps"
	for name in "$@"; do
		# kt.delay: the collector is connected before the guest panics.
		GUEST_OPTS="--vmcoreinfo --qmp-extra $T/$name.qmp" \
			guest "$name" "$smp" "panic=0 kt.delay=4000 $append" panic timeout=300 exit &
		pids+=($!)
		args+=(--console "$name=$T/$name.console")
	done
	for name in "$@"; do
		args+=("$name=$T/$name.qmp")
	done
	"$COLLECTOR" --dir "$T/dumps" --policy quit --once --settle 20 "${args[@]}" \
		>"$T/collector.out" 2>"$T/collector.err" || rc=$?
	for name in "${pids[@]}"; do
		wait "$name" || true
	done
	[ "$rc" = 0 ] || t_fail "panic-collector failed: $(tail -n 1 "$T/collector.err")"
	DUMPS=()
	for name in "$@"; do
		[ "$(t_value "$T/$name.out" exit_reason)" = host-qmp-quit ] ||
			t_fail "$name was not quit by the collector: exit_reason=$(t_value "$T/$name.out" exit_reason)"
		dump=$(cd "$T/dumps" && ls "$name"-*.kdump 2>/dev/null) ||
			t_fail "no dump of $name in $T/dumps"
		DUMPS+=("$dump")
		[ -s "$T/dumps/${DUMPS[-1]}.json" ] || t_fail "no metadata for ${DUMPS[-1]}"
	done
}

# The function the panicking CPU (the kernel's panic_cpu) was in when
# dumped: its saved RIP, symbolised by the reader (drgn reports it itself).
panic_cpu_symbol() {
	local cpu rip
	if [ "$(vmcore_reader)" = drgn ]; then
		report_value panic_cpu_symbol
		return 0
	fi
	CRASH_OUT=crash-cpu.out crash_run "p panic_cpu.counter"
	cpu=$(sed -n 's/^\$[0-9]* = \([0-9]*\)$/\1/p' "$T/crash-cpu.out")
	[ -n "$cpu" ] || return 0
	rip=$(awk -v c="CPU $cpu:" '$0 == c { getline; print $2; exit }' "$T/crash.out")
	CRASH_OUT=crash-sym.out crash_run "sym $rip"
	sed -n 's/^[0-9a-f]* (.) \([^+ ]*\).*/\1/p' "$T/crash-sym.out"
}

# vmlinux_of_metadata META: the built vmlinux whose GNU build ID is the
# dump's (its .json's build_id, from VMCOREINFO), as a support engineer
# finds the debug kernel of a dump; fails when none or several match.
vmlinux_of_metadata() {
	local meta=$1 id found=() f
	id=$(json_value "$meta" build_id)
	[ -n "$id" ] || t_fail "$meta has no build_id"
	for f in "$QP_CACHE"/out/*/vmlinux; do
		readelf -n "$f" 2>/dev/null | grep -q "Build ID: $id\$" && found+=("$f")
	done
	[ "${#found[@]}" = 1 ] || t_fail "build ID $id matches ${#found[@]} built vmlinux files: ${found[*]}"
	echo "${found[0]}"
}

# assert_collected DUMP SMP SCENARIO [WHERE]: the reader opens the
# collector's dump: the panic, every vCPU with its registers, and the
# panicking CPU where WHERE says it must be: "halted" (default) in x86's
# panic_halt() or the safe_halt() it calls, not spinning in mdelay();
# "paused" in pvpanic_send_event(), where QEMU stops a guest whose host
# (libvirt with on_crash=preserve) pauses it at the pvpanic event.
#
# crash 8.0.6 does not unwind CPUs that were stopped on their IRQ or NMI
# stacks in dump-guest-memory dumps ("read of stack at fffffe... failed");
# their registers are in the dump, and in kdump vmcores it unwinds them.

assert_collected() {
	local dump=$1 smp=$2 s=$3 where=${4:-halted} meta sym vmlinux
	meta="$T/dumps/$dump.json"
	json_is "$meta" vcpus_quiet true ||
		t_fail "$dump: the vCPUs were not quiet when dumped: vcpu_ns_last_second=$(json_value "$meta" vcpu_ns_last_second)"
	# The reader opens the dump with the kernel under test: that must be the
	# one the metadata names.
	vmlinux=$(vmlinux_of_metadata "$meta")
	[ "$vmlinux" -ef "$(qp_out_dir "$BASE" "$VARIANT")/vmlinux" ] ||
		t_fail "$dump: its metadata's build ID names $vmlinux, not the kernel under test"
	DUMPFILE="dumps/$dump" read_vmcore
	DUMPFILE="dumps/$dump" assert_dump "$smp" "$(scen_panic "$s")" "$(scen_log "$s")"
	sym=$(DUMPFILE="dumps/$dump" panic_cpu_symbol)
	# panic_halt() halts with safe_halt(): through paravirt it ends in
	# pv_native_safe_halt() and native_safe_halt() (inlined into
	# panic_halt() without PARAVIRT); drgn names the innermost inlined
	# function.
	case "$where:$sym" in
	halted:panic_halt | halted:native_safe_halt | halted:pv_native_safe_halt | halted:safe_halt) ;;
	paused:pvpanic_send_event) ;;
	*) t_fail "$dump: the panicking CPU is in '$sym', not $where" ;;
	esac
	echo "$dump: $(json_value "$meta" bytes) bytes in" \
		"$(json_value "$meta" dump_ms) ms, panicking CPU $where in $sym," \
		"$smp vCPUs with registers, no crashkernel ($CRASHKERNEL saved); vmlinux by build ID: ${vmlinux#"$QP_CACHE"/}"
	rm -f "$T/dumps/$dump"
}

# lv_collector ARGS...: panic-collector on the test's libvirtd, in the
# background; output in $T/collector.out and .err, PID in LV_COLLECTOR.
lv_collector() {
	[ -x "$COLLECTOR" ] || make -s -C "$(dirname "$COLLECTOR")" >/dev/null ||
		t_fail "cannot build panic-collector"
	mkdir -p "$T/dumps"
	"$COLLECTOR" --dir "$T/dumps" --libvirt "$(lv_uri)" --settle 20 "$@" \
		>"$T/collector.out" 2>"$T/collector.err" &
	LV_COLLECTOR=$!
}

# lv_collector_wait: its exit status (it was started with --once).
lv_collector_wait() {
	local rc=0 i
	for ((i = 0; i < 3000; i++)); do
		kill -0 "$LV_COLLECTOR" 2>/dev/null || break
		sleep 0.1
	done
	kill "$LV_COLLECTOR" 2>/dev/null && t_fail "the collector did not finish in 300 s: $(tail -n 2 "$T/collector.out")"
	wait "$LV_COLLECTOR" || rc=$?
	return "$rc"
}

# lv_assert_dumped NAME SMP: one dump of domain NAME, its metadata names the
# domain and its UUID and the console's panic line, and the reader finds
# the panic and every vCPU with registers. With on_crash=preserve QEMU
# pauses the guest at the pvpanic event, inside panic(): the panicking CPU
# is found in pvpanic_send_event(), before panic() went on.
lv_assert_dumped() {
	local name=$1 smp=$2 dump meta
	dump=$(cd "$T/dumps" && ls "$name"-*.kdump 2>/dev/null) || t_fail "no dump of $name: $(ls "$T/dumps")"
	[ "$(echo "$dump" | wc -l)" = 1 ] || t_fail "more than one dump of $name: $dump"
	meta="$T/dumps/$dump.json"
	[ "$(json_value "$meta" uuid)" = "$(cat "$T/$name.uuid")" ] ||
		t_fail "$dump: the metadata's uuid is '$(json_value "$meta" uuid)', not the domain's $(cat "$T/$name.uuid")"
	case "$(json_value "$meta" panic_line)" in
	"Kernel panic - not syncing: sysrq triggered crash"*) ;;
	*) t_fail "$dump: the metadata lacks the console's panic line: $(json_value "$meta" panic_line)" ;;
	esac
	case "$(json_value "$meta" source)" in
	libvirt:*) ;;
	*) t_fail "$dump: the source is not libvirt: $(json_value "$meta" source)" ;;
	esac
	assert_collected "$dump" "$smp" sysrq-c paused
}
