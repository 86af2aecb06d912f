# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# The kdump recipe: a guest that loads a capture kernel, panics, and has
# the capture kernel write the dump to a disk the host then reads. The
# tests, bench and bench-libvirt all capture through kdump_guest.

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

# kdump_capture NAME SMP APPEND [KDUMP [STEP...]]: boot with a capture
# kernel loaded (KDUMP: load = kexec -p, file = kexec -s -p), let the
# trigger in APPEND (or the host STEPs) crash it, let the capture kernel
# write the dump and power off, rebuild the vmcore on the host and read it
# (read_vmcore).
kdump_capture() {
	local name=$1 smp=$2 append=$3 kdump=${4:-load}
	shift 4 2>/dev/null || shift $#
	GUEST_DISK="$T/dump.raw"
	rm -f "$GUEST_DISK"
	truncate -s 1G "$GUEST_DISK"
	# No "panic" step: a panic in NMI context may reach the console only
	# through the vmcore's log.
	guest "$name" "$smp" "$(kdump_params "$kdump") $append" \
		'expect=^kt: kdump loaded' "$@" 'expect=^kt: capture (done|failed)' exit ||
		t_fail "lost dump: the kdump cycle did not complete: $(kdump_failure "$name")"
	grep -q '^kt: capture done: makedumpfile rc=0' "$T/$name.console" ||
		t_fail "lost dump: makedumpfile in the capture kernel failed: $(grep -m1 '^kt: capture' "$T/$name.console")"
	[ "$(t_value "$T/$name.out" exit_reason)" = guest-shutdown ] ||
		t_fail "lost dump: the capture kernel did not power off: exit_reason=$(t_value "$T/$name.out" exit_reason)"
	unset GUEST_DISK
	vmcore_from_disk
	read_vmcore
}
