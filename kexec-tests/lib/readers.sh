# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# Reading a vmcore: the tools rootfs the readers run in, crash and drgn,
# their reports ($T/vmcore.report) and the assertions on them.

# Which program reads this kernel's vmcores, crash or drgn: the
# architecture's reader (ARCHES), or where that is "base", the base's
# (VERSIONS).
vmcore_reader() {
	local reader
	reader=$(qp_arch_fact "$(qp_arch)" reader) || return 1
	[ "$reader" != base ] || reader=$(qp_base_fact "$BASE" reader) || return 1
	echo "$reader"
}

# The tools rootfs (a Debian suite) the reader runs in: the base's
# (VERSIONS), or if the base reads its dumps with another program, that of
# the first base that uses this one.
reader_rootfs() {
	local reader base
	reader=$(vmcore_reader) || return 1
	base=$BASE
	[ "$(qp_base_fact "$base" reader)" = "$reader" ] ||
		read -r base _ <<<"$(qp_bases_where reader "$reader")"
	qp_base_fact "$base" rootfs
}

# in_rootfs [--rootfs SUITE] CMD...: run CMD in a tools rootfs (default
# trixie) with $T at /work, the kernel's out dir at /kernel and the harness
# at /harness, in a private mount namespace so nothing stays mounted.
in_rootfs() {
	local rootfs suite=trixie
	if [ "$1" = --rootfs ]; then
		suite=$2
		shift 2
	fi
	rootfs=$(qp_rootfs_dir "$suite")
	mkdir -p "$rootfs/work" "$rootfs/kernel" "$rootfs/harness"
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare -m --propagation private sh -c '
		mount --bind "$1" "$0/work" &&
		mount --bind -o ro "$2" "$0/kernel" &&
		mount --bind -o ro "$3" "$0/harness" &&
		shift 3 && exec chroot "$0" "$@"' \
		"$rootfs" "$T" "$(qp_out_dir "$BASE" "$VARIANT")" "$QP_ROOT/kexec-tests" "$@"
}

# Rebuild the vmcore from the flattened dump the capture kernel wrote.
vmcore_from_disk() {
	in_rootfs sh -c 'makedumpfile -R /work/vmcore < /work/dump.raw' \
		>"$T/makedumpfile-R.log" 2>&1 ||
		t_fail "lost dump: makedumpfile -R failed: $(tail -n 1 "$T/makedumpfile-R.log")"
	rm -f "$T/dump.raw"
}

# crash_run CMD...: run crash commands on $T/$DUMPFILE (default vmcore),
# output in $T/$CRASH_OUT (default crash.out).
crash_run() {
	local out="$T/${CRASH_OUT:-crash.out}"
	printf '%s\n' "$@" quit >"$T/crash.cmds"
	# shellcheck disable=SC2016 # expanded by the inner sh
	in_rootfs --rootfs "$(reader_rootfs)" sh -c 'crash -s /kernel/vmlinux "/work/$1" < /work/crash.cmds' \
		sh "${DUMPFILE:-vmcore}" >"$out" 2>&1 ||
		t_fail "lost dump: crash could not open the vmcore: $(grep -m1 -i 'crash:' "$out")"
}

# read_vmcore: open $T/$DUMPFILE (default vmcore) with this base's reader
# and write what every assertion reads: $T/vmcore.report ("key: value"
# lines: panic, prstatus_notes, cpus_listed, cpus_regs, cpus_bt) and the
# kernel log, $T/vmcore.log. A dump the reader cannot open is a lost dump.
read_vmcore() {
	case "$(vmcore_reader)" in
	crash) read_vmcore_crash ;;
	drgn) read_vmcore_drgn ;;
	*) t_fail "setup: VERSIONS names no vmcore reader (crash or drgn) for $BASE" ;;
	esac
}

read_vmcore_crash() {
	crash_run sys "bt -a" "help -r" log "help -D"
	crash_report >"$T/vmcore.report"
	cp "$T/crash.out" "$T/vmcore.log"
}

# crash_report: the vmcore.report lines of crash's output in $T/crash.out.
crash_report() {
	echo "reader: crash"
	echo "panic: $(sed -n 's/^ *PANIC: "\(.*\)"$/\1/p' "$T/crash.out" | head -n 1)"
	echo "prstatus_notes: $(sed -n 's/^ *num_prstatus_notes: *//p' "$T/crash.out" | head -n 1)"
	echo "cpus_listed: $(bt_listed_cpus)"
	echo "cpus_regs: $(saved_register_cpus)"
	echo "cpus_bt: $(bt_cpus)"
}

