#!/bin/bash
# Write the commits of a patched tree (branch quiet-panic) back to
# patches/<base>/ with git format-patch, and the quilt series file with them.
#
# Output is stable: --zero-commit and --no-signature keep hashes and the git
# version out of the files, -N keeps subjects free of "n/m", so exporting an
# unchanged tree changes nothing. Git notes on a commit become the patch's
# notes below the --- line (checkpatch justifications, what a backport
# changed); scripts/tree.sh turns them back into notes. The hand-written
# 0000-cover-letter.patch is left alone.
#
# usage: scripts/export-series.sh BASE
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

write_series() {
	local dir=$1 p
	{
		echo "# quiet panic for $(qp_package "$BASE") $(qp_pinned_version "$BASE")"
		echo "# Apply in this order with git am (scripts/tree.sh) or quilt; no fuzz."
		echo
		for p in "$dir"/[0-9][0-9][0-9][0-9]-*.patch; do
			p=$(basename "$p")
			[ "$p" = 0000-cover-letter.patch ] || echo "$p"
		done
	} >"$dir/series"
}

# Keep the hand-written cover letter's text, refresh what git computes:
# the patch count, the shortlog and the diffstat.
refresh_cover_letter() {
	local tree=$1 dir=$2 cover="$2/0000-cover-letter.patch" n fresh
	[ -f "$cover" ] || return 0
	n=$(git -C "$tree" rev-list --count base..quiet-panic)
	fresh=$(mktemp -d)
	git -C "$tree" format-patch -q --cover-letter --zero-commit --no-signature \
		-o "$fresh" base..quiet-panic
	{
		sed -n '/^[^ ].* ([0-9]*):$/q; p' "$cover" |
			sed "s|^Subject: \[PATCH \(v[0-9]* \)\{0,1\}0/[0-9]*\]|Subject: [PATCH \10/$n]|"
		sed -n '/^[^ ].* ([0-9]*):$/,$p' "$fresh/0000-cover-letter.patch"
	} >"$fresh/cover"
	cmp -s "$fresh/cover" "$cover" || mv "$fresh/cover" "$cover"
	rm -rf "$fresh"
}

main() {
	BASE=${1:-}
	local tree dir tmp stamp
	qp_check_base "$BASE"
	tree=$(qp_tree_dir "$BASE" patched)
	dir="$QP_ROOT/patches/$BASE"
	[ -d "$tree" ] || qp_die "no patched tree for $BASE (run: scripts/tree.sh $BASE)"
	[ -z "$(git -C "$tree" status --porcelain)" ] ||
		qp_die "$tree has uncommitted changes; commit them first"
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: $tmp is local
	trap "rm -rf '$tmp'" EXIT
	git -C "$tree" format-patch -q -N --zero-commit --no-signature --notes \
		-o "$tmp" base..quiet-panic
	mkdir -p "$dir"
	if ! diff -q -r -x series -x 0000-cover-letter.patch "$dir" "$tmp" >/dev/null; then
		find "$dir" -name '[0-9][0-9][0-9][0-9]-*.patch' \
			! -name 0000-cover-letter.patch -delete
		cp "$tmp"/*.patch "$dir/" 2>/dev/null || true
		qp_log "$BASE: exported $(find "$tmp" -name '*.patch' | wc -l) patches to patches/$BASE"
	fi
	write_series "$dir"
	refresh_cover_letter "$tree" "$dir"
	# The tree now is what the series describes: tree.sh must not re-apply.
	git -C "$tree" update-ref refs/qp/applied quiet-panic
	stamp=$(git -C "$tree" rev-parse --path-format=absolute --git-path qp-series-hash)
	"$QP_ROOT/scripts/tree.sh" --series-hash "$BASE" >"$stamp"
}

main "$@"
