#!/bin/bash
# Build what the series touches with W=1 under Debian's own kernel configs
# for the base (package linux-config-<version>, same version and suite as
# the source): amd64 generic, cloud and rt. Between them they enable
# XEN_PV, INTEL_TDX_GUEST, AMD_MEM_ENCRYPT, HYPERV and PREEMPT_RT, the
# paravirt flavours the series reasons about (where none of a base's
# flavours enables one, 6.1's INTEL_TDX_GUEST, the generic config with it
# switched on is built too). A compiler warning in a
# touched object that the base does not have too, or a config that lacks
# one of those options, fails. Where the patched objects warn, the same
# objects are built from the baseline tree with the same config, and only
# the warnings the series adds count (compared without line numbers, which
# the series shifts; a count per message, so a second copy counts).
#
# When the archive no longer has linux-config at the pinned version, the
# newest one of the same upstream version is used, and the script says so.
#
# Only the objects of the .c files the series changes are built (after
# "make prepare"), in build dirs next to the trees; serialised with every
# other kernel build.
#
# usage: scripts/check-debian-configs.sh BASE
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

FLAVOURS="amd64 cloud-amd64 rt-amd64"
# Options at least one flavour must enable, built in or as a module (6.12
# builds HYPERV as a module), checked over all of them.
WANTED="CONFIG_XEN_PV CONFIG_INTEL_TDX_GUEST CONFIG_AMD_MEM_ENCRYPT CONFIG_HYPERV CONFIG_PREEMPT_RT"
# The option a base's tree may lack: VERSIONS says, in its debian_rt
# column, whether the tree can build CONFIG_PREEMPT_RT, and why not.
RT_OPTION=CONFIG_PREEMPT_RT

config_package() {
	echo "linux-config-$1"
}