read_vmcore_drgn() {
	local dump=${DUMPFILE:-vmcore}
	in_rootfs --rootfs "$(reader_rootfs)" python3 /harness/drgn-report.py "/work/$dump" \
		/kernel/vmlinux /work/vmcore.log "$(qp_arch)" \
		>"$T/vmcore.report" 2>"$T/drgn.err" ||
		t_fail "lost dump: drgn could not read the vmcore: $(grep -v -i warning "$T/drgn.err" | tail -n 1)"
}

# report_value KEY: a value of $T/vmcore.report.
report_value() {
	sed -n "s/^$1: *//p" "$T/vmcore.report" | head -n 1
}

# CPUs with a backtrace in crash's "bt -a": a "PID: ... CPU: n" header
# followed by frame #0.
bt_cpus() {
	awk '/^PID: .* CPU: / { cpu = $0; sub(/.*CPU: */, "", cpu); sub(/ .*/, "", cpu); next }
	     cpu != "" && $1 == "#0" { print cpu }
	     { cpu = "" }' "$T/crash.out" | sort -n | xargs
}

# CPUs whose NT_PRSTATUS registers crash's "help -r" shows, RIP non-zero.
saved_register_cpus() {
	awk '/^CPU [0-9]+:$/ { cpu = $2; sub(/:/, "", cpu); next }
	     cpu != "" && $1 == "RIP:" && $2 !~ /^0+$/ { print cpu }
	     { cpu = "" }' "$T/crash.out" | sort -n | xargs
}

# CPUs crash's "bt -a" lists (a "PID: ... CPU: n" header each).
bt_listed_cpus() {
	sed -n 's/^PID: .* CPU: *\([0-9]*\) .*/\1/p' "$T/crash.out" | sort -n | xargs
}

# cpu_list SMP: "0 1 ... SMP-1", the CPUs a dump of SMP vCPUs must have.
cpu_list() {
	seq 0 $(($1 - 1)) | xargs
}

# drop_dump: a passing dump has told its story; failing ones are kept to
# look at.
drop_dump() {
	rm -f "$T/${DUMPFILE:-vmcore}"
}

# assert_panic_log PANIC_REGEX LOG_STRING: the reader names the panic (its
# panic string matches PANIC_REGEX) and the dump's log has LOG_STRING.
assert_panic_log() {
	grep -Eq "$1" <<<"$(report_value panic)" ||
		t_fail "the dump's panic '$(report_value panic)' does not match /$1/"
	grep -qF "$2" "$T/vmcore.log" || t_fail "the dump's log lacks '$2'"
}

# assert_dump SMP PANIC_REGEX LOG_STRING: the reader names the panic (its
# panic string matches PANIC_REGEX), the log has LOG_STRING, each of the
# SMP CPUs is listed and has saved registers, and the dump has an
# NT_PRSTATUS note per CPU.
assert_dump() {
	local smp=$1 want notes
	assert_panic_log "$2" "$3"
	want=$(cpu_list "$smp")
	[ "$(report_value cpus_listed)" = "$want" ] ||
		t_fail "missing CPU: $(vmcore_reader) lists CPUs '$(report_value cpus_listed)', want '$want'"
	[ "$(report_value cpus_regs)" = "$want" ] ||
		t_fail "missing CPU: saved registers for CPUs '$(report_value cpus_regs)', want '$want'"
	notes=$(report_value prstatus_notes)
	[ "$notes" = "$smp" ] || t_fail "missing CPU: vmcore has '$notes' NT_PRSTATUS notes, want $smp"
}

# assert_vmcore SMP PANIC_REGEX LOG_STRING: assert_dump, and the reader
# unwinds a backtrace for every CPU.
assert_vmcore() {
	local smp=$1 want
	assert_dump "$@"
	want=$(cpu_list "$smp")
	[ "$(report_value cpus_bt)" = "$want" ] ||
		t_fail "missing CPU: backtraces for CPUs '$(report_value cpus_bt)', want '$want'"
	echo "$(vmcore_reader): panic \"$(report_value panic)\"; backtrace and saved registers for CPUs $want; $smp NT_PRSTATUS notes"
	drop_dump
}
