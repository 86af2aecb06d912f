#!/bin/bash
# Fetch the pinned source package of a base whose suite (VERSIONS) is not
# the machine's own, with an apt configuration that belongs to the project:
# its own sources file, lists and cache below $QP_CACHE/apt/<suite>, so the
# machine's apt sources and state are never touched. The tarball is taken
# out of the .deb with dpkg-deb into $QP_CACHE/src.
#
# The downloaded .deb's version must be the pinned one; QP_ALLOW_VERSION=1
# takes whatever the suite has instead (and says so), as for the other bases.
#
# usage: scripts/fetch-source.sh BASE
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The version of PKG the private lists offer (empty when none).
available_version() {
	apt-cache "${QP_APT_OPTS[@]}" show "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}

# download BASE: the pinned .deb (or, with QP_ALLOW_VERSION=1, the suite's).
download() {
	local base=$1 pkg want have deb
	pkg=$(qp_package "$base")
	want=$(qp_pinned_version "$base")
	deb=$(qp_source_deb "$base")
	have=$(available_version "$pkg")
	[ -n "$have" ] || qp_die "$pkg is not in $(qp_suite "$base")"
	if [ "$have" != "$want" ]; then
		[ "${QP_ALLOW_VERSION:-0}" = 1 ] ||
			qp_die "$pkg $want cannot be downloaded: $(qp_suite "$base") has $have (update VERSIONS or set QP_ALLOW_VERSION=1)"
		qp_log "warning: $(qp_suite "$base") has $pkg $have, VERSIONS pins $want (QP_ALLOW_VERSION=1)"
	fi
	qp_log "$base: downloading $pkg $have from $(qp_suite "$base")"
	(cd "$QP_CACHE/src" && apt-get "${QP_APT_OPTS[@]}" download -q "$pkg=$have") \
		>"$QP_CACHE/src/download.log" 2>&1 ||
		qp_die "apt-get download $pkg=$have failed (see $QP_CACHE/src/download.log)"
	# A version the pin does not name keeps its own file name; the rest of
	# the scripts look for the pinned one.
	[ -f "$deb" ] || mv "$QP_CACHE/src/${pkg}_${have//:/%3a}_all.deb" "$deb"
}

extract_tarball() {
	local base=$1 deb tarball
	deb=$(qp_source_deb "$base")
	tarball=$(qp_source_tarball "$base")
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xOf - "./usr/src/$(basename "$tarball")" >"$tarball.tmp" ||
		qp_die "$deb has no usr/src/$(basename "$tarball")"
	mv "$tarball.tmp" "$tarball"
}

main() {
	local base=${1:-}
	qp_check_base "$base"
	qp_source_is_private "$base" || qp_die "$base comes from the machine's apt sources (run: make deps)"
	qp_need_cmd apt-get apt-cache dpkg-deb tar
	mkdir -p "$QP_CACHE/src"
	if [ ! -f "$(qp_source_deb "$base")" ]; then
		qp_need_space "$QP_CACHE" 1000
		qp_apt_config "$(qp_suite "$base")"
		download "$base"
	fi
	qp_check_source "$base"
	[ -f "$(qp_source_tarball "$base")" ] || extract_tarball "$base"
}

main "$@"
