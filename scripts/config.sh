#!/bin/bash
# Write <build dir>/.config for one kernel tree: tinyconfig, then the
# fragments merged with the kernel's own scripts/kconfig/merge_config.sh in a
# fixed order (guest, kdump, debug, then any extra ones), then a check that
# every value a fragment asks for survived. Kconfig drops values whose
# dependencies are not met without a word; here that is an error.
#
# usage: scripts/config.sh TREE BUILD_DIR [EXTRA_FRAGMENT...]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

FRAGMENTS=(guest kdump debug)

# Print the requests of a fragment the final .config does not honour.
unmet_requests() {
	local fragment=$1 config=$2 line sym
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$config" || echo "$line"
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			! grep -q "^$sym=" "$config" || echo "$line"
			;;
		esac
	done <"$fragment"
}

check_help_line() {
	head -n 1 "$1" | grep -q '^# Help: ' ||
		qp_die "$1: first line must be '# Help: <what this fragment is for>'"
}

main() {
	local tree=${1:-} build=${2:-} frag list=() bad
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
	make -s -C "$tree" O="$build" tinyconfig >/dev/null ||
		qp_die "make tinyconfig failed in $tree"
	(cd "$tree" && ./scripts/kconfig/merge_config.sh -O "$build" \
		"$build/.config" "${list[@]}") >"$build/merge_config.log" 2>&1 ||
		qp_die "merge_config.sh failed (see $build/merge_config.log)"
	bad=$(for frag in "${list[@]}"; do
		unmet_requests "$frag" "$build/.config" | sed "s|^|$(basename "$frag"): |"
	done | paste -sd ';' -)
	[ -z "$bad" ] || qp_die "options requested but missing from $build/.config: $bad"
}

main "$@"
