#!/bin/bash
# Install what the builds, the harness and the benchmark need, from Debian's
# packages: the pinned kernel sources (VERSIONS; those of other suites
# through scripts/fetch-source.sh), the toolchain, QEMU and mmdebstrap.
# Does nothing when everything is present.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# libvirt: the collector's libvirt backend and its tests. Where systemd
# runs, the package starts Debian's own libvirtd; the tests never use or
# touch it (they start a libvirtd of their own, kexec-tests/lib/libvirt.sh).
# systemd: systemd-analyze verify of the collector's unit.
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross (the static guest init) and
# qemu-system-arm: the arm64 guests (ARCHES); gcc-s390x-linux-gnu: the s390
# objects the series changes. e2fsprogs (mkfs.ext4 -d, debugfs) and kmod
# (depmod -b): the Debian 13 guest's disk, written and read on the host.
TOOL_PACKAGES="bc bison build-essential ccache cpio debhelper e2fsprogs flex gcc-aarch64-linux-gnu gcc-s390x-linux-gnu
libc6-dev-arm64-cross
git gnuplot-nox graphviz jq kmod libelf-dev libjson-c-dev libssl-dev libvirt-clients
libvirt-daemon-system libvirt-dev lintian linux-perf man-db mmdebstrap pkg-config procps python3
qemu-system-arm qemu-system-x86 qemu-utils rsync shellcheck systemd systemd-container xz-utils"

missing_packages() {
	local pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$pkg"
	done
}

# Packages older than the harness needs: debian-archive-keyring has the
# keys that sign trixie (the private apt of scripts/fetch-source.sh, the
# tools rootfs) from 2023.3+deb12u2 on; installing it again upgrades it.
MIN_VERSIONS="debian-archive-keyring=2023.3+deb12u2"

outdated_packages() {
	local want pkg version
	for want in $MIN_VERSIONS; do
		pkg=${want%%=*}
		version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || continue
		dpkg --compare-versions "$version" ge "${want#*=}" || echo "$pkg"
	done
}

# "pkg=version" for each pinned source package of the machine's own apt
# sources not yet installed; a different installed version is an error
# (qp_check_source says which). Private suites: fetch_private_sources.
missing_sources() {
	local base pkg
	for base in $(qp_bases); do
		! qp_source_is_private "$base" || continue
		pkg=$(qp_package "$base")
		if dpkg-query -W "$pkg" >/dev/null 2>&1; then
			qp_check_source "$base"
		else
			echo "$pkg=$(qp_pinned_version "$base")"
		fi
	done
}

install_packages() {
	[ "$(id -u)" = 0 ] || qp_die "missing packages, run as root: apt-get install $*"
	qp_need_cmd apt-get
	qp_log "installing: $*"
	apt-get update -q >/dev/null 2>&1 || qp_die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
		>"$QP_CACHE/apt.log" 2>&1 ||
		qp_die "apt-get install failed for: $* (see $QP_CACHE/apt.log)"
}

main() {
	local want
	mkdir -p "$QP_CACHE"
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	want=$(missing_packages $TOOL_PACKAGES debian-archive-keyring; outdated_packages; missing_sources)
	# shellcheck disable=SC2086
	[ -z "$want" ] || install_packages $want
	# shellcheck disable=SC2086
	want=$(missing_packages $TOOL_PACKAGES; outdated_packages)
	[ -z "$want" ] || qp_die "still missing or too old after install: $want"
	fetch_private_sources
}

fetch_private_sources() {
	local base
	for base in $(qp_bases); do
		! qp_source_is_private "$base" || "$QP_ROOT/scripts/fetch-source.sh" "$base"
	done
}

main "$@"
