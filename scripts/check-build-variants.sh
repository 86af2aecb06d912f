#!/bin/bash
# Build the full patched series of one base in the configurations the test
# kernels do not cover: uniprocessor (configs/variants/nosmp.config), no
# kexec or crash dump (nokexec.config), and kernel/panic.o for arm64 with
# Debian's cross compiler (the weak default path of another architecture).
#
# Each variant has its own build dir next to the patched one; a build is
# incremental and serialised with every other kernel build.
#
# usage: scripts/check-build-variants.sh BASE
#        X86_VARIANTS="nosmp" scripts/check-build-variants.sh BASE  (a subset;
#        "" for the arm64 check alone)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

X86_VARIANTS=${X86_VARIANTS-"nosmp nokexec"}

build_x86_variant() {
	local base=$1 variant=$2 tree build extra=()
	tree=$(qp_tree_dir "$base" patched)
	build="$tree/.qp-o-$variant"
	[ ! -f "$QP_ROOT/configs/base-$base.config" ] ||
		extra=("$QP_ROOT/configs/base-$base.config")
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

# kernel/panic.o for arm64, which does not select ARCH_HAS_PANIC_HALT: it
# builds, and nothing in it calls arch_panic_halt() (arm64 provides none,
# so a reference would not link): panic_cpu_wait() is cpu_relax() there.
build_arm64_panic_o() {
	local base=$1 tree build symbols cross=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
	qp_need_cmd aarch64-linux-gnu-gcc
	tree=$(qp_tree_dir "$base" patched)
	build="$tree/.qp-o-arm64"
	if ! make -C "$tree" O="$build" "${cross[@]}" tinyconfig >"$build.log" 2>&1 ||
		! make -C "$tree" O="$build" "${cross[@]}" -j"$(nproc)" kernel/panic.o \
			>>"$build.log" 2>&1; then
		qp_die "$base arm64: kernel/panic.o does not build (see $build.log)"
	fi
	if grep -q 'warning:' "$build.log"; then
		qp_die "$base arm64: compiler warnings (see $build.log)"
	fi
	# nm's whole output first: with pipefail, grep -q closing the pipe
	# early would fail the check through nm's SIGPIPE.
	symbols=$(aarch64-linux-gnu-nm "$build/kernel/panic.o")
	grep -q ' T panic_cpu_wait$' <<<"$symbols" ||
		qp_die "$base arm64: kernel/panic.o has no panic_cpu_wait (is the series applied?)"
	! grep -q ' U arch_panic_halt$' <<<"$symbols" ||
		qp_die "$base arm64: kernel/panic.o calls arch_panic_halt, which arm64 does not provide"
	echo "$base arm64: kernel/panic.o builds and does not call arch_panic_halt"
}

check_all() {
	local base=$1 variant
	for variant in $X86_VARIANTS; do
		build_x86_variant "$base" "$variant"
	done
	build_arm64_panic_o "$base"
}

main() {
	local base=${1:-}
	qp_check_base "$base"
	qp_need_cmd make gcc ccache
	"$QP_ROOT/scripts/tree.sh" "$base"
	qp_with_build_lock check_all "$base"
}

main "$@"
