#!/bin/bash
# Write the commits of a patched tree (branch quiet-panic) back to
# patches/<base>/ with git format-patch, and the quilt series file with them;
# with VARIANT lkdtm, the commits of the lkdtm tree on top of quiet-panic
# (branch quiet-panic-lkdtm) to patches/<base>/lkdtm/.
#
# Output is stable: --zero-commit and --no-signature keep hashes and the git
# version out of the files, -N keeps subjects free of "n/m", so exporting an
# unchanged tree changes nothing. Git notes on a commit become the patch's
# notes below the --- line (checkpatch justifications, what a backport
# changed); scripts/tree.sh turns them back into notes. The hand-written
# 0000-cover-letter.patch is left alone.
#
# usage: scripts/export-series.sh BASE [VARIANT]   (patched or lkdtm)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

write_series() {
	local dir=$1 what=$2 p
	{
		echo "# $what for $(qp_package "$BASE") $(qp_pinned_version "$BASE")"
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
	local tree=$1 dir=$2 range=$3 cover="$2/0000-cover-letter.patch" n fresh
	[ -f "$cover" ] || return 0
	n=$(git -C "$tree" rev-list --count "$range")
	fresh=$(mktemp -d)
	git -C "$tree" format-patch -q --cover-letter --zero-commit --no-signature \
		-o "$fresh" "$range"
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
	local variant=${2:-patched} tree dir tmp stamp range branch
	qp_check_base "$BASE"
	qp_check_variant "$variant"
	tree=$(qp_tree_dir "$BASE" "$variant")
	branch=$(qp_variant_branch "$variant")
	case "$variant" in
	patched) dir="$QP_ROOT/patches/$BASE" range=base..quiet-panic ;;
	lkdtm) dir="$QP_ROOT/patches/$BASE/lkdtm" range="quiet-panic..$branch" ;;
	*) qp_die "variant $variant has no series of its own" ;;
	esac
	[ -d "$tree" ] || qp_die "no $variant tree for $BASE (run: scripts/tree.sh $BASE $variant)"
	[ -z "$(git -C "$tree" status --porcelain)" ] ||
		qp_die "$tree has uncommitted changes; commit them first"
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: $tmp is local
	trap "rm -rf '$tmp'" EXIT
	git -C "$tree" format-patch -q -N --zero-commit --no-signature --notes \
		-o "$tmp" "$range"
	mkdir -p "$dir"
	# patches/<base>/lkdtm/ is a series of its own: leave it out here.
	if ! diff -q -x series -x 0000-cover-letter.patch -x lkdtm "$dir" "$tmp" >/dev/null; then
		find "$dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
			! -name 0000-cover-letter.patch -delete
		cp "$tmp"/*.patch "$dir/" 2>/dev/null || true
		qp_log "$BASE: exported $(find "$tmp" -name '*.patch' | wc -l) patches to ${dir#"$QP_ROOT/"}"
	fi
	if [ "$variant" = lkdtm ]; then
		write_series "$dir" "LKDTM crash types of the quiet panic scenarios, on top of ../series,"
	else
		write_series "$dir" "quiet panic"
	fi
	refresh_cover_letter "$tree" "$dir" "$range"
	# The tree now is what the series describes: tree.sh must not re-apply.
	git -C "$tree" update-ref "$(qp_applied_ref "$variant")" "$branch"
	stamp=$(git -C "$tree" rev-parse --path-format=absolute --git-path qp-series-hash)
	"$QP_ROOT/scripts/tree.sh" --series-hash "$BASE" "$variant" >"$stamp"
}

main "$@"
