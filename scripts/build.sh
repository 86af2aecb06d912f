#!/bin/bash
# Build one kernel: BASE (7.3, 6.12, 6.1) and VARIANT (baseline, patched,
# lkdtm), for the architecture QP_ARCH (ARCHES; default x86_64, arm64 with
# Debian's cross compiler).
#
# Incremental: each (base, variant) keeps its build dir inside its tree, and
# ccache serves what an incremental build compiled before (a prefix checked
# out and back); a build from scratch runs without it (build_kernel). A
# build whose inputs (tree commit, config fragments, this script) have not
# changed since the last one is skipped; a tree with uncommitted edits is
# always rebuilt.
# Builds are serialised machine-wide (scripts/lib.sh, qp_with_build_lock).
#
# A variant's first build starts from a copy of the build dir it is made
# from (patched: baseline's; lkdtm: patched's), with its sources' mtimes set
# so that Kbuild rebuilds what the series changes and nothing else (see
# seed_build_dir). ccache cannot do that here: the series adds a Kconfig
# symbol (autoconf.h) and declarations to include/linux/smp.h and panic.h,
# which nearly every file includes, so every compiler input differs.
#
# Results, for every test to use: $QP_CACHE/out/<base>-<variant>[-<arch>]/
#   bzImage (arm64: Image) vmlinux System.map config release qp_trigger.ko
#   modules.builtin modules.builtin.modinfo modules.order
#
# The base's own fragment (VERSIONS, column config) is merged after the common
# fragments: options only one base has.
#
# The patched kernel's release ends in -quietpanic (-quietpanic-lkdtm with
# the LKDTM series), so that every boot log, vmcore (crash "sys") and result
# says which kernel it came from. That is a build setting (LOCALVERSION),
# not a patch: the series stays what we post.
#
# usage: scripts/build.sh BASE VARIANT     (baseline, patched or lkdtm)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MODULE_SRC="$QP_ROOT/kexec-tests/module"
LOCAL_VERSION=""
# Kbuild's ARCH= and CROSS_COMPILE= (qp_kbuild_args), and the cross prefix.
KBUILD=()
CROSS=""

