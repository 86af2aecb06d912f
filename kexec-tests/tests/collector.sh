# shellcheck shell=bash
# Panic now, dump later: tools/panic-collector dumps panicked patched guests
# from the host with QMP dump-guest-memory. No crashkernel is reserved in
# the guests; they carry -device vmcoreinfo so the dump has VMCOREINFO.

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
# vmlinux_of_metadata META: the built vmlinux whose GNU build ID is the
# dump's (its .json's build_id, from VMCOREINFO), as a support engineer
# finds the debug kernel of a dump; fails when none or several match.
vmlinux_of_metadata() {
	local meta=$1 id found=() f
	id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("build_id") or "")' "$meta")
	[ -n "$id" ] || t_fail "$meta has no build_id"
	for f in "$QP_CACHE"/out/*/vmlinux; do
		readelf -n "$f" 2>/dev/null | grep -q "Build ID: $id\$" && found+=("$f")
	done
	[ "${#found[@]}" = 1 ] || t_fail "build ID $id matches ${#found[@]} built vmlinux files: ${found[*]}"
	echo "${found[0]}"
}

assert_collected() {
	local dump=$1 smp=$2 s=$3 where=${4:-halted} meta sym vmlinux
	meta="$T/dumps/$dump.json"
	grep -q '"vcpus_quiet": *true' "$meta" ||
		t_fail "$dump: the vCPUs were not quiet when dumped: $(grep vcpu_ns "$meta")"
	# The reader opens the dump with the kernel under test: that must be the
	# one the metadata names.
	vmlinux=$(vmlinux_of_metadata "$meta")
	[ "$vmlinux" -ef "$(qp_out_dir "$BASE" "$VARIANT")/vmlinux" ] ||
		t_fail "$dump: its metadata's build ID names $vmlinux, not the kernel under test"
	DUMPFILE="dumps/$dump" read_vmcore
	DUMPFILE="dumps/$dump" assert_dump "$smp" "${SCEN_PANIC[$s]}" "${SCEN_LOG[$s]}"
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
	echo "$dump: $(sed -n 's/.*"bytes": *\([0-9]*\).*/\1/p' "$meta") bytes in" \
		"$(sed -n 's/.*"dump_ms": *\([0-9]*\).*/\1/p' "$meta") ms, panicking CPU $where in $sym," \
		"$smp vCPUs with registers, no crashkernel ($CRASHKERNEL saved); vmlinux by build ID: ${vmlinux#"$QP_CACHE"/}"
	rm -f "$T/dumps/$dump"
}

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
