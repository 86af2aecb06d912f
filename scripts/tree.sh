#!/bin/bash
# Materialise the kernel trees of one base in $QP_CACHE/kernel/<base>/:
#
#   baseline/  git repository: the pristine Debian source, one commit, tag "base"
#   patched/   worktree on branch "quiet-panic": base + patches/<base>/ (git am)
#   lkdtm/     (VARIANT lkdtm) worktree on branch "quiet-panic-lkdtm": the
#              patched tree + patches/<base>/lkdtm/ (the optional LKDTM series)
#
# Patches go in the order of patches/<base>/series. A patch that does not
# apply exactly (git am never fuzzes) is an error naming the patch.
#
# Re-running is cheap: the patched tree is rebuilt only when the series
# changed, and never over local work (uncommitted edits, or commits that
# scripts/export-series.sh has not written back yet).
#
# usage: scripts/tree.sh BASE [VARIANT]          (VARIANT: patched, lkdtm)
#        scripts/tree.sh --series-hash BASE [VARIANT]  (the hash of its series)
#        scripts/tree.sh --check DIR BASE     (does the series in DIR apply
#                                             to BASE? no tree is touched)
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

# Hash of the series (of every directory given) as the repository holds it.
series_hash() {
	local dir p
	for dir in "$@"; do
		series_patches "$dir"
		for p in $(series_patches "$dir"); do
			[ -f "$dir/$p" ] || qp_die "$dir/series lists $p but the file is missing"
			cat "$dir/$p"
		done
	done | sha256sum | cut -c1-16
}

ensure_worktree() {
	local base=$1 variant=$2 repo tree
	repo=$(qp_repo_dir "$base")
	tree=$(qp_tree_dir "$base" "$variant")
	[ -d "$tree" ] && return 0
	git -C "$repo" worktree add -q -B "$(qp_variant_branch "$variant")" "$tree" base
	git -C "$repo" update-ref "$(qp_applied_ref "$variant")" base
	# Keep notes on commits through rebase and amend.
	git -C "$repo" config notes.rewriteRef refs/notes/commits
}

# Refuse to throw away work done in a variant's tree.
check_no_local_work() {
	local tree=$1 variant=$2
	[ -z "$(git -C "$tree" status --porcelain)" ] ||
		qp_die "$tree has uncommitted changes; commit them and run scripts/export-series.sh, or discard them"
	[ "$(git -C "$tree" rev-parse HEAD)" = "$(git -C "$tree" rev-parse "$(qp_applied_ref "$variant")")" ] ||
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

# apply_series BASE VARIANT TREE START DIR...: the variant's branch, reset
# to START, with every series of DIR... applied in order.
apply_series() {
	local base=$1 variant=$2 tree=$3 start=$4 dir p notes applied
	shift 4
	applied=$(qp_applied_ref "$variant")
	git -C "$tree" checkout -q -B "$(qp_variant_branch "$variant")" "$start"
	for dir in "$@"; do
		for p in $(series_patches "$dir"); do
			if ! git "${GIT_ID[@]}" -C "$tree" am -q "$dir/$p" >/dev/null 2>&1; then
				git -C "$tree" am --abort >/dev/null 2>&1 || true
				git -C "$tree" update-ref "$applied" HEAD
				qp_die "$(not_applying "$base" "$p")"
			fi
			# Reviewer notes (checkpatch justifications, backport
			# changes) live in git notes, so that export-series.sh
			# writes them back.
			notes=$(patch_notes "$dir/$p")
			[ -z "$notes" ] || git "${GIT_ID[@]}" -C "$tree" notes add -f -m "$notes" HEAD
		done
	done
	git -C "$tree" update-ref "$applied" HEAD
}

# check_applies DIR BASE: every patch of DIR's series applies to BASE as
# git am would apply it (no fuzz), one after the other, in a scratch index
# of the baseline repository: no working tree is checked out or changed.
check_applies() {
	local dir base=$2 repo p index
	[ -f "$1/series" ] || qp_die "$1 has no series file"
	dir=$(cd "$1" && pwd)
	repo=$(qp_repo_dir "$base")
	[ -d "$repo" ] || extract_base "$base"
	index=$(mktemp)
	# shellcheck disable=SC2064 # expand now: $index is local
	trap "rm -f '$index'" EXIT
	GIT_INDEX_FILE=$index git -C "$repo" read-tree base
	for p in $(series_patches "$dir"); do
		[ -f "$dir/$p" ] || qp_die "$dir/series lists $p but the file is missing"
		GIT_INDEX_FILE=$index git -C "$repo" apply --cached "$dir/$p" 2>/dev/null ||
			qp_die "$(not_applying "$base" "$p")"
	done
}

not_applying() {
	echo "$1: patch $2 does not apply cleanly to $(qp_package "$1") $(qp_pinned_version "$1")"
}

main() {
	local base=${1:-} variant=${2:-patched} dirs tree hash stamp old_head
	if [ "$base" = --series-hash ]; then
		qp_check_base "${2:-}"
		# shellcheck disable=SC2046 # a list of directories
		series_hash $(qp_series_dirs "$2" "${3:-patched}")
		return 0
	fi
	if [ "$base" = --check ]; then
		[ $# -eq 3 ] || qp_die "usage: scripts/tree.sh --check DIR BASE"
		qp_check_base "$3"
		qp_check_source "$3"
		check_applies "$2" "$3"
		return 0
	fi
	qp_check_base "$base"
	qp_check_variant "$variant"
	qp_check_source "$base"
	qp_need_cmd git tar xz
	[ -d "$(qp_repo_dir "$base")" ] || extract_base "$base"
	[ "$variant" != baseline ] || return 0
	read -r -a dirs <<<"$(qp_series_dirs "$base" "$variant")"
	[ -f "${dirs[-1]}/series" ] || qp_die "$base has no ${dirs[-1]#"$QP_ROOT/"}/series for variant $variant"
	ensure_worktree "$base" "$variant"
	tree=$(qp_tree_dir "$base" "$variant")
	hash=$(series_hash "${dirs[@]}")
	stamp=$(git -C "$tree" rev-parse --path-format=absolute --git-path qp-series-hash)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
		return 0
	fi
	check_no_local_work "$tree" "$variant"
	rm -f "$stamp"
	old_head=$(git -C "$tree" rev-parse HEAD)
	if [ "$variant" = lkdtm ]; then
		# On top of the patched tree's own commits, so that the LKDTM
		# series is exactly quiet-panic..quiet-panic-lkdtm.
		"$0" "$base" patched
		qp_log "$base-$variant: applying $(series_patches "${dirs[-1]}" | wc -l) patches from ${dirs[-1]#"$QP_ROOT/"}/series"
		apply_series "$base" "$variant" "$tree" quiet-panic "${dirs[-1]}"
	else
		qp_log "$base: applying $(series_patches "${dirs[0]}" | wc -l) patches from patches/$base/series"
		apply_series "$base" "$variant" "$tree" base "${dirs[0]}"
	fi
	# Re-applying touched every file the series changes; headers that
	# only changed in declarations need not rebuild the kernel.
	qp_age_headers "$tree" "$old_head" HEAD
	echo "$hash" >"$stamp"
}

main "$@"
