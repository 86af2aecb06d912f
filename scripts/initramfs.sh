#!/bin/bash
# Build the guest initramfs of one kernel, from the guest architecture's
# tools rootfs (qp_guest_rootfs: trixie, or trixie-arm64 unpacked):
#
#   /init                      kexec-tests/guest/init.c, static, built for
#                              the architecture (bin/init, bin/init-<arch>)
#   /bin/busybox               for kt.shell=1 debugging
#   /usr/sbin/kexec, /usr/bin/makedumpfile, their loader and libraries
#   /lib/modules/qp_trigger.ko the test module built against this kernel
#   /boot/vmlinuz              this kernel again, as the capture kernel
#   /boot/capture.cpio         the capture kernel's initramfs: all of the
#                              above but /boot
#
# The libraries are found by reading the programs' ELF headers (readelf),
# as the loader would look for them, so that no program of the guest's
# architecture runs on the host.
#
# Writes $QP_CACHE/out/<kernel>/initramfs.cpio (skipped when newer than
# everything it is made of).
#
# usage: [QP_ARCH=ARCH] scripts/initramfs.sh BASE VARIANT
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TOOLS="/usr/sbin/kexec /usr/bin/makedumpfile"

# elf_interpreter FILE: the loader FILE asks for, if any.
elf_interpreter() {
	readelf -lW "$1" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]$/\1/p'
}

# elf_needed FILE: the DT_NEEDED names of FILE.
elf_needed() {
	readelf -dW "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

# find_library ROOTFS NAME: where glibc's loader finds NAME in ROOTFS, as a
# path inside it: the multiarch directories first, as Debian's ld.so.conf
# lists them, then /lib and /usr/lib.
find_library() {
	local rootfs=$1 name=$2 dir
	for dir in "$rootfs"/lib/*-linux-gnu "$rootfs"/usr/lib/*-linux-gnu "$rootfs/lib" "$rootfs/usr/lib"; do
		[ -e "$dir/$name" ] || continue
		echo "${dir#"$rootfs"}/$name"
		return 0
	done
	qp_die "$name, a library of the guest tools, is not in $rootfs"
}

# tool_files ROOTFS: the tools, their loader and every library they need,
# breadth first, each once (paths inside ROOTFS). The loader, which libc
# names as needed too, is there once, at the path the programs ask for.
tool_files() {
	local rootfs=$1 queue file name lib interp loader=
	local -A seen=()
	read -ra queue <<<"$TOOLS"
	while [ ${#queue[@]} -gt 0 ]; do
		file=${queue[0]}
		queue=("${queue[@]:1}")
		[ -z "${seen[$file]:-}" ] || continue
		seen[$file]=1
		echo "$file"
		[ -e "$rootfs$file" ] || qp_die "$file is not in $rootfs"
		interp=$(elf_interpreter "$rootfs$file")
		[ -z "$interp" ] || { queue+=("$interp"); loader=${interp##*/}; }
		for name in $(elf_needed "$rootfs$file"); do
			[ "$name" != "$loader" ] || continue
			lib=$(find_library "$rootfs" "$name") || exit 1
			queue+=("$lib")
		done
	done
}

stage_common() {
	local rootfs=$1 stage=$2 out=$3 init=$4 file files
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp,usr/sbin,usr/bin,lib/modules,boot}
	cp "$init" "$stage/init"
	cp "$rootfs/usr/bin/busybox" "$stage/bin/busybox"
	files=$(tool_files "$rootfs") || exit 1
	for file in $files; do
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

# The guest init for the architecture, built if needed.
guest_init() {
	local suffix init
	suffix=$(qp_arch_suffix)
	init="$QP_ROOT/kexec-tests/bin/init$suffix"
	make -s -C "$QP_ROOT/kexec-tests" "bin/init$suffix" CROSS_COMPILE="$(qp_cross_compile)" >&2 ||
		qp_die "cannot build $init (make -C kexec-tests bin/init$suffix)"
	echo "$init"
}

main() {
	local base=${1:-} variant=${2:-} name rootfs out init stage kernel
	qp_check_base "$base"
	qp_check_variant "$variant"
	qp_need_cmd cpio readelf
	name=$(qp_kernel_name "$base" "$variant")
	out=$(qp_out_dir "$base" "$variant")
	kernel=$(qp_kernel_image "$out")
	if [ ! -f "$kernel" ] || [ ! -f "$out/qp_trigger.ko" ]; then
		qp_die "$name is not built (run: scripts/build.sh $base $variant)"
	fi
	rootfs=$("$QP_ROOT/scripts/rootfs.sh" "$(qp_guest_rootfs)")
	init=$(guest_init)
	if [ -f "$out/initramfs.cpio" ] &&
		[ -z "$(find "$init" "$kernel" "$out/qp_trigger.ko" "$0" \
			-newer "$out/initramfs.cpio")" ]; then
		return 0
	fi
	stage=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: $stage is local
	trap "rm -rf '$stage'" EXIT
	stage_common "$rootfs" "$stage" "$out" "$init"
	write_cpio "$stage" "$out/capture.cpio"
	cp "$kernel" "$stage/boot/vmlinuz"
	mv "$out/capture.cpio" "$stage/boot/capture.cpio"
	write_cpio "$stage" "$out/initramfs.cpio"
	qp_log "$name: initramfs $(du -h "$out/initramfs.cpio" | cut -f1)"
}

main "$@"
