# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# The distribution guest: Debian 13 booted from its own disk
# (scripts/distro-image.sh), systemd as PID 1, kdump-tools loading the
# capture kernel at boot and saving the dump in the capture boot, as a
# distribution's users run kdump. The harness's part in the guest is
# qp-distro.service (kexec-tests/distro/qp-distro): it reports the boot
# on the console (lines with "qp-distro: ", after journald's prefix) and fires the trigger the kernel
# command line names (kt.trigger=, kt.cpu=, as the harness's own init).
# The host reads the dump out of the image with debugfs: nothing is
# mounted.

# Memory: kdump-tools' GRUB drop-in reserves crash memory from 512 MB up.
DISTRO_MEM_MB=1024
# systemd boots in about 90 s under TCG, the first boot of a disk
# building kdump-tools' initrd (mkinitramfs) in about 50 s of it; a whole
# kdump cycle took under 3 minutes. Within run-tests' limit per test.
DISTRO_STEP_TIMEOUT_S=300
DISTRO_TIMEOUT_S=420

# distro_disk: a copy of this kernel's image for this test, $T/disk.img.
distro_disk() {
	local image
	image=$("$QP_ROOT/scripts/distro-image.sh" "$BASE" "$VARIANT" 2>"$T/distro-image.err") ||
		t_fail "setup: no Debian 13 guest image: $(grep -m1 '^error: ' "$T/distro-image.err" || tail -n 1 "$T/distro-image.err")"
	cp --sparse=always "$image" "$T/disk.img" || t_fail "setup: cannot copy $image"
}

# distro_versions: "package version, ..." of the guest root's packages
# (scripts/distro-image.sh records them beside the root).
distro_versions() {
	local root
	root=$("$QP_ROOT/scripts/distro-image.sh" --root 2>/dev/null) &&
		awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$root.versions"
}

# distro_cat PATH: a file of the guest's disk, read with debugfs.
distro_cat() {
	debugfs -R "cat $1" "$T/disk.img" 2>/dev/null
}

# distro_crashkernel: crashkernel= as kdump-tools' GRUB drop-in has GRUB
# pass it (the image has no boot loader: QEMU boots the kernel).
distro_crashkernel() {
	local value
	value=$(distro_cat /etc/default/grub.d/kdump-tools.cfg | grep -o 'crashkernel=[^ "]*' | tail -n 1)
	[ -n "$value" ] || t_fail "setup: no crashkernel= in the image's /etc/default/grub.d/kdump-tools.cfg"
	echo "$value"
}

# distro_env CMD...: CMD with every guest() it starts booting from
# $T/disk.img, its root (no initramfs), with the distribution guest's
# memory and time.
distro_env() {
	GUEST_DISK=$T/disk.img GUEST_INITRD=none GUEST_MEM_MB=$DISTRO_MEM_MB \
		GUEST_TIMEOUT=$DISTRO_TIMEOUT_S "$@"
}

# distro_append APPEND: the kernel command line its boot loader would give
# the guest (the root, crashkernel= from kdump-tools, or
# $DISTRO_CRASHKERNEL where set, even empty), then APPEND.
distro_append() {
	local crashkernel
	if [ -n "${DISTRO_CRASHKERNEL+set}" ]; then
		crashkernel=$DISTRO_CRASHKERNEL
	else
		crashkernel=$(distro_crashkernel) || t_fail "$crashkernel"
	fi
	echo "root=/dev/vda ro $crashkernel $1"
}

# distro_guest NAME SMP APPEND STEP...: boot the guest from $T/disk.img
# with distro_append APPEND and run qpvm's STEPs.
distro_guest() {
	local name=$1 smp=$2 append
	append=$(distro_append "$3")
	shift 3
	distro_env guest "$name" "$smp" "$append" "timeout=$DISTRO_STEP_TIMEOUT_S" "$@"
}

# distro_report NAME KEY: the values of qp-distro's "qp-distro: KEY ..."
# console lines in guest NAME's console, one a line.
distro_report() {
	sed -n "s/.*qp-distro: $2 //p" "$T/$1.console" | tr -d '\r'
}

# distro_assert_ready NAME: guest NAME booted to multi-user.target with
# every unit started and kdump-tools ready; else fail with the cause:
# the failed units, and kdump-tools' own last words.
distro_assert_ready() {
	local name=$1 state failed
	state=$(distro_report "$name" system)
	[ -n "$state" ] || t_fail "the guest did not finish booting: $(qpvm_reason "$T/$name.err")"
	failed=$(distro_report "$name" "failed unit" | xargs)
	[ "$state" = running ] || t_fail "the guest booted '$state': failed units: ${failed:-none}"
	distro_report "$name" "kdump-config status:" | grep -q '^current state *: ready to kdump' ||
		t_fail "kdump-tools is not ready: $(distro_kdump_tools_why "$name")"
}

# distro_kdump_tools_why NAME: kdump-tools' own words on why it did not
# load, from its journal lines qp-distro showed: its failure line, else
# its last line.
distro_kdump_tools_why() {
	local log
	log=$(distro_report "$1" "kdump-tools log:")
	grep -i -m1 'fail\|no crashkernel\|not ' <<<"$log" || tail -n 1 <<<"$log"
}

# distro_saved_dir NAME: the /var/crash/<stamp> directory kdump-tools said
# it saved the dump in, in guest NAME's capture boot.
distro_saved_dir() {
	grep -o 'saved vmcore in /var/crash/[0-9]*' "$T/$1.console" | tail -n 1 | sed 's/^saved vmcore in //'
}

