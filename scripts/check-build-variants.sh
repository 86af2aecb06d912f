#!/bin/bash
# Build the full patched series of one base in the configurations the test
# kernels do not cover: uniprocessor (configs/variants/nosmp.config), no
# kexec or crash dump (nokexec.config), and the objects the series changes
# on arm64 and s390 with Debian's cross compilers.
#
# Each variant has its own build dir next to the patched one; a build is
# incremental and serialised with every other kernel build.
#
# usage: scripts/check-build-variants.sh BASE
#        X86_VARIANTS="nosmp" scripts/check-build-variants.sh BASE  (a subset;
#        "" for the arm64 and s390 checks alone)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

X86_VARIANTS=${X86_VARIANTS-"nosmp nokexec"}

build_x86_variant() {
	local base=$1 variant=$2 tree build frag extra=()
	tree=$(qp_tree_dir "$base" patched)
	build="$tree/.qp-o-$variant"
	frag=$(qp_base_config "$base")
	[ -z "$frag" ] || extra=("$frag")
	"$QP_ROOT/scripts/config.sh" "$tree" "$build" "${extra[@]}" \
		"$QP_ROOT/configs/variants/$variant.config"
	CCACHE_DIR=${CCACHE_DIR:-$QP_CACHE/ccache} CCACHE_NOHASHDIR=1 \
		make -C "$tree" O="$build" -j"$(nproc)" CC="ccache gcc" \
		LOCALVERSION= vmlinux >"$build/build.log" 2>&1 ||
		qp_die "$base $variant: build failed (see $build/build.log)"
	if grep -q 'warning:' "$build/build.log"; then
		qp_die "$base $variant: compiler warnings (see $build/build.log)"
	fi
	echo "$base x86_64 $variant: vmlinux builds, no warnings"
}

# The architectures the series touches besides x86, cross-built with
# Debian's compilers from their defconfig (CRASH_DUMP and SMP on): ARCH,
# the cross prefix, and the object that overrides panic_halt().
CROSS_ARCHES="arm64:aarch64-linux-gnu-:arch/arm64/kernel/smp.o
s390:s390x-linux-gnu-:arch/s390/kernel/ipl.o"

# cross_dir TREE ARCH: where TREE's defconfig objects for ARCH are built.
cross_dir() {
	echo "$1/.qp-o-defconfig-$2"
}

# cross_build TREE ARCH PREFIX OBJECT: kernel/panic.o and OBJECT of TREE,
# defconfig, W=1, in TREE/.qp-o-defconfig-ARCH (TREE/.qp-o-ARCH is the arm64
# guest kernel's, scripts/build.sh); the log is TREE/.qp-o-defconfig-ARCH.log.
# The objects are compiled every time: a log of an up-to-date object has no
# warnings to compare.
cross_build() {
	local tree=$1 arch=$2 prefix=$3 object=$4 build
	build=$(cross_dir "$tree" "$arch")
	local cross=(ARCH="$arch" CROSS_COMPILE="$prefix")
	mkdir -p "$build"
	rm -f "$build/kernel/panic.o" "$build/$object"
	make -C "$tree" O="$build" "${cross[@]}" defconfig >"$build.log" 2>&1 &&
		make -C "$tree" O="$build" "${cross[@]}" -j"$(nproc)" W=1 \
			kernel/panic.o "$object" >>"$build.log" 2>&1
}

# cross_warnings LOG: the compiler warnings of a cross build, without line
# and column (the series moves code) and without host tools' (6.12's
# genksyms grammar under Debian 12's bison).
cross_warnings() {
	grep 'warning:' "$1" | grep -v '/scripts/' |
		sed -E 's/:[0-9]+:[0-9]+:/:/' | sort -u
}

# build_cross_objects BASE ARCH PREFIX OBJECT: kernel/panic.o and OBJECT
# build with W=1 and no warning the base does not have (6.1's panic.c has
# two of its own under W=1); panic.o defines panic_cpus_released() and a
# weak panic_halt(), and OBJECT overrides panic_halt() where the base's
# series changes its source (the stable backports leave arm64 alone).
# Objects only: a whole cross kernel is not what this checks.
build_cross_objects() {
	local base=$1 arch=$2 prefix=$3 object=$4 tree baseline new
	qp_need_cmd "${prefix}gcc"
	tree=$(qp_tree_dir "$base" patched)
	cross_build "$tree" "$arch" "$prefix" "$object" ||
		qp_die "$base $arch: kernel/panic.o or $object does not build (see $(cross_dir "$tree" "$arch").log)"
	if [ -n "$(cross_warnings "$(cross_dir "$tree" "$arch").log")" ]; then
		baseline=$(qp_tree_dir "$base" baseline)
		cross_build "$baseline" "$arch" "$prefix" "$object" ||
			qp_die "$base $arch: the baseline's objects do not build (see $(cross_dir "$baseline" "$arch").log)"
		new=$(comm -23 <(cross_warnings "$(cross_dir "$tree" "$arch").log") \
			<(cross_warnings "$(cross_dir "$baseline" "$arch").log"))
		[ -z "$new" ] || qp_die "$base $arch: compiler warnings baseline does not have: $new"
	fi
	expect_symbol "$base $arch" "$prefix" "$(cross_dir "$tree" "$arch")/kernel/panic.o" T panic_cpus_released
	expect_symbol "$base $arch" "$prefix" "$(cross_dir "$tree" "$arch")/kernel/panic.o" W panic_halt
	if git -C "$tree" diff --quiet base HEAD -- "${object%.o}.c"; then
		echo "$base $arch: kernel/panic.o and $object build with W=1, no new warnings; the series leaves $arch's wait as it is"
		return 0
	fi
	expect_symbol "$base $arch" "$prefix" "$(cross_dir "$tree" "$arch")/$object" T panic_halt
	echo "$base $arch: kernel/panic.o and $object build with W=1, no new warnings; $object overrides panic_halt()"
}

# expect_symbol WHAT PREFIX OBJECT TYPE NAME: nm shows NAME with TYPE.
expect_symbol() {
	local what=$1 prefix=$2 object=$3 type=$4 name=$5 symbols
	# nm's whole output first: with pipefail, grep -q closing the pipe
	# early would fail the check through nm's SIGPIPE.
	symbols=$("${prefix}nm" "$object")
	grep -q " $type $name\$" <<<"$symbols" ||
		qp_die "$what: ${object##*/} has no '$type $name' (is the series applied?)"
}

check_all() {
	local base=$1 variant
	local arch prefix object
	for variant in $X86_VARIANTS; do
		build_x86_variant "$base" "$variant"
	done
	while IFS=: read -r arch prefix object; do
		build_cross_objects "$base" "$arch" "$prefix" "$object"
	done <<<"$CROSS_ARCHES"
}

main() {
	local base=${1:-}
	qp_check_base "$base"
	qp_need_cmd make gcc ccache
	"$QP_ROOT/scripts/tree.sh" "$base"
	qp_with_build_lock check_all "$base"
}

main "$@"