# config_version PACKAGE PINNED: PINNED if the archive has it, else the
# newest version with the same upstream part (Debian drops superseded
# revisions from bookworm-security; madison lists the newest first), else
# the newest of the same stable series (bookworm-security keeps only the
# newest linux-config-6.12: 6.12.118 once 6.12.117 was pinned), else PINNED
# (the download then fails).
config_version() {
	local pkg=$1 pinned=$2 found series
	found=$(apt-cache "${QP_APT_OPTS[@]}" madison "$pkg" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')
	if grep -qxF "$pinned" <<<"$found"; then
		echo "$pinned"
		return 0
	fi
	series=$(cut -d. -f1-2 <<<"$pinned").
	found=$(awk -v up="${pinned%-*}-" -v series="$series" '
		index($0, up) == 1 { print; exit }
		index($0, series) == 1 && !newest { newest = $0 }
		END { if (newest) print newest }' <<<"$found" | head -n 1)
	echo "${found:-$pinned}"
}

# The directory with the flavours' config.*.xz, downloaded once; its
# VERSION file says which package version they come from.
config_dir() {
	local base=$1 pkg pinned version deb dir
	pkg=$(config_package "$base")
	pinned=$(qp_pinned_version "$base")
	dir="$QP_CACHE/src/$pkg"
	if [ ! -d "$dir" ]; then
		qp_apt_config "$(qp_suite "$base")"
		mkdir -p "$QP_CACHE/src"
		version=$(config_version "$pkg" "$pinned")
		(cd "$QP_CACHE/src" && apt-get "${QP_APT_OPTS[@]}" download -q "$pkg=$version") \
			>"$QP_CACHE/src/$pkg.log" 2>&1 ||
			qp_die "cannot download $pkg $version (see $QP_CACHE/src/$pkg.log)"
		deb="$QP_CACHE/src/${pkg}_${version//:/%3a}_amd64.deb"
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		dpkg-deb --fsys-tarfile "$deb" | tar -xf - -C "$dir.tmp" --strip-components=4 ||
			qp_die "cannot unpack $deb"
		echo "$version" >"$dir.tmp/VERSION"
		mv "$dir.tmp" "$dir"
	fi
	version=$(cat "$dir/VERSION" 2>/dev/null || echo "$pinned")
	[ "$version" = "$pinned" ] ||
		qp_log "$pkg $pinned is not in the archive; using $version (the same" \
			"$([ "${version%-*}" = "${pinned%-*}" ] && echo "upstream version" || echo "stable series"))"
	echo "$dir"
}

# The flavour's config file (Debian names 6.12's rt one differently); a
# flavour "amd64+OPT+..." is amd64's config with the OPTs switched on.
flavour_config() {
	local dir=$1 flavour=${2%%+*} f
	for f in "$dir/config.amd64_none_$flavour.xz" "$dir/config.amd64_${flavour%-amd64}_amd64.xz"; do
		[ -f "$f" ] && echo "$f" && return 0
	done
	qp_die "no $flavour config in $dir"
}

# touched_objects TREE: the objects of the .c files the series changes that
# an amd64 config builds: not those of other architectures (arm64's and
# s390's are check-build-variants.sh's cross builds).
touched_objects() {
	git -C "$1" diff --name-only base..HEAD -- '*.c' |
		awk '!/^arch\// || /^arch\/x86\// { sub(/\.c$/, ".o"); print }'
}

# flavour_extra_options FLAVOUR: the OPTs of "amd64+OPT+...", one a line.
flavour_extra_options() {
	[[ $1 == *+* ]] || return 0
	tr '+' '\n' <<<"${1#*+}"
}

debian_build_dir() {
	echo "$1/.qp-o-debian-$2"
}

# build_objects TREE FLAVOUR CONFIG OBJECT...: W=1 build of OBJECTs from
# TREE under the flavour's Debian CONFIG (.xz), in debian_build_dir; its
# w1.log has the output.
# The objects are removed first: a rewritten .config of the same content
# rebuilds nothing, and an object not compiled prints no warnings (ccache
# replays them, so the rebuild is cheap).
build_objects() {
	local tree=$1 flavour=$2 config=$3 build obj opt
	shift 3
	build=$(debian_build_dir "$tree" "$flavour")
	mkdir -p "$build"
	xz -dc "$config" >"$build/.config" || qp_die "cannot unpack $config"
	for opt in $(flavour_extra_options "$flavour"); do
		"$tree/scripts/config" --file "$build/.config" --enable "$opt"
	done
	make -C "$tree" O="$build" olddefconfig >"$build/w1.log" 2>&1 ||
		qp_die "$config: olddefconfig failed in $tree (see $build/w1.log)"
	for obj in "$@"; do
		rm -f "$build/$obj"
		make -C "$tree" O="$build" -j"$(nproc)" CC="ccache gcc" W=1 "$obj" \
			>>"$build/w1.log" 2>&1 ||
			qp_die "$config: $obj does not build in $tree (see $build/w1.log)"
	done
}

# warnings LOG: the compiler's and objtool's warnings about the touched
# objects (not those of host tools such as genksyms' bison grammar, which
# only a new build dir prints), without line, column or instruction
# offsets, which the series shifts; sorted.
warnings() {
	grep -E '^(\.\./.*\.[ch]:[0-9]+(:[0-9]+)?|[^ :]+\.o): warning:' "$1" |
		sed -E -e 's/:[0-9]+(:[0-9]+)?: warning:/: warning:/' \
			-e 's/\+0x[0-9a-f]+(\/0x[0-9a-f]+)?//g' | sort || true
}

# build_flavour BASE CONFIG_DIR FLAVOUR: W=1 build of the touched objects;
# warnings the baseline tree has as well do not count.
build_flavour() {
	local base=$1 flavour=$3 config tree build base_tree found added objs=()
	config=$(flavour_config "$2" "$flavour")
	tree=$(qp_tree_dir "$base" patched)
	mapfile -t objs < <(touched_objects "$tree")
	build_objects "$tree" "$flavour" "$config" "${objs[@]}"
	build=$(debian_build_dir "$tree" "$flavour")
	found=$(warnings "$build/w1.log")
	if [ -z "$found" ]; then
		echo "$base $flavour: W=1 clean: ${objs[*]}"
		return 0
	fi
	base_tree=$(qp_tree_dir "$base" baseline)
	build_objects "$base_tree" "$flavour" "$config" "${objs[@]}"
	# comm -23: the lines (with their repeats) only the patched build has.
	added=$(comm -23 <(echo "$found") \
		<(warnings "$(debian_build_dir "$base_tree" "$flavour")/w1.log"))
	if [ -n "$added" ]; then
		qp_die "$base $flavour: W=1 warnings the base does not have:
$added
(see $build/w1.log)"
	fi
	echo "$base $flavour: W=1 clean but for $(wc -l <<<"$found") warning(s)" \
		"the base has as well: ${objs[*]}"
	printf '%s\n' "$found" | sed 's/^/    /'
}

# wanted_options BASE: WANTED, one a line, less what the base cannot have.
wanted_options() {
	if [ "$(qp_base_fact "$1" debian_rt)" = yes ]; then
		tr ' ' '\n' <<<"$WANTED"
	else
		tr ' ' '\n' <<<"$WANTED" | grep -vxF "$RT_OPTION"
	fi
}

# options_missing BASE CONFIG...: the base's wanted options that none of
# the CONFIGs enables, built in or as a module.
options_missing() {
	local base=$1 opt
	shift
	for opt in $(wanted_options "$base"); do
		# grep reads the files itself: "cat | grep -q" fails under
		# pipefail when grep stops at its first match.
		grep -Eq "^$opt=(y|m)" "$@" || echo "$opt"
	done
}

# Debian's own flavours first; a wanted option none of them enables (6.1
# has no INTEL_TDX_GUEST) is switched on in the generic flavour's config,
# built as one more flavour, and the script says so.
check_all() {
	local base=$1 dir flavour tree configs=() missing=()
	[ "$(qp_base_fact "$base" debian_rt)" = yes ] ||
		echo "$base: not built: $RT_OPTION: this tree cannot have it (VERSIONS, debian_rt)"
	dir=$(config_dir "$base")
	tree=$(qp_tree_dir "$base" patched)
	for flavour in $FLAVOURS; do
		build_flavour "$base" "$dir" "$flavour"
		configs+=("$(debian_build_dir "$tree" "$flavour")/.config")
	done
	mapfile -t missing < <(options_missing "$base" "${configs[@]}")
	if [ "${#missing[@]}" -gt 0 ]; then
		flavour="amd64+$(IFS=+; echo "${missing[*]}")"
		qp_log "$base: no Debian flavour enables ${missing[*]}; building $flavour"
		build_flavour "$base" "$dir" "$flavour"
		configs+=("$(debian_build_dir "$tree" "$flavour")/.config")
		mapfile -t missing < <(options_missing "$base" "${configs[@]}")
		[ "${#missing[@]}" -eq 0 ] ||
			qp_die "$base: Kconfig does not let amd64's config enable ${missing[*]}"
	fi
	echo "$base: every flavour option the series reasons about was built: $(wanted_options "$base" | paste -sd ' ')"
}

main() {
	local base=${1:-}
	qp_check_base "$base"
	qp_need_cmd make gcc ccache apt-get apt-cache dpkg-deb xz
	"$QP_ROOT/scripts/tree.sh" "$base"
	qp_with_build_lock check_all "$base"
}

main "$@"