# distro_kdump NAME SMP APPEND: the distribution's kdump cycle. The guest
# boots, kdump-tools loads the capture kernel, the trigger in APPEND
# panics it, the capture kernel boots the same system and kdump-tools
# saves the dump and reboots; the guest boots again (a new QEMU: the
# reset ends the first) to multi-user with kdump-tools ready and the dump
# in /var/crash. Then the host takes the dump and kdump-tools' dmesg file
# out of the image: $T/dump.raw, $T/dmesg.txt. Prints
# "MS BYTES DIR": trigger to dump saved, the dump's size, its directory.
distro_kdump() {
	local name=$1 smp=$2 append=$3 dir ms
	distro_disk
	distro_guest "$name" "$smp" "kt.kdump=1 $append" \
		'expect=qp-distro: trigger ' 'expect=saved vmcore in /var/crash/' exit ||
		{ distro_assert_ready "$name"; t_fail "lost dump: $(distro_lost_why "$name")"; }
	dir=$(distro_saved_dir "$name")
	[ "$(t_value "$T/$name.out" exit_reason)" = guest-reset ] ||
		t_fail "kdump-tools saved $dir but did not reboot: exit_reason=$(t_value "$T/$name.out" exit_reason)"
	distro_guest "$name-reboot" "$smp" kt.poweroff=1 \
		'expect=qp-distro: powering off' exit ||
		t_fail "the guest did not boot again after the dump: $(qpvm_reason "$T/$name-reboot.err")"
	distro_assert_ready "$name-reboot"
	# A clean power-off: the file system the host reads next is unmounted.
	[ "$(t_value "$T/$name-reboot.out" exit_reason)" = guest-shutdown ] ||
		t_fail "the guest did not power off after the reboot: exit_reason=$(t_value "$T/$name-reboot.out" exit_reason)"
	distro_report "$name-reboot" dump | grep -q "^$dir/dump\." ||
		t_fail "after the reboot /var/crash lacks $dir/dump.*: $(distro_report "$name-reboot" dump | xargs)"
	distro_take_dump "$dir"
	ms=$(($(nth_expect_ms "$name" 2) - $(nth_expect_ms "$name" 1)))
	echo "$ms $(stat -c %s "$T/dump.raw") $dir"
}

# nth_expect_ms NAME N: when guest NAME's Nth expect step matched (ms).
nth_expect_ms() {
	sed -n 's/^expect_ms=//p' "$T/$1.out" | sed -n "${2}p"
}

# distro_lost_why NAME: why the cycle of guest NAME saved no dump: a
# trigger that returned, the capture kernel's panic, kdump-tools' failure
# line in the capture boot, else what qpvm said (kdump_failure).
distro_lost_why() {
	local why saving
	why=$(grep -o 'qp-distro: trigger .* returned .*' "$T/$1.console" | tail -n 1 | tr -d '\r')
	[ -z "$why" ] || { echo "no panic: $why"; return; }
	why=$(kdump_failure "$1")
	saving=$(grep -o 'kdump-tools: [^[]*failed[^[]*' "$T/$1.console" | tail -n 1 | tr -d '\r')
	if [ -n "$saving" ] && ! grep -q '^the capture kernel' <<<"$why"; then
		why=$saving
	fi
	echo "$why"
}

# distro_take_dump DIR: kdump-tools' dump and dmesg files of DIR out of the
# image (debugfs), $T/dump.raw and $T/dmesg.txt.
distro_take_dump() {
	local dir=$1 stamp=${1##*/}
	debugfs -R "dump $dir/dump.$stamp $T/dump.raw" "$T/disk.img" 2>"$T/debugfs.err"
	debugfs -R "dump $dir/dmesg.$stamp $T/dmesg.txt" "$T/disk.img" 2>>"$T/debugfs.err"
	[ -s "$T/dump.raw" ] ||
		t_fail "debugfs could not read $dir/dump.$stamp out of the image: $(tail -n 1 "$T/debugfs.err")"
	[ -s "$T/dmesg.txt" ] ||
		t_fail "kdump-tools wrote no $dir/dmesg.$stamp (KDUMP_DUMP_DMESG)"
	rm -f "$T/disk.img"
}

# distro_cpu_after_panic NAME SMP APPEND: host CPU (ns) of guest NAME's
# vCPUs after the panic the trigger in APPEND fires in a fresh copy of the
# disk with kdump-tools off (USE_KDUMP=0), systemd's services running up
# to it (host_cpu_after_panic's window).
distro_cpu_after_panic() {
	local name=$1 smp=$2 append
	distro_disk
	distro_use_kdump 0
	append=$(distro_append "$3")
	distro_env host_cpu_after_panic "$name" "$smp" "$append" \
		"timeout=$DISTRO_STEP_TIMEOUT_S" 'expect=qp-distro: trigger '
}

# distro_use_kdump 0|1: USE_KDUMP in the disk's /etc/default/kdump-tools,
# rewritten with debugfs.
distro_use_kdump() {
	distro_cat /etc/default/kdump-tools | sed "s/^USE_KDUMP=.*/USE_KDUMP=$1/" >"$T/kdump-tools.default"
	printf '%s\n' "rm /etc/default/kdump-tools" \
		"write $T/kdump-tools.default /etc/default/kdump-tools" >"$T/debugfs.cmds"
	debugfs -w -f "$T/debugfs.cmds" "$T/disk.img" >"$T/debugfs.out" 2>&1
	distro_cat /etc/default/kdump-tools | grep -qx "USE_KDUMP=$1" ||
		t_fail "setup: could not set USE_KDUMP=$1 in the image: $(tail -n 1 "$T/debugfs.out")"
}
