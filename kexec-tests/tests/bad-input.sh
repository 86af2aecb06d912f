# shellcheck shell=bash disable=SC2153 # BASE, VARIANT, T and QPVM come from run-tests and lib.sh
# Bad input and faults: every user entry point, given bad input, fails with
# one clear line on stderr, a non-zero exit and no TAP "ok" line; and what
# must survive a fault (a full dump dir, a capture kernel that cannot boot,
# QEMU killed, Ctrl-C) does. Most cases need no guest.

# expect_error REGEX CMD...: CMD fails (non-zero exit) with exactly one
# non-empty line on stderr, matching the extended REGEX, and no "ok" line on
# stdout. Runs with make's variables out of the environment, so that a
# "make check" around the test does not leak into the make under test.
expect_error() {
	local regex=$1 rc=0 n
	shift
	n=$((${ERR_N:-0} + 1))
	ERR_N=$n
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES "$@" \
		</dev/null >"$T/err$n.out" 2>"$T/err$n.err" || rc=$?
	[ "$rc" != 0 ] || t_fail "'$*' exited 0"
	[ "$(grep -c . "$T/err$n.err")" = 1 ] ||
		t_fail "'$*' wrote $(grep -c . "$T/err$n.err") lines to stderr, want 1: $(head -c 300 "$T/err$n.err")"
	grep -Eq -- "$regex" "$T/err$n.err" ||
		t_fail "'$*': stderr '$(cat "$T/err$n.err")' does not match /$regex/"
	! grep -q '^ok ' "$T/err$n.out" || t_fail "'$*' printed a TAP ok line"
	echo "exit $rc: $* -> $(cat "$T/err$n.err")"
}

RUN_TESTS="$QP_ROOT/kexec-tests/run-tests"

qp_test bad-input-make check patched "make with an unknown BASE, VARIANT or ACCEL: one error line, nothing run"
test_bad_input_make() {
	local target
	for target in check check-quick check-full build bench demo check-series check-variants; do
		expect_error "unknown BASE '5\.10' \(one of: all $(qp_bases)\)" make -C "$QP_ROOT" "$target" BASE=5.10
	done
	expect_error "unknown VARIANT 'both'" make -C "$QP_ROOT" check VARIANT=both
	expect_error "unknown ACCEL 'xen' \(one of: auto kvm tcg\)" make -C "$QP_ROOT" check ACCEL=xen
	expect_error "unknown BASE '7\.3 6\.1'" make -C "$QP_ROOT" check "BASE=7.3 6.1"
}

qp_test bad-input-run-tests check patched "run-tests with an unknown test, tier, option, base, variant, accel or --repeat: Bail out!"
test_bad_input_run_tests() {
	expect_error "unknown test 'no-such-test'" "$RUN_TESTS" --base "$BASE" no-such-test
	expect_error "unknown tier huge" "$RUN_TESTS" --tier huge
	expect_error "unknown option --bogus" "$RUN_TESTS" --bogus
	expect_error "--repeat needs a number of at least 1, not 'x'" "$RUN_TESTS" --repeat x boot
	expect_error "--repeat needs a number of at least 1, not '0'" "$RUN_TESTS" --repeat 0 boot
	expect_error "--tier needs a value" "$RUN_TESTS" --tier
	expect_error "unknown BASE '5\.10'" "$RUN_TESTS" --base 5.10 boot
	expect_error "unknown variant 'both'" "$RUN_TESTS" --variant both boot
	expect_error "unknown ACCEL 'xen'" "$RUN_TESTS" --accel xen boot
	grep -q '^Bail out! unknown test' "$T/err1.out" || t_fail "no 'Bail out!' line on stdout"
}

