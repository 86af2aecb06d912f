# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# The kdump recipe: a guest that loads a capture kernel, panics, and has
# the capture kernel write the dump to a disk the host then reads. The
# tests (kdump_capture), bench and bench-libvirt (kdump_timed) all capture
# through kdump_guest.

CRASHKERNEL=160M

# dump_level [BASE]: makedumpfile -d of BASE's captures (default this
# test's base; VERSIONS says why it differs).
dump_level() {
	qp_base_fact "${1:-$BASE}" dump_level
}

# kdump_params KDUMP: the kernel parameters of a guest that loads a
# capture kernel (KDUMP: load or file) and dumps at this base's level.
kdump_params() {
	echo "crashkernel=$CRASHKERNEL panic=0 kt.kdump=$1 kt.dump_level=$(dump_level "$BASE")"
}

# kdump_failure NAME: why guest NAME's kdump cycle did not complete: the
# capture kernel's panic (its console starts at the second "Linux version"
# line), else what qpvm said.
kdump_failure() {
	local why
	why=$(awk '/^(\[ *[0-9.]+\] )?Linux version / { boots++ }
		   boots >= 2 && /Kernel panic - not syncing/ { sub(/^.*Kernel panic - not syncing: */, ""); print; exit }' \
		"$T/$1.console")
	if [ -n "$why" ]; then
		echo "the capture kernel panicked: $why"
	else
		qpvm_reason "$T/$1.err"
	fi
}

# kdump_disk_size: the dump disk of a guest of GUEST_MEM_MB: room for a
# dump of all its memory twice over (the file is sparse: it costs what
# the capture kernel writes).
kdump_disk_size() {
	echo "$((2 * GUEST_MEM_MB))M"
}

# kdump_guest NAME SMP APPEND [KDUMP [STEP...]]: boot a guest of
# GUEST_MEM_MB with a capture kernel loaded (KDUMP: load = kexec -p, file
# = kexec -s -p), let the trigger in APPEND (or the host STEPs) crash it,
# and let the capture kernel write the dump to $T/dump.raw and power off.
# Any other end is a lost dump (t_fail).
kdump_guest() {
	local name=$1 smp=$2 append=$3 kdump=${4:-load} disk="$T/dump.raw"
	shift 4 2>/dev/null || shift $#
	rm -f "$disk"
	truncate -s "$(kdump_disk_size)" "$disk"
	# No "panic" step: a panic in NMI context may reach the console only
	# through the vmcore's log.
	GUEST_DISK=$disk guest "$name" "$smp" "$(kdump_params "$kdump") $append" \
		'expect=^kt: kdump loaded' "$@" 'expect=^kt: capture (done|failed)' exit ||
		t_fail "lost dump: the kdump cycle did not complete: $(kdump_failure "$name")"
	grep -q '^kt: capture done: makedumpfile rc=0' "$T/$name.console" ||
		t_fail "lost dump: makedumpfile in the capture kernel failed: $(grep -m1 '^kt: capture' "$T/$name.console")"
	[ "$(t_value "$T/$name.out" exit_reason)" = guest-shutdown ] ||
		t_fail "lost dump: the capture kernel did not power off: exit_reason=$(t_value "$T/$name.out" exit_reason)"
}

# kdump_capture NAME SMP APPEND [KDUMP [STEP...]]: kdump_guest, then
# rebuild the vmcore on the host and read it (read_vmcore).
kdump_capture() {
	kdump_guest "$@"
	vmcore_from_disk
	read_vmcore
}

# kdump_timed NAME SMP APPEND: "MS BYTES" of kdump_guest (the benchmarks):
# from the panic banner to the capture kernel's power-off, and the size of
# the dump it wrote (flattened format); the dump is not kept.
kdump_timed() {
	kdump_guest "$@"
	rm -f "$T/dump.raw"
	echo "$(t_value "$T/$1.out" exit_ms_after_panic)" \
		"$(sed -n 's/^kt: capture done: .* bytes=\([0-9]*\).*/\1/p' "$T/$1.console")"
}
