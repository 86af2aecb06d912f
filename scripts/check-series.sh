#!/bin/bash
# Build and boot every prefix of the series (like ktest.pl's patchcheck),
# and measure what each prefix does to post-panic host CPU.
#
# For each commit of the patched tree, oldest first: build it in the
# patched build dir (incremental), boot it (test "boot" must pass), then run
# the post-panic CPU tests and print their figures. Those may fail on early
# prefixes: a prefix that does not halt yet is expected to spin; the table
# shows where each change takes effect. The tree is left at its branch head
# and rebuilt.
#
# usage: scripts/check-series.sh BASE [TEST...]
#        (default tests: cpu-sysrq-c cpu-panic-all cpu-nmi-panic-all)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

RUN_TESTS="$QP_ROOT/kexec-tests/run-tests"

# "test=ms" for each CPU test of a run-tests output (TAP diagnostics).
cpu_figures() {
	awk '/^# [0-9]+ vCPUs, 10 s after/ { ms = $0; sub(/.*: /, "", ms); sub(/ ms host CPU.*/, "", ms) }
	     /^(not )?ok / && ms != "" { name = $0; sub(/: .*/, "", name); sub(/.* /, "", name)
	                                 printf "%s=%s ms ", name, ms; ms = "" }' "$1"
}

# check_prefix BASE COMMIT LOG TEST...: check out COMMIT, build, boot, run.
# Headers that changed only in declarations since the last checkout keep
# an old mtime (qp_age_headers): a prefix rebuilds what it changes.
check_prefix() {
	local base=$1 commit=$2 log=$3 tree from
	shift 3
	tree=$(qp_tree_dir "$base" patched)
	from=$(git -C "$tree" rev-parse HEAD)
	git -C "$tree" checkout -q --detach "$commit"
	qp_age_headers "$tree" "$from" "$commit"
	"$QP_ROOT/scripts/build.sh" "$base" patched >"$log" 2>&1 || return 1
	"$RUN_TESTS" --base "$base" --variant patched boot >>"$log" 2>&1 || return 2
	"$RUN_TESTS" --base "$base" --variant patched "$@" >>"$log" 2>&1 || true
}

main() {
	local base=${1:-} tree commit subject log n=0 failed=0 rc
	qp_check_base "$base"
	shift
	[ $# -gt 0 ] || set -- cpu-sysrq-c cpu-panic-all cpu-nmi-panic-all
	tree=$(qp_tree_dir "$base" patched)
	"$QP_ROOT/scripts/tree.sh" "$base"
	[ -z "$(git -C "$tree" status --porcelain)" ] || qp_die "$tree has uncommitted changes"
	log=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: these are local
	trap "git -C '$tree' checkout -q quiet-panic; rm -rf '$log'" EXIT
	echo "| # | commit | builds | boots | host CPU 10 s after the panic (patched) |"
	echo "|---|---|---|---|---|"
	for commit in $(git -C "$tree" rev-list --reverse base..quiet-panic); do
		n=$((n + 1))
		subject=$(git -C "$tree" log -1 --format=%s "$commit")
		rc=0
		check_prefix "$base" "$commit" "$log/$n" "$@" || rc=$?
		case $rc in
		0) echo "| $n | $subject | yes | yes | $(cpu_figures "$log/$n") |" ;;
		1) echo "| $n | $subject | NO | - | $(grep -m1 error "$log/$n") |"; failed=1 ;;
		*) echo "| $n | $subject | yes | NO | |"; failed=1 ;;
		esac
	done
	commit=$(git -C "$tree" rev-parse HEAD)
	git -C "$tree" checkout -q quiet-panic
	qp_age_headers "$tree" "$commit" quiet-panic
	"$QP_ROOT/scripts/build.sh" "$base" patched >/dev/null
	[ "$failed" = 0 ] || qp_die "$base: a prefix of the series does not build or boot"
}

main "$@"