qp_test bad-input-qpvm check patched "qpvm with an unknown step, a missing kernel, a bad --smp or no QEMU: one line, exit 2"
test_bad_input_qpvm() {
	local out k
	out=$(qp_out_dir "$BASE" "$VARIANT")
	k=(--kernel "$out/bzImage" --initrd "$out/initramfs.cpio")
	expect_error "step 'bogus': unknown step" "$QPVM" "${k[@]}" panic bogus
	expect_error "step 'sleep=soon': needs seconds" "$QPVM" "${k[@]}" sleep=soon
	expect_error "step 'expect=\(': not a POSIX" "$QPVM" "${k[@]}" 'expect=('
	expect_error "cannot read /nonexistent/bzImage" "$QPVM" --kernel /nonexistent/bzImage panic
	expect_error "no --kernel given" "$QPVM" panic
	expect_error "--smp: 'two' is not a number from 1 to 64" "$QPVM" "${k[@]}" --smp two panic
	expect_error "--smp: '0' is not a number" "$QPVM" "${k[@]}" --smp 0 panic
	expect_error "--smp: '65' is not a number" "$QPVM" "${k[@]}" --smp 65 panic
	expect_error "--accel: unknown accelerator 'xen'" "$QPVM" "${k[@]}" --accel xen panic
	expect_error "unknown option or missing value: --bogus" "$QPVM" "${k[@]}" --bogus panic
	expect_error "/nonexistent/qemu not found" "$QPVM" "${k[@]}" --qemu /nonexistent/qemu panic
	expect_error "qemu-system-x86_64 not found" env PATH="$(path_without_qemu)" "$QPVM" "${k[@]}" panic
}

# path_without_qemu: a PATH with every program of this machine but QEMU.
path_without_qemu() {
	local f
	mkdir -p "$T/noqemu"
	for f in /usr/bin/* /usr/sbin/*; do
		case "${f##*/}" in qemu-system-*) continue ;; esac
		ln -sf "$f" "$T/noqemu/${f##*/}"
	done
	echo "$T/noqemu"
}

qp_test bad-input-no-qemu check patched "run-tests with no QEMU in PATH: Bail out! at setup, never a pass"
test_bad_input_no_qemu() {
	expect_error "setup: qemu-system-x86_64 not found" \
		env PATH="$(path_without_qemu)" "$RUN_TESTS" --base "$BASE" --variant patched boot
	grep -q '^Bail out! setup: qemu-system-x86_64 not found' "$T/err1.out" ||
		t_fail "no 'Bail out!' on stdout: $(head -n 3 "$T/err1.out")"
}

qp_test bad-input-series check patched "a series with a broken hunk: tree.sh names the patch that does not apply"
test_bad_input_series() {
	local copy="$T/series" victim
	rm -rf "$copy"
	cp -r "$QP_ROOT/patches/$BASE" "$copy"
	# Break the first context line of the third patch's first hunk.
	victim=$(series_file "$copy" 3)
	awk '!done && /^@@ / { print; getline; print $0 "BROKEN"; done = 1; next } { print }' \
		"$copy/$victim" >"$copy/$victim.new"
	mv "$copy/$victim.new" "$copy/$victim"
	"$QP_ROOT/scripts/tree.sh" --check "$QP_ROOT/patches/$BASE" "$BASE" ||
		t_fail "control: the real series does not apply"
	expect_error "$BASE: patch $victim does not apply cleanly to linux-source-" \
		"$QP_ROOT/scripts/tree.sh" --check "$copy" "$BASE"
	expect_error "unknown BASE '5\.10'" "$QP_ROOT/scripts/tree.sh" 5.10
}

# series_file DIR N: the Nth patch of DIR's series.
series_file() {
	grep -v '^[[:space:]]*\(#\|$\)' "$1/series" | sed -n "${2}p"
}

qp_test bad-input-version check patched "VERSIONS pins a source version this machine does not have: one line naming both"
test_bad_input_version() {
	local base pkg have
	for base in $(qp_bases); do
		pkg=$(qp_package "$base")
		have=$(qp_pinned_version "$base")
		awk -v b="$base" '$1 == b { $3 = "999:0-1" } { print }' "$QP_VERSIONS_FILE" >"$T/VERSIONS"
		if qp_source_is_private "$base"; then
			expect_error "$pkg 999:0-1 is not on this machine \(run: make deps\)" \
				env QP_VERSIONS_FILE="$T/VERSIONS" "$QP_ROOT/scripts/tree.sh" "$base"
		else
			expect_error "$pkg $have on this machine but VERSIONS pins 999:0-1" \
				env QP_VERSIONS_FILE="$T/VERSIONS" "$QP_ROOT/scripts/build.sh" "$base" patched
		fi
	done
}

