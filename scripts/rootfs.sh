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
#   trixie-arm64
#           trixie's arm64 kexec-tools, makedumpfile and busybox-static
#           with the libraries they need (and base-files: the merged-/usr
#           links), for the arm64 guests' initramfs:
#           only unpacked (mmdebstrap's extract variant), so nothing of
#           arm64 runs on the host
#
# The host runs the tools of the others with chroot
# (kexec-tests/lib/readers.sh, in_rootfs).
#
# QP_DEBIAN_MIRROR: another Debian mirror than mmdebstrap's default.
#
# usage: scripts/rootfs.sh [trixie|sid|trixie-arm64]     (prints the rootfs path)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

declare -A PACKAGES=(
	[trixie]="crash makedumpfile kexec-tools busybox-static"
	[sid]="python3-drgn"
	[trixie-arm64]="makedumpfile kexec-tools busybox-static base-files"
)
declare -A APT_OPTIONS=(
	[trixie]=""
	[sid]="Acquire::Check-Valid-Until \"false\""
	[trixie-arm64]=""
)
# mmdebstrap's options beyond the packages: the extract variant keeps the
# downloaded .debs (skip=cleanup/apt/cache), from which record_versions
# reads the versions, as there is no dpkg database to ask; it sets up no
# merged /usr, which trixie's base-files does (/lib -> usr/lib: the
# loader's path).
declare -A MMDEBSTRAP_OPTIONS=(
	[trixie]="--variant=apt"
	[sid]="--variant=apt"
	[trixie-arm64]="--variant=extract --architectures=arm64 --skip=cleanup/apt/cache"
)
# A file each rootfs must have to count as made.
declare -A READY=([trixie]=/usr/bin/crash [sid]=/usr/bin/drgn [trixie-arm64]=/usr/sbin/kexec)

make_rootfs() {
	local suite=$1 dir=$2 tmp="$2.tmp" opts
	read -ra opts <<<"${MMDEBSTRAP_OPTIONS[$suite]}"
	[ -z "${APT_OPTIONS[$suite]}" ] || opts+=(--aptopt="${APT_OPTIONS[$suite]}")
	qp_mmdebstrap "$suite tools rootfs" "$dir" 1000 "${suite%-*}" "${opts[@]}" \
		--include="$(echo "${PACKAGES[$suite]}" | tr ' ' ,)"
	[ -x "$tmp${READY[$suite]}" ] ||
		qp_die "the $suite rootfs has no ${READY[$suite]} (see $tmp.log)"
	record_versions "$suite" "$tmp"
	mv "$tmp" "$dir"
	rm -f "$tmp.log"
}

# record_versions SUITE DIR: DIR/qp-versions, "package<TAB>version" of the
# packages asked for, from dpkg's database or, in an extracted rootfs, from
# the kept .debs (then removed).
record_versions() {
	local suite=$1 dir=$2 debs=$2/var/cache/apt/archives deb
	if [ -s "$dir/var/lib/dpkg/status" ]; then
		# shellcheck disable=SC2086 # a list of package names
		chroot "$dir" dpkg-query -W ${PACKAGES[$suite]} >"$dir/qp-versions"
		return
	fi
	for deb in "$debs"/*.deb; do
		# shellcheck disable=SC2016 # dpkg-deb's format, not the shell's
		dpkg-deb --show --showformat='${Package}\t${Version}\n' "$deb"
	done | awk -F '\t' -v want=" ${PACKAGES[$suite]} " 'index(want, " " $1 " ")' \
		>"$dir/qp-versions"
	rm -f "$debs"/*.deb
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
