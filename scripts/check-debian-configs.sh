#!/bin/bash
# Build what the series touches with W=1 under Debian's own kernel configs
# for the base (package linux-config-<version>, same version and suite as
# the source): amd64 generic, cloud and rt. Between them they enable
# XEN_PV, INTEL_TDX_GUEST, AMD_MEM_ENCRYPT, HYPERV and PREEMPT_RT, the
# paravirt flavours the series reasons about. Any compiler warning in a
# touched object, or a config that lacks one of those options, fails.
#
# Only the objects of the .c files the series changes are built (after
# "make prepare"), in build dirs next to the patched tree; serialised with
# every other kernel build.
#
# usage: scripts/check-debian-configs.sh BASE
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

FLAVOURS="amd64 cloud-amd64 rt-amd64"
# Options at least one flavour must enable (checked over all of them).
WANTED="CONFIG_XEN_PV CONFIG_INTEL_TDX_GUEST CONFIG_AMD_MEM_ENCRYPT CONFIG_HYPERV CONFIG_PREEMPT_RT"

config_package() {
	echo "linux-config-$1"
}

# The directory with the flavours' config.*.xz, downloaded once.
config_dir() {
	local base=$1 pkg version deb dir
	pkg=$(config_package "$base")
	version=$(qp_pinned_version "$base")
	dir="$QP_CACHE/src/$pkg"
	if [ ! -d "$dir" ]; then
		qp_apt_config "$(qp_suite "$base")"
		mkdir -p "$QP_CACHE/src"
		(cd "$QP_CACHE/src" && apt-get "${QP_APT_OPTS[@]}" download -q "$pkg=$version") \
			>"$QP_CACHE/src/$pkg.log" 2>&1 ||
			qp_die "cannot download $pkg $version (see $QP_CACHE/src/$pkg.log)"
		deb=$(ls "$QP_CACHE/src/${pkg}_"*_amd64.deb)
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		dpkg-deb --fsys-tarfile "$deb" | tar -xf - -C "$dir.tmp" --strip-components=4 ||
			qp_die "cannot unpack $deb"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# The flavour's config file (Debian names 6.12's rt one differently).
flavour_config() {
	local dir=$1 flavour=$2 f
	for f in "$dir/config.amd64_none_$flavour.xz" "$dir/config.amd64_${flavour%-amd64}_amd64.xz"; do
		[ -f "$f" ] && echo "$f" && return 0
	done
	qp_die "no $flavour config in $dir"
}

touched_objects() {
	git -C "$1" diff --name-only base..HEAD -- '*.c' | sed 's/\.c$/.o/'
}

# build_flavour BASE FLAVOUR: W=1 build of the touched objects.
build_flavour() {
	local base=$1 flavour=$2 tree build objs=() obj
	tree=$(qp_tree_dir "$base" patched)
	build="$tree/.qp-o-debian-$flavour"
	mkdir -p "$build"
	xz -dc "$(flavour_config "$(config_dir "$base")" "$flavour")" >"$build/.config"
	make -C "$tree" O="$build" olddefconfig >"$build/w1.log" 2>&1 ||
		qp_die "$base $flavour: olddefconfig failed (see $build/w1.log)"
	mapfile -t objs < <(touched_objects "$tree")
	for obj in "${objs[@]}"; do
		make -C "$tree" O="$build" -j"$(nproc)" CC="ccache gcc" W=1 "$obj" \
			>>"$build/w1.log" 2>&1 || qp_die "$base $flavour: $obj does not build (see $build/w1.log)"
	done
	if grep -q 'warning:' "$build/w1.log"; then
		qp_die "$base $flavour: W=1 warnings (see $build/w1.log)"
	fi
	echo "$base $flavour: W=1 clean: ${objs[*]}"
}

check_all() {
	local base=$1 flavour opt tree
	tree=$(qp_tree_dir "$base" patched)
	for flavour in $FLAVOURS; do
		build_flavour "$base" "$flavour"
	done
	for opt in $WANTED; do
		# grep reads the files itself: "cat | grep -q" fails under
		# pipefail when grep stops at its first match.
		grep -q "^$opt=y" "$tree"/.qp-o-debian-*/.config ||
			qp_die "$base: no Debian flavour enables $opt"
	done
	echo "$base: every flavour option the series reasons about was built: $WANTED"
}

main() {
	local base=${1:-}
	qp_check_base "$base"
	qp_need_cmd make gcc ccache apt-get dpkg-deb xz
	"$QP_ROOT/scripts/tree.sh" "$base"
	qp_with_build_lock check_all "$base"
}

main "$@"