# --- faults ------------------------------------------------------------------

qp_test fault-capture-kernel check patched "the capture kernel cannot boot (corrupt initrd): a lost dump with its reason, never a pass"
test_fault_capture_kernel() {
	local rc=0
	(kdump_capture kdump 2 "kt.fault=corrupt-capture-initrd ${SCEN_APPEND[sysrq-c]}" load) \
		>"$T/capture.log" 2>&1 || rc=$?
	[ "$rc" != 0 ] || t_fail "kdump_capture passed with a corrupt capture initrd"
	grep -q '^kt: fault injected: corrupt-capture-initrd' "$T/kdump.console" ||
		t_fail "the fault was not injected"
	grep -Eq '^lost dump: .*the capture kernel panicked: .+' "$T/capture.log" ||
		t_fail "no lost dump with the capture kernel's panic: $(tail -n 1 "$T/capture.log")"
	tail -n 1 "$T/capture.log"
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

qp_test fault-qemu-killed check patched "QEMU killed mid-test: qpvm says so and exits; qpvm killed: its QEMU goes too"
test_fault_qemu_killed() {
	local qpvm qemu rc=0
	guest killed 1 "panic=0" 'expect=^kt: idle$' sleep=120 &
	qpvm=$!
	qemu=$(wait_for_value "$T/killed.out" qemu_pid 60)
	[ -n "$qemu" ] || t_fail "qpvm did not start QEMU: $(tail -n 1 "$T/killed.err")"
	sleep 1
	kill -KILL "$qemu"
	wait "$qpvm" || rc=$?
	[ "$rc" != 0 ] || t_fail "qpvm exited 0 after its QEMU was killed"
	grep -q "QEMU (pid $qemu) was killed by signal 9" "$T/killed.err" ||
		t_fail "qpvm did not report the killed QEMU: $(head -n 2 "$T/killed.err")"
	gone "$qemu" || t_fail "QEMU $qemu still exists"
	echo "QEMU $qemu killed: qpvm exit $rc, '$(grep -m1 'was killed' "$T/killed.err")'"

	guest orphan 1 "panic=0" 'expect=^kt: idle$' sleep=120 &
	qemu=$(wait_for_value "$T/orphan.out" qemu_pid 60)
	[ -n "$qemu" ] || t_fail "qpvm did not start QEMU: $(tail -n 1 "$T/orphan.err")"
	qpvm=$(ps -o ppid= -p "$qemu" | xargs)
	[ "$(cat "/proc/$qpvm/comm")" = qpvm ] || t_fail "QEMU's parent $qpvm is not qpvm"
	kill -KILL "$qpvm"
	wait || true
	sleep 2
	gone "$qemu" || { kill -KILL "$qemu"; t_fail "qpvm $qpvm killed, its QEMU $qemu still runs (orphan)"; }
	echo "qpvm $qpvm killed: its QEMU $qemu went with it"
}

# interrupt_run_tests HOW: start run-tests (one boot test) in a session of
# its own, interrupt it while its guest runs (HOW: group sends SIGINT to the
# whole process group, as Ctrl-C does; pid only to run-tests), and check
# that it bails out and leaves no QEMU behind.
interrupt_run_tests() {
	local how=$1 sid qemu rc=0 i
	# As from a terminal: SIGINT at its default (a background job of this
	# shell would start with it ignored, and bash cannot trap it then).
	setsid env --default-signal=INT "$RUN_TESTS" --base "$BASE" --variant patched --accel tcg boot \
		>"$T/$how.out" 2>"$T/$how.err" &
	sid=$!
	for ((i = 0; i < 600; i++)); do
		qemu=$(pgrep -s "$sid" -f qemu-system | head -n 1) && break
		sleep 0.1
	done
	[ -n "$qemu" ] || t_fail "$how: run-tests started no QEMU: $(tail -n 2 "$T/$how.out")"
	sleep 1
	if [ "$how" = group ]; then kill -INT -- "-$sid"; else kill -INT "$sid"; fi
	wait "$sid" || rc=$?
	[ "$rc" != 0 ] || t_fail "$how: run-tests exited 0 after SIGINT"
	grep -q '^Bail out! interrupted' "$T/$how.out" ||
		t_fail "$how: no 'Bail out! interrupted': $(tail -n 2 "$T/$how.out")"
	! grep -q '^ok ' "$T/$how.out" || t_fail "$how: a test passed"
	sleep 1
	gone "$qemu" || t_fail "$how: QEMU $qemu still runs after run-tests ended"
	# Zombies do not count: they ran to their end (this container's PID 1
	# may be slow to reap what it inherits).
	[ -z "$(ps -o pid=,stat= -s "$sid" | awk '$2 !~ /^Z/')" ] ||
		t_fail "$how: processes left in the session: $(ps -o pid=,stat=,args= -s "$sid")"
	echo "SIGINT ($how) mid-guest: run-tests exit $rc, Bail out! interrupted, QEMU $qemu gone"
}

qp_test fault-sigint check patched "Ctrl-C on run-tests mid-guest: Bail out!, no QEMU left running"
test_fault_sigint() {
	interrupt_run_tests group
	interrupt_run_tests pid
}

qp_test bad-input-collector check patched "panic-collector with no dump dir, no socket, a non-QMP socket, a bad format, policy or URI, a dump dir in use: one line, non-zero"
test_bad_input_collector() {
	local listener
	[ -x "$COLLECTOR" ] || make -s -C "$(dirname "$COLLECTOR")" >/dev/null ||
		t_fail "cannot build panic-collector"
	mkdir -p "$T/dumps"
	expect_error "--dir $T/no-such-dir is not a directory" "$COLLECTOR" --dir "$T/no-such-dir" --once "$T/vm.qmp"
	expect_error "no --dir given" "$COLLECTOR" --once "$T/vm.qmp"
	expect_error "^vm: error: cannot connect to $T/vm\.qmp: No such file or directory" \
		"$COLLECTOR" --dir "$T/dumps" --connect 0 --once "$T/vm.qmp"
	expect_error "--format: unknown format 'kdump-bzip2'" "$COLLECTOR" --dir "$T/dumps" --format kdump-bzip2 "$T/vm.qmp"
	expect_error "--policy: unknown policy 'reboot' \(one of: keep pause quit restart\)" \
		"$COLLECTOR" --dir "$T/dumps" --policy reboot "$T/vm.qmp"
	expect_error "--jobs: 'many' is not a whole number from 1 to" "$COLLECTOR" --dir "$T/dumps" --jobs many "$T/vm.qmp"
	expect_error "--quiet-pct: 'nan' is not a number from 0 to 100" "$COLLECTOR" --dir "$T/dumps" --quiet-pct nan "$T/vm.qmp"
	expect_error "there is a VM named vm already" "$COLLECTOR" --dir "$T/dumps" "$T/vm.qmp" "$T/dumps/vm.qmp"
	expect_error "--domain needs --libvirt URI" "$COLLECTOR" --dir "$T/dumps" --domain web1
	expect_error "cannot connect to qemu\+unix:///system\?socket=$T/no-libvirtd\.sock" \
		"$COLLECTOR" --dir "$T/dumps" --connect 0 --once --libvirt "qemu+unix:///system?socket=$T/no-libvirtd.sock"
	# A unix socket that speaks something else, and one that says nothing.
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[2].encode()); time.sleep(30); c.close()
' "$T/ssh.sock" $'SSH-2.0-OpenSSH_9.2\r\n' &
	listener=$!
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept(); time.sleep(30); c.close()
' "$T/mute.sock" &
	listener="$listener $!"
	sleep 1
	expect_error "^ssh: error: not a QMP socket: it does not speak JSON" \
		"$COLLECTOR" --dir "$T/dumps" --once "$T/ssh.sock"
	expect_error "^mute: error: not a QMP socket: no QMP greeting within 5 s" \
		"$COLLECTOR" --dir "$T/dumps" --once "$T/mute.sock"
	# A second collector on a dump dir in use (the first waits for mute's
	# greeting): it would remove the first one's partial dumps.
	"$COLLECTOR" --dir "$T/dumps" --once "$T/mute.sock" >/dev/null 2>&1 &
	sleep 1
	expect_error "--dir $T/dumps: another panic-collector is using it" \
		"$COLLECTOR" --dir "$T/dumps" --once "$T/ssh.sock"
	wait $! || true
	# shellcheck disable=SC2086 # two PIDs
	kill $listener
	[ -z "$(ls -A "$T/dumps")" ] || t_fail "files left in the dump dir: $(ls "$T/dumps")"
}

