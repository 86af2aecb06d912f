# shellcheck shell=bash
# What every test and tool of kexec-tests uses: failing and skipping a
# test, qpvm's "key=value" results, JSON values, numbers (ms, median,
# within_pct), bounded waits, and expect_error for the bad-input tests.
#
# A test function runs in its own subshell with $T (its result dir), $BASE
# and $VARIANT set (and QP_TEST, by run-tests). It fails through t_fail (or
# any non-zero exit), skips through t_skip; whatever it prints becomes TAP
# diagnostics.

# shellcheck source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# shellcheck disable=SC2034 # used by the tests
RUN_TESTS="$QP_ROOT/kexec-tests/run-tests"

# t_fail MESSAGE: fail the test: MESSAGE on stdout, TAP diagnostics. The
# libraries fail through it in the tools too (bench, bench-libvirt), whose
# functions hand their figures back on stdout, where a caller's $(...)
# would swallow the message: there (no QP_TEST) it is qp_die's one
# "error:" line on stderr.
t_fail() {
	[ -n "${QP_TEST:-}" ] || qp_die "$*"
	echo "$*"
	exit 1
}

t_skip() {
	echo "$*"
	exit 4
}

# t_value FILE KEY: the value qpvm reported for KEY (last one wins).
t_value() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# json_value FILE KEY: the value of KEY in the JSON object in FILE (a
# string as it is, an array one element a line), nothing if KEY is absent
# or null; fails on a file that is not JSON.
json_value() {
	jq -r --arg key "$2" '.[$key] | select(. != null) | if type == "array" then .[] else . end' "$1"
}

# json_is FILE KEY JSON: KEY in the JSON object in FILE equals the JSON
# value JSON, type included (1 is not "1", true is not "true").
json_is() {
	jq -e --arg key "$2" --argjson want "$3" '.[$key] == $want' "$1" >/dev/null
}

# Nanoseconds to milliseconds, for messages.
ms() {
	echo $(($1 / 1000000))
}

# within_pct VALUE WANT PCT: is VALUE within WANT +-PCT%?
within_pct() {
	[ $(($1 * 100)) -ge $(($2 * (100 - $3))) ] && [ $(($1 * 100)) -le $(($2 * (100 + $3))) ]
}

# median_min_max: "MEDIAN MIN MAX" of the numbers on stdin, one a line
# (nothing if none). Of an even count the median is the lower middle one:
# always a sample, so whole numbers stay whole for the tests' arithmetic.
median_min_max() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR] }'
}

# median N...: the median of the numbers (median_min_max's).
median() {
	printf '%s\n' "$@" | median_min_max | cut -d' ' -f1
}

# expect_error REGEX CMD...: CMD fails (non-zero exit) with exactly one
# non-empty line on stderr, matching the extended REGEX, and no "ok" line on
# stdout; the scripts' progress lines ("==> ", qp_log) before it do not
# count. Runs with make's variables out of the environment, so that a
# "make check" around the test does not leak into the make under test.
expect_error() {
	local regex=$1 rc=0 n lines
	shift
	n=$((${ERR_N:-0} + 1))
	ERR_N=$n
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES "$@" \
		</dev/null >"$T/err$n.out" 2>"$T/err$n.all" || rc=$?
	grep -v '^==> ' "$T/err$n.all" >"$T/err$n.err" || true
	[ "$rc" != 0 ] || t_fail "'$*' exited 0"
	lines=$(grep -c . "$T/err$n.err")
	[ "$lines" = 1 ] ||
		t_fail "'$*' wrote $lines lines to stderr, want 1: $(head -c 300 "$T/err$n.err")"
	grep -Eq -- "$regex" "$T/err$n.err" ||
		t_fail "'$*': stderr '$(cat "$T/err$n.err")' does not match /$regex/"
	! grep -q '^ok ' "$T/err$n.out" || t_fail "'$*' printed a TAP ok line"
	echo "exit $rc: $* -> $(cat "$T/err$n.err")"
}

# gone PID: no process PID any more (exited and reaped).
gone() {
	[ ! -e "/proc/$1" ]
}

# wait_for_value FILE KEY SECONDS: the value qpvm reported for KEY, once it
# has (empty after SECONDS).
wait_for_value() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ ! -f "$1" ] || [ -z "$(t_value "$1" "$2")" ] || break
		sleep 0.1
	done
	[ ! -f "$1" ] || t_value "$1" "$2"
}

# wait_until SECONDS CMD...: until CMD succeeds, tried every 0.1 s; fails
# after SECONDS (whole seconds).
wait_until() {
	local i tries=$(($1 * 10))
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# path_without_qemu: a PATH with every program of this machine but QEMU.
path_without_qemu() {
	path_without noqemu 'qemu-system-*'
}

# path_without NAME GLOB: a PATH ($T/NAME) with every program of this
# machine but those whose names match GLOB.
path_without() {
	local f
	mkdir -p "$T/$1"
	for f in /usr/bin/* /usr/sbin/*; do
		# shellcheck disable=SC2254 # GLOB is a pattern
		case "${f##*/}" in $2) continue ;; esac
		ln -sf "$f" "$T/$1/${f##*/}"
	done
	echo "$T/$1"
}

# series_file DIR N: the Nth patch of DIR's series.
series_file() {
	grep -v '^[[:space:]]*\(#\|$\)' "$1/series" | sed -n "${2}p"
}

# exited PID: child PID has ended (a zombie until waited for, or reaped).
exited() {
	case "$(ps -o stat= -p "$1")" in '' | Z*) return 0 ;; esac
	return 1
}

# wait_child PID SECONDS: wait for child PID and return its status; after
# SECONDS, SIGTERM it and fail the test.
wait_child() {
	wait_until "$2" exited "$1" || {
		kill -TERM "$1" 2>/dev/null
		t_fail "process $1 ($(ps -o args= -p "$1" | cut -c1-80)) still runs after $2 s"
	}
	wait "$1"
}

# wait_for_line FILE REGEX SECONDS: until FILE has a line matching REGEX.
wait_for_line() {
	wait_until "$3" grep -Eqs "$2" "$1"
}
