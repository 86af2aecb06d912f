#!/bin/bash
# Boot an s390x guest of one base, baseline and patched, under QEMU (TCG),
# let it panic with panic=0 (no root file system), and check that the panic
# still ends in a disabled wait with the console complete up to the same
# last line. The series turns the disabled_wait() that panic() entered from
# an #ifdef into s390's panic_halt(), called after the end line and the last
# console flush; s390's on_panic notifier (the last one, priority INT_MIN)
# normally stops the CPU in a disabled wait before either, on both kernels.
#
# QEMU reports a disabled wait as a guest panic; -action panic=exit-failure
# turns it into QEMU's exit status 1. Each kernel is tinyconfig with
# configs/variants/s390-console.config, cross-built with Debian's
# gcc-s390x-linux-gnu; the patched build starts from a copy of the
# baseline's, as on x86.
#
# usage: scripts/check-s390-panic.sh BASE
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CROSS=(ARCH=s390 CROSS_COMPILE=s390x-linux-gnu-)
FRAGMENT="$QP_ROOT/configs/variants/s390-console.config"
BOOT_TIMEOUT_S=300

# build_s390 BASE VARIANT: the kernel image of VARIANT's tree, on stdout.
build_s390() {
	local base=$1 variant=$2 tree build
	tree=$(qp_tree_dir "$base" "$variant")
	build="$tree/.qp-o-s390x-boot"
	if [ "$variant" = patched ] && [ ! -d "$build" ]; then
		cp -a "$(qp_tree_dir "$base" baseline)/.qp-o-s390x-boot" "$build"
	fi
	mkdir -p "$build"
	{
		make -C "$tree" O="$build" "${CROSS[@]}" tinyconfig &&
			"$tree/scripts/kconfig/merge_config.sh" -m -O "$build" \
				"$build/.config" "$FRAGMENT" &&
			make -C "$tree" O="$build" "${CROSS[@]}" olddefconfig &&
			make -C "$tree" O="$build" "${CROSS[@]}" -j"$(nproc)" bzImage
	} >"$build.log" 2>&1 || qp_die "$base $variant s390x: build failed (see $build.log)"
	check_fragment "$build/.config" || qp_die "$base $variant s390x: $FRAGMENT not in the config"
	echo "$build/arch/s390/boot/bzImage"
}

# check_fragment CONFIG: every option of the fragment survived the merge.
check_fragment() {
	local option
	while read -r option; do
		grep -qxF "$option" "$1" || { echo "missing: $option" >&2; return 1; }
	done < <(grep -E '^CONFIG_' "$FRAGMENT")
}

# boot_s390 IMAGE LOG: QEMU's exit status, the console in LOG.
boot_s390() {
	local image=$1 log=$2 rc=0
	timeout "$BOOT_TIMEOUT_S" qemu-system-s390x -M s390-ccw-virtio -accel tcg \
		-smp 2 -m 512 -nographic -no-reboot -action panic=exit-failure \
		-kernel "$image" -append "panic=0 console=ttysclp0" \
		</dev/null >"$log" 2>&1 || rc=$?
	echo "$rc"
}

# The console from the panic banner on, without timestamps, addresses,
# symbol offsets (the two builds lay their code out differently) and the
# "CPU: N ... #BUILD" line (which CPU runs init, and the build count, vary).
after_banner() {
	sed -n '/Kernel panic - not syncing/,$p' "$1" | tr -d '\r' | grep -v '^CPU: ' |
		sed -E 's/^\[ *[0-9.]+\] //; s/\+0x[0-9a-f]+\/0x[0-9a-f]+//g; s/[0-9a-f]{8,}//g'
}

check_variant() {
	local base=$1 variant=$2 image log rc
	image=$(qp_with_build_lock build_s390 "$base" "$variant")
	log="$QP_CACHE/out/$base-$variant-s390x.console"
	rc=$(boot_s390 "$image" "$log")
	[ "$rc" != 124 ] || qp_die "$base $variant s390x: no disabled wait within ${BOOT_TIMEOUT_S} s (see $log)"
	[ "$rc" = 1 ] || qp_die "$base $variant s390x: QEMU exited with $rc, not 1 (guest panicked: disabled wait) (see $log)"
	grep -q 'Kernel panic - not syncing' "$log" || qp_die "$base $variant s390x: no panic banner on the console (see $log)"
	echo "$base $variant s390x: disabled wait (QEMU: guest panicked); console ends: $(after_banner "$log" | tail -n 1)" >&2
	echo "$log"
}

main() {
	local base=${1:-} baseline patched
	qp_check_base "$base"
	qp_need_cmd s390x-linux-gnu-gcc qemu-system-s390x
	"$QP_ROOT/scripts/tree.sh" "$base"
	baseline=$(check_variant "$base" baseline)
	patched=$(check_variant "$base" patched)
	diff <(after_banner "$baseline") <(after_banner "$patched") >&2 ||
		qp_die "$base s390x: the patched console differs from baseline's after the panic banner"
	echo "$base s390x: baseline and patched end in a disabled wait, consoles the same after the panic banner"
}

main "$@"