# wait_for_line FILE REGEX SECONDS: until FILE has a line matching REGEX.
wait_for_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The dump dir (a tmpfs of the test's own) fills up during the second of
# three dumps: vm1 is dumped while there is room; then the test shrinks the
# tmpfs to what vm1 left plus half a dump, so vm2's dump runs out of space;
# then it frees vm1's dump, and vm3 panics and is dumped. The guests panic
# one after the other (kt.delay), the collector dumps one at a time.
qp_test fault-collector-disk-full check patched "the dump dir fills up mid-dump: no partial file, one error line, the next VM still dumped"
test_fault_collector_disk_full() {
	local dir="$T/dumps" name delay pids=() args=() rc=0 used size collector
	mkdir -p "$dir"
	mount -t tmpfs -o size=512m qp-dumps "$dir" || t_fail "cannot mount a tmpfs on $dir"
	# shellcheck disable=SC2064 # expand now
	trap "umount -l '$dir' 2>/dev/null" EXIT
	for name in vm1:4000 vm2:25000 vm3:45000; do
		delay=${name#*:} name=${name%:*}
		GUEST_OPTS="--vmcoreinfo --qmp-extra $T/$name.qmp" \
			guest "$name" 2 "panic=0 kt.delay=$delay ${SCEN_APPEND[sysrq-c]}" panic timeout=300 exit &
		pids+=($!)
		args+=("$name=$T/$name.qmp")
	done
	# --keep-free 0: the disk guard would refuse vm1 up front on this small
	# tmpfs; this test is about a disk that fills during a dump.
	"$COLLECTOR" --dir "$dir" --policy quit --once --jobs 1 --settle 20 --keep-free 0 "${args[@]}" \
		>"$T/collector.out" 2>"$T/collector.err" &
	collector=$!
	wait_for_line "$T/collector.out" '^vm1: dumped ' 120 ||
		t_fail "vm1 was not dumped: $(tail -n 1 "$T/collector.err")"
	used=$(df -B1 --output=used "$dir" | tail -n 1)
	size=$(sed -n 's/^vm1: dumped \([0-9]*\) bytes.*/\1/p' "$T/collector.out")
	mount -o remount,size=$((used + size / 2)) "$dir" || t_fail "cannot shrink the tmpfs"
	wait_for_line "$T/collector.err" '^vm2: error: ' 120 ||
		t_fail "vm2's dump did not fail: $(tail -n 2 "$T/collector.out")"
	rm -f "$dir"/vm1-*
	wait "$collector" || rc=$?
	for name in "${pids[@]}"; do wait "$name" || true; done
	[ "$rc" = 1 ] || t_fail "the collector exited $rc, want 1 (a dump failed)"
	[ "$(grep -c . "$T/collector.err")" = 1 ] ||
		t_fail "want one error line, got: $(cat "$T/collector.err")"
	grep -q "^vm2: error: dump failed: .*(no space left in $dir); partial dump removed" "$T/collector.err" ||
		t_fail "vm2's error does not say the disk is full: $(cat "$T/collector.err")"
	[ -z "$(find "$dir" -name '*.partial')" ] || t_fail "partial dumps left: $(ls "$dir")"
	[ -z "$(find "$dir" -name 'vm2-*')" ] || t_fail "vm2 left files: $(ls "$dir")"
	DUMPS=("$(cd "$dir" && ls vm3-*.kdump)") || t_fail "vm3 was not dumped: $(ls "$dir")"
	cp "$dir/${DUMPS[0]}" "$dir/${DUMPS[0]}.json" "$T/" && umount "$dir" && trap - EXIT
	mv "$T/${DUMPS[0]}" "$T/${DUMPS[0]}.json" "$dir/"
	cat "$T/collector.err"
	assert_collected "${DUMPS[0]}" 2 sysrq-c
}
