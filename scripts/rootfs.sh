#!/bin/bash
# The tools userspace: a Debian 13 (trixie) rootfs with crash, makedumpfile,
# kexec-tools and busybox-static, cached in $QP_CACHE/rootfs/trixie.
#
# Why trixie: bookworm's crash 8.0.2 cannot open KASLR vmcores of 6.1 or
# 6.12; trixie's crash 8.0.6 and makedumpfile 1.7.6 can. The host runs them
# with chroot; the guest initramfs is built from the same binaries.
#
# usage: scripts/rootfs.sh          (prints the rootfs path)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PACKAGES="crash,makedumpfile,kexec-tools,busybox-static"
SUITE=trixie

make_rootfs() {
	local dir=$1 tmp="$1.tmp"
	qp_need_cmd mmdebstrap
	[ "$(id -u)" = 0 ] || qp_die "mmdebstrap needs root to build $dir"
	qp_need_space "$(dirname "$dir")" 1000
	qp_log "creating the $SUITE tools rootfs in $dir"
	rm -rf "$tmp"
	mmdebstrap --quiet --variant=apt --include="$PACKAGES" "$SUITE" "$tmp" \
		>"$tmp.log" 2>&1 ||
		qp_die "mmdebstrap $SUITE failed (see $tmp.log)"
	chroot "$tmp" dpkg-query -W crash makedumpfile kexec-tools busybox-static \
		>"$tmp/qp-versions"
	mv "$tmp" "$dir"
	rm -f "$tmp.log"
}

main() {
	local dir
	dir=$(qp_rootfs_dir)
	[ -x "$dir/usr/bin/crash" ] || make_rootfs "$dir"
	[ -f "$dir/qp-versions" ] ||
		chroot "$dir" dpkg-query -W crash makedumpfile kexec-tools busybox-static >"$dir/qp-versions"
	echo "$dir"
}

main "$@"
