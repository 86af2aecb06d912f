#!/bin/bash
# The tools userspaces, made with mmdebstrap and cached in
# $QP_CACHE/rootfs/<suite>:
#
#   trixie  crash 8.0.6, makedumpfile 1.7.6, kexec-tools, busybox-static:
#           the guest initramfs takes kexec and makedumpfile from here, and
#           the host reads 6.1 and 6.12 vmcores with its crash (bookworm's
#           crash 8.0.2 cannot open their KASLR vmcores)
#   sid     drgn: reads 7.3 vmcores, which no packaged crash can open
#           (trixie's 8.0.6 and sid's 9.0.2 both stop on the 7.3 slab
#           layout); sid's Release file may be past its Valid-Until on a
#           mirror, so that check is off for it
#
# The host runs the tools with chroot (kexec-tests/lib/readers.sh, in_rootfs).
#
# usage: scripts/rootfs.sh [trixie|sid]     (prints the rootfs path)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

declare -A PACKAGES=(
	[trixie]="crash makedumpfile kexec-tools busybox-static"
	[sid]="python3-drgn"
)
declare -A APT_OPTIONS=(
	[trixie]=""
	[sid]="Acquire::Check-Valid-Until \"false\""
)
# A file each rootfs must have to count as made.
declare -A READY=([trixie]=/usr/bin/crash [sid]=/usr/bin/drgn)

make_rootfs() {
	local suite=$1 dir=$2 tmp="$2.tmp" opts=()
	qp_need_cmd mmdebstrap
	[ "$(id -u)" = 0 ] || qp_die "mmdebstrap needs root to build $dir"
	qp_need_space "$(dirname "$dir")" 1000
	qp_log "creating the $suite tools rootfs in $dir"
	[ -z "${APT_OPTIONS[$suite]}" ] || opts=(--aptopt="${APT_OPTIONS[$suite]}")
	rm -rf "$tmp"
	mmdebstrap --quiet --variant=apt "${opts[@]}" \
		--include="$(echo "${PACKAGES[$suite]}" | tr ' ' ,)" "$suite" "$tmp" \
		>"$tmp.log" 2>&1 ||
		qp_die "mmdebstrap $suite failed (see $tmp.log)"
	[ -x "$tmp${READY[$suite]}" ] ||
		qp_die "the $suite rootfs has no ${READY[$suite]} (see $tmp.log)"
	record_versions "$suite" "$tmp"
	mv "$tmp" "$dir"
	rm -f "$tmp.log"
}

record_versions() {
	# shellcheck disable=SC2086 # a list of package names
	chroot "$2" dpkg-query -W ${PACKAGES[$1]} >"$2/qp-versions"
}

main() {
	local suite=${1:-trixie} dir
	[ -n "${PACKAGES[$suite]:-}" ] ||
		qp_die "unknown rootfs '$suite' (one of: ${!PACKAGES[*]})"
	dir=$(qp_rootfs_dir "$suite")
	[ -x "$dir${READY[$suite]}" ] || make_rootfs "$suite" "$dir"
	[ -f "$dir/qp-versions" ] || record_versions "$suite" "$dir"
	echo "$dir"
}

main "$@"
