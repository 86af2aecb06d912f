#!/bin/bash
# Check the patch queue of one base the way a maintainer does first:
#
#   - every patch file is listed in series, every listed patch exists
#   - every patch has From:, Subject: and Signed-off-by: or Assisted-by:
#   - scripts/checkpatch.pl --strict from the base's own tree reports
#     nothing but what the patch's notes (below ---) justify: a line
#     "checkpatch: <TYPE>" there accepts messages of that type
#
# usage: scripts/check-patches.sh BASE
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

problems=0

problem() {
	echo "$*"
	problems=$((problems + 1))
}

listed_patches() {
	grep -v '^[[:space:]]*\(#\|$\)' "$1/series" || true
}

check_listing() {
	local dir=$1 p
	for p in $(listed_patches "$dir"); do
		[ -f "$dir/$p" ] || problem "$dir/series lists $p but the file is missing"
	done
	for p in "$dir"/*.patch; do
		[ -e "$p" ] || continue
		p=$(basename "$p")
		[ "$p" = 0000-cover-letter.patch ] && continue
		listed_patches "$dir" | grep -qxF "$p" || problem "$dir/$p is not listed in series"
	done
}

# From: and Subject:, and who stands for the patch: a Signed-off-by: (a
# human's DCO), or, for what an AI coding assistant wrote, its Assisted-by:
# until the human who posts it signs off (the kernel's
# Documentation/process/coding-assistants.rst: AI agents must not add a
# Signed-off-by).
check_headers() {
	local file=$1 h
	for h in '^From: ' '^Subject: '; do
		grep -q "$h" "$file" || problem "$(basename "$file"): no ${h#^} line"
	done
	grep -Eq '^(Signed-off-by|Assisted-by): ' "$file" ||
		problem "$(basename "$file"): neither Signed-off-by: nor Assisted-by:"
}

# checkpatch message types the patch notes accept ("checkpatch: TYPE").
accepted_types() {
	sed -n '/^---$/,/^diff --git/s/^ *checkpatch: \([A-Z_]*\).*/\1/p' "$1" | xargs
}

# checkpatch and its data files, copied out of the git tree: inside one,
# checkpatch reads the repository instead of the patch.
checkpatch_dir() {
	local tree=$1 dir f
	dir=$(mktemp -d)
	mkdir -p "$dir/scripts"
	for f in checkpatch.pl spelling.txt const_structs.checkpatch; do
		cp "$tree/scripts/$f" "$dir/scripts/"
	done
	echo "$dir"
}

check_style() {
	local cpdir=$1 file=$2 accepted out
	accepted=$(accepted_types "$file")
	out=$(cd "$cpdir" || exit 1
		perl scripts/checkpatch.pl --strict --no-tree --terse --show-types \
			${accepted:+--ignore "${accepted// /,}"} "$file" 2>&1 |
			grep -E '(ERROR|WARNING|CHECK):' || true)
	[ -z "$out" ] || problem "$(basename "$file"): checkpatch --strict: $out"
}

# check_queue CPDIR DIR: one series (listing, headers, checkpatch).
check_queue() {
	local cpdir=$1 dir=$2 p
	check_listing "$dir"
	for p in $(listed_patches "$dir"); do
		[ -f "$dir/$p" ] || continue
		check_headers "$dir/$p"
		check_style "$cpdir" "$dir/$p"
	done
	[ "$problems" -eq 0 ] || qp_die "$base: $problems problem(s) in ${dir#"$QP_ROOT/"}"
	echo "$base: $(listed_patches "$dir" | wc -l) patches in ${dir#"$QP_ROOT/"}, series complete, checkpatch --strict clean"
}

main() {
	local base=${1:-} dir tree cpdir
	qp_check_base "$base"
	dir="$QP_ROOT/patches/$base"
	[ -f "$dir/series" ] || qp_die "no $dir/series"
	tree=$(qp_repo_dir "$base")
	[ -f "$tree/scripts/checkpatch.pl" ] || qp_die "no kernel tree for $base (run: scripts/tree.sh $base)"
	cpdir=$(checkpatch_dir "$tree")
	# shellcheck disable=SC2064 # expand now: $cpdir is local
	trap "rm -rf '$cpdir'" EXIT
	check_queue "$cpdir" "$dir"
	# The optional LKDTM series, where a base has one.
	[ ! -f "$dir/lkdtm/series" ] || check_queue "$cpdir" "$dir/lkdtm"
}

main "$@"
