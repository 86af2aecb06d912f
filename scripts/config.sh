#!/bin/bash
# Write <build dir>/.config for one kernel tree: tinyconfig of the
# architecture (QP_ARCH, ARCHES), then the fragments merged with the
# kernel's own scripts/kconfig/merge_config.sh in a fixed order (guest, the
# architecture's own configs/<arch>.config, distro where ARCHES says the
# architecture runs the distribution guest, kdump, debug, then any extra
# ones), then a check that
# every value the fragments ask for survived (where two fragments ask for
# the same symbol, the later one counts). Kconfig drops values whose
# dependencies are not met without a word; here that is an error.
#
# usage: scripts/config.sh TREE BUILD_DIR [EXTRA_FRAGMENT...]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The common fragments, in order; the architecture's goes after guest.
FRAGMENTS=(guest "$(qp_arch)")
! qp_arch_runs_distro || FRAGMENTS+=(distro)
FRAGMENTS+=(kdump debug)

# The request for each symbol over all fragments, the last one winning (a
# later fragment may override an earlier one), one "SYMBOL LINE" per line.
final_requests() {
	awk '/^CONFIG_[A-Za-z0-9_]+=/ { sym = $0; sub(/=.*/, "", sym); req[sym] = $0; order[sym] = ++n }
	     /^# CONFIG_[A-Za-z0-9_]+ is not set$/ { sym = $2; req[sym] = $0; order[sym] = ++n }
	     END { for (s in req) print order[s], s, req[s] }' "$@" | sort -n | cut -d' ' -f2-
}

# Print the requests the final .config does not honour.
unmet_requests() {
	local config=$1 sym line
	shift
	while read -r sym line; do
		case "$line" in
		CONFIG_*) grep -qxF "$line" "$config" || echo "$line" ;;
		*) ! grep -q "^$sym=" "$config" || echo "$line" ;;
		esac
	done < <(final_requests "$@")
}

check_help_line() {
	head -n 1 "$1" | grep -q '^# Help: ' ||
		qp_die "$1: first line must be '# Help: <what this fragment is for>'"
}

main() {
	local tree=${1:-} build=${2:-} frag list=() bad kbuild
	if [ ! -d "$tree" ] || [ -z "$build" ]; then
		qp_die "usage: scripts/config.sh TREE BUILD_DIR [EXTRA_FRAGMENT...]"
	fi
	shift 2
	for frag in "${FRAGMENTS[@]}"; do
		list+=("$QP_ROOT/configs/$frag.config")
	done
	list+=("$@")
	for frag in "${list[@]}"; do
		[ -f "$frag" ] || qp_die "config fragment $frag not found"
		check_help_line "$frag"
	done
	mkdir -p "$build"
	build=$(cd "$build" && pwd)
	mapfile -t kbuild < <(qp_kbuild_args)
	[ ${#kbuild[@]} = 2 ] || exit 1
	make -s -C "$tree" O="$build" "${kbuild[@]}" tinyconfig >/dev/null ||
		qp_die "make tinyconfig failed in $tree"
	# merge_config.sh runs make with ARCH and CROSS_COMPILE from the
	# environment.
	(cd "$tree" && env "${kbuild[@]}" ./scripts/kconfig/merge_config.sh -O "$build" \
		"$build/.config" "${list[@]}") >"$build/merge_config.log" 2>&1 ||
		qp_die "merge_config.sh failed (see $build/merge_config.log)"
	bad=$(unmet_requests "$build/.config" "${list[@]}" | paste -sd ';' -)
	[ -z "$bad" ] || qp_die "options requested but missing from $build/.config: $bad"
}

main "$@"
