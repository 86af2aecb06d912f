#!/bin/bash
# Build the guest initramfs of one kernel, from the trixie tools rootfs:
#
#   /init                      kexec-tests/guest/init.c, static
#   /bin/busybox               for kt.shell=1 debugging
#   /usr/sbin/kexec, /usr/bin/makedumpfile and their libraries
#   /lib/modules/qp_trigger.ko the test module built against this kernel
#   /boot/bzImage              this kernel again, as the capture kernel
#   /boot/capture.cpio         the capture kernel's initramfs: all of the
#                              above but /boot
#
# Writes $QP_CACHE/out/<base>-<variant>/initramfs.cpio (skipped when newer
# than everything it is made of).
#
# usage: scripts/initramfs.sh BASE VARIANT
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TOOLS="/usr/sbin/kexec /usr/bin/makedumpfile"

# Libraries of the tools, as the rootfs's own loader resolves them.
tool_libraries() {
	local rootfs=$1 tool
	for tool in $TOOLS; do
		chroot "$rootfs" ldd "$tool" |
			awk '/=> \// { print $3 } /^[[:space:]]*\/lib/ { print $1 }'
	done | sort -u
}

stage_common() {
	local rootfs=$1 stage=$2 out=$3 init=$4 file
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp,usr/sbin,usr/bin,lib/modules,boot}
	cp "$init" "$stage/init"
	cp "$rootfs/usr/bin/busybox" "$stage/bin/busybox"
	for file in $TOOLS $(tool_libraries "$rootfs"); do
		mkdir -p "$stage$(dirname "$file")"
		cp -L "$rootfs$file" "$stage$file"
	done
	cp "$out/qp_trigger.ko" "$stage/lib/modules/"
}

write_cpio() {
	local stage=$1 file=$2
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet) >"$file.tmp"
	mv "$file.tmp" "$file"
}

main() {
	local base=${1:-} variant=${2:-} rootfs out init stage
	qp_check_base "$base"
	qp_check_variant "$variant"
	qp_need_cmd cpio chroot
	out=$(qp_out_dir "$base" "$variant")
	if [ ! -f "$out/bzImage" ] || [ ! -f "$out/qp_trigger.ko" ]; then
		qp_die "$base-$variant is not built (run: scripts/build.sh $base $variant)"
	fi
	rootfs=$("$QP_ROOT/scripts/rootfs.sh")
	init="$QP_ROOT/kexec-tests/bin/init"
	[ -x "$init" ] || qp_die "$init missing (run: make -C kexec-tests)"
	if [ -f "$out/initramfs.cpio" ] &&
		[ -z "$(find "$init" "$out/bzImage" "$out/qp_trigger.ko" "$0" \
			-newer "$out/initramfs.cpio")" ]; then
		return 0
	fi
	stage=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: $stage is local
	trap "rm -rf '$stage'" EXIT
	stage_common "$rootfs" "$stage" "$out" "$init"
	write_cpio "$stage" "$out/capture.cpio"
	cp "$out/bzImage" "$stage/boot/bzImage"
	mv "$out/capture.cpio" "$stage/boot/capture.cpio"
	write_cpio "$stage" "$out/initramfs.cpio"
	qp_log "$base-$variant: initramfs $(du -h "$out/initramfs.cpio" | cut -f1)"
}

main "$@"
