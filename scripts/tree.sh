#!/bin/bash
# Materialise the kernel trees of one base in $QP_CACHE/kernel/<base>/:
#
#   baseline/  git repository: the pristine Debian source, one commit, tag "base"
#   patched/   worktree on branch "quiet-panic": base + patches/<base>/ (git am)
#
# Patches go in the order of patches/<base>/series. A patch that does not
# apply exactly (git am never fuzzes) is an error naming the patch.
#
# Re-running is cheap: the patched tree is rebuilt only when the series
# changed, and never over local work (uncommitted edits, or commits that
# scripts/export-series.sh has not written back yet).
#
# usage: scripts/tree.sh BASE
#        scripts/tree.sh --series-hash BASE   (print the hash of the series)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GIT_ID=(-c user.name=quiet-panic -c user.email=quiet-panic@localhost)

extract_base() {
	local base=$1 repo tarball tmp
	repo=$(qp_repo_dir "$base")
	tarball=$(qp_source_tarball "$base")
	[ -f "$tarball" ] || qp_die "$tarball missing (run: make deps)"
	qp_need_space "$QP_CACHE" 6000
	qp_log "$base: extracting $tarball"
	tmp="$repo.tmp"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	tar -xJf "$tarball" -C "$tmp" --strip-components=1 ||
		qp_die "cannot extract $tarball"
	git -C "$tmp" init -q -b pristine
	# The build dir lives inside each tree (see lib.sh); keep it out of git.
	echo "/.qp-o/" >>"$tmp/.git/info/exclude"
	git -C "$tmp" add -A -f .
	git "${GIT_ID[@]}" -C "$tmp" commit -q \
		-m "$(qp_package "$base") $(qp_pinned_version "$base")"
	git -C "$tmp" tag base
	mv "$tmp" "$repo"
}

series_patches() {
	local dir=$1
	[ -f "$dir/series" ] || return 0
	grep -v '^[[:space:]]*\(#\|$\)' "$dir/series" || true
}

# Hash of the series as the repository holds it now.
series_hash() {
	local dir=$1 p
	{
		series_patches "$dir"
		for p in $(series_patches "$dir"); do
			[ -f "$dir/$p" ] || qp_die "$dir/series lists $p but the file is missing"
			cat "$dir/$p"
		done
	} | sha256sum | cut -c1-16
}

ensure_worktree() {
	local base=$1 repo tree
	repo=$(qp_repo_dir "$base")
	tree=$(qp_tree_dir "$base" patched)
	[ -d "$tree" ] && return 0
	git -C "$repo" worktree add -q -B quiet-panic "$tree" base
	git -C "$repo" update-ref refs/qp/applied base
	# Keep notes on commits through rebase and amend.
	git -C "$repo" config notes.rewriteRef refs/notes/commits
}

# Refuse to throw away work done in the patched tree.
check_no_local_work() {
	local tree=$1
	[ -z "$(git -C "$tree" status --porcelain)" ] ||
		qp_die "$tree has uncommitted changes; commit them and run scripts/export-series.sh, or discard them"
	[ "$(git -C "$tree" rev-parse HEAD)" = "$(git -C "$tree" rev-parse refs/qp/applied)" ] ||
		qp_die "$tree has commits not exported to patches/; run scripts/export-series.sh first"
}

# The "Notes:" block format-patch --notes put below the --- line, unindented.
patch_notes() {
	awk '/^---$/ { below = 1; next }
	     below && /^Notes:$/ { notes = 1; next }
	     notes && /^$/ { exit }
	     notes { sub(/^    /, ""); print }
	     /^diff --git / { exit }' "$1"
}

apply_series() {
	local base=$1 dir=$2 tree=$3 p notes
	git -C "$tree" checkout -q -B quiet-panic base
	for p in $(series_patches "$dir"); do
		if ! git "${GIT_ID[@]}" -C "$tree" am -q "$dir/$p" >/dev/null 2>&1; then
			git -C "$tree" am --abort >/dev/null 2>&1 || true
			git -C "$tree" update-ref refs/qp/applied HEAD
			qp_die "$base: patch $p does not apply cleanly to $(qp_package "$base") $(qp_pinned_version "$base")"
		fi
		# Reviewer notes (checkpatch justifications, backport changes)
		# live in git notes, so that export-series.sh writes them back.
		notes=$(patch_notes "$dir/$p")
		[ -z "$notes" ] || git "${GIT_ID[@]}" -C "$tree" notes add -f -m "$notes" HEAD
	done
	git -C "$tree" update-ref refs/qp/applied HEAD
}

main() {
	local base=${1:-} dir tree hash stamp
	if [ "$base" = --series-hash ]; then
		qp_check_base "${2:-}"
		series_hash "$QP_ROOT/patches/$2"
		return 0
	fi
	qp_check_base "$base"
	qp_check_source "$base"
	qp_need_cmd git tar xz
	dir="$QP_ROOT/patches/$base"
	[ -d "$(qp_repo_dir "$base")" ] || extract_base "$base"
	ensure_worktree "$base"
	tree=$(qp_tree_dir "$base" patched)
	hash=$(series_hash "$dir")
	stamp=$(git -C "$tree" rev-parse --path-format=absolute --git-path qp-series-hash)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
		return 0
	fi
	check_no_local_work "$tree"
	qp_log "$base: applying $(series_patches "$dir" | wc -l) patches from patches/$base/series"
	rm -f "$stamp"
	apply_series "$base" "$dir" "$tree"
	echo "$hash" >"$stamp"
}

main "$@"