# What decides the kernel's .config: the fragments' requests (not their
# comments), the architecture and whether it carries distro.config.
config_hash() {
	{
		grep -h '^CONFIG_\|^# CONFIG_.* is not set$' "$QP_ROOT"/configs/*.config
		printf '%s\n' "${KBUILD[@]}"
		if qp_arch_runs_distro; then echo distro; fi
	} | sha256sum | cut -c1-16
}

# Everything that decides what the kernel build produces.
kernel_hash() {
	local tree=$1
	{
		git -C "$tree" rev-parse "HEAD^{tree}"
		git -C "$tree" status --porcelain
		git -C "$tree" diff HEAD
		cat "$0" "$QP_ROOT"/configs/*.config "$QP_ROOT/scripts/config.sh"
		config_hash
	} | sha256sum | cut -c1-16
}

# drop_stale_build_dir BUILD: a build dir made from other config inputs
# (or before build.sh recorded them) would recompile nearly every file
# through ccache misses, slower than a build from scratch (7.3 x86 after
# configs/distro.config came: 968 s, against 588 s from scratch): it goes,
# and the build starts over (for a patched kernel, from the baseline's
# copy: seed_build_dir).
drop_stale_build_dir() {
	local build=$1
	[ -d "$build" ] || return 0
	[ "$(cat "$build/.qp-config-hash" 2>/dev/null)" != "$(config_hash)" ] || return 0
	qp_log "$build: made from other config inputs; building again from the start"
	rm -rf "$build"
}

# The test module depends on its sources and on the kernel it was built for.
module_hash() {
	cat "$1/stamp" "$MODULE_SRC"/* | sha256sum | cut -c1-16
}

build_kernel() {
	local tree=$1 build=$2
	shift 2
	# A build dir with no kernel in it compiles every file: a ccache can
	# serve that only if it compiled this very tree before, and each miss
	# costs a preprocessor run and a store (cold CI on a 2-core machine,
	# one run each: 7.3 x86 824 s through an empty ccache, 588 s without;
	# 6.12 728/560 s, 6.1 766/655 s, 7.3 arm64 769/717 s). ccache stays
	# in CC, whose change would make Kbuild rebuild everything, and serves
	# the incremental builds that follow.
	[ -f "$build/vmlinux" ] || export CCACHE_DISABLE=1
	"$QP_ROOT/scripts/config.sh" "$tree" "$build" "$@"
	export CCACHE_DIR=${CCACHE_DIR:-$QP_CACHE/ccache}
	export CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
	export CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime,time_macros
	export KBUILD_BUILD_USER=quiet-panic KBUILD_BUILD_HOST=qemu
	# LOCALVERSION set (even empty): no "+" for a git tree
	make -C "$tree" O="$build" "${KBUILD[@]}" -j"$(nproc)" CC="ccache ${CROSS}gcc" \
		LOCALVERSION="$LOCAL_VERSION" \
		>"$build/build.log" 2>&1 ||
		qp_die "kernel build failed in $tree (see $build/build.log)"
}

# The test module, out of tree against this very build.
build_module() {
	local build=$1 out=$2
	rm -rf "$out/module"
	cp -r "$MODULE_SRC" "$out/module"
	make -C "$build" M="$out/module" "${KBUILD[@]}" -j"$(nproc)" modules \
		>"$out/module/build.log" 2>&1 ||
		qp_die "test module build failed (see $out/module/build.log)"
	cp "$out/module/qp_trigger.ko" "$out/"
}

collect() {
	local build=$1 out=$2
	cp "$build/$(qp_arch_fact "$(qp_arch)" image)" "$build/vmlinux" "$build/System.map" "$out/"
	# What depmod and modprobe read of the built-in modules (the
	# distribution guest's /usr/lib/modules/<release>).
	cp "$build/modules.builtin" "$build/modules.builtin.modinfo" "$build/modules.order" "$out/"
	cp "$build/.config" "$out/config"
	make -s -C "$build" "${KBUILD[@]}" LOCALVERSION="$LOCAL_VERSION" kernelrelease >"$out/release"
}

# repoint_dep_files BUILD FROM TO: the host tools Kbuild builds (objtool
# on 6.1) record absolute source paths in their .cmd and .d files. Left
# naming the parent's tree they look out of date, and on 6.1 every object
# depends on objtool: the copy would rebuild the whole kernel.
repoint_dep_files() {
	local build=$1 from=$2 to=$3 files
	mapfile -d '' -t files < <(grep -rlZF --include='.*.cmd' --include='*.d' "$from/" "$build")
	[ ${#files[@]} -eq 0 ] || sed -i "s|$from/|$to/|g" "${files[@]}" ||
		qp_die "cannot rewrite the dependency files in $build"
}

# seed_build_dir BASE VARIANT: before a variant's first build, copy the
# build dir of the kernel it is made from, make every source file older
# than that build's objects, and then touch the files the variant's
# commits change (but for headers that only gain declarations): Kbuild
# then recompiles those and what depends on them, as in any incremental
# build, instead of the whole kernel.
seed_build_dir() {
	local base=$1 variant=$2 parent ref tree build from file
	case "$variant" in
	patched) parent=baseline ref=base ;;
	lkdtm) parent=patched ref=quiet-panic ;;
	*) return 0 ;;
	esac
	tree=$(qp_tree_dir "$base" "$variant")
	build=$(qp_build_dir "$base" "$variant")
	from=$(qp_build_dir "$base" "$parent")
	[ ! -d "$build" ] && [ -f "$from/vmlinux" ] || return 0
	qp_log "$(qp_kernel_name "$base" "$variant"): starting from a copy of the $parent build"
	rm -rf "$build.tmp"
	cp -a "$from" "$build.tmp" || qp_die "cannot copy $from to $build"
	repoint_dep_files "$build.tmp" "$(qp_tree_dir "$base" "$parent")" "$tree"
	mv "$build.tmp" "$build" || qp_die "cannot move $build.tmp to $build"
	git -C "$tree" ls-files -z | (cd "$tree" && xargs -0 touch -h -d @946684800)
	git -C "$tree" diff --name-only "$ref" HEAD | while read -r file; do
		qp_declarations_only "$tree" "$ref" HEAD "$file" || touch "$tree/$file"
	done
}

stamp_is() {
	[ -f "$1" ] && [ "$(cat "$1")" = "$2" ] && [ "${QP_FORCE_BUILD:-0}" != 1 ]
}

# build_variant BASE VARIANT [FRAGMENT]: FRAGMENT is the base's own
# config fragment (qp_base_config), if it has one.
build_variant() {
	local base=$1 variant=$2 tree build out hash start extra=("${@:3}")
	tree=$(qp_tree_dir "$base" "$variant")
	build=$(qp_build_dir "$base" "$variant")
	out=$(qp_out_dir "$base" "$variant")
	hash=$(kernel_hash "$tree")
	if stamp_is "$out/stamp" "$hash" && [ -f "$(qp_kernel_image "$out")" ]; then
		qp_log "$(qp_kernel_name "$base" "$variant"): kernel up to date ($(cat "$out/release"))"
	else
		qp_need_space "$QP_CACHE" 4000
		start=$SECONDS
		drop_stale_build_dir "$build"
		seed_build_dir "$base" "$variant"
		qp_log "$(qp_kernel_name "$base" "$variant"): building in $build"
		rm -f "$out/stamp"
		mkdir -p "$out"
		build_kernel "$tree" "$build" "${extra[@]}"
		config_hash >"$build/.qp-config-hash"
		collect "$build" "$out"
		echo "$hash" >"$out/stamp"
		qp_log "$(qp_kernel_name "$base" "$variant"): built $(cat "$out/release") in $((SECONDS - start)) s"
	fi
	hash=$(module_hash "$out")
	stamp_is "$out/module.stamp" "$hash" && [ -f "$out/qp_trigger.ko" ] && return 0
	build_module "$build" "$out"
	echo "$hash" >"$out/module.stamp"
}

main() {
	local base=${1:-} variant=${2:-} frag
	qp_check_base "$base"
	qp_check_variant "$variant"
	qp_check_arch "$(qp_arch)"
	qp_base_has_arch "$base"
	frag=$(qp_base_config "$base")
	case "$variant" in
	patched) LOCAL_VERSION=-quietpanic ;;
	lkdtm) LOCAL_VERSION=-quietpanic-lkdtm ;;
	esac
	mapfile -t KBUILD < <(qp_kbuild_args)
	[ ${#KBUILD[@]} = 2 ] || exit 1
	CROSS=$(qp_cross_compile)
	qp_need_cmd make "${CROSS}gcc" ccache git flock
	"$QP_ROOT/scripts/tree.sh" "$base" "$variant"
	qp_with_build_lock build_variant "$base" "$variant" ${frag:+"$frag"}
}

main "$@"
