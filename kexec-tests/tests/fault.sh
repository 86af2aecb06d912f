# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# Faults: what must survive one does (a capture kernel that cannot boot,
# QEMU or qpvm killed, Ctrl-C on run-tests, a test over its time limit, a
# dump dir that fills up mid-dump): a clear failure or "Bail out!" that
# names the cause, nothing left running, never a pass.

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

# interrupt_run_tests HOW: start run-tests (one test whose guest runs for
# half a minute; a boot test can end within the second) in a session of
# its own, interrupt it while its guest runs (HOW: group sends SIGINT to the
# whole process group, as Ctrl-C does; pid only to run-tests), and check
# that it bails out and leaves no QEMU behind.
interrupt_run_tests() {
	local how=$1 sid qemu rc=0 i
	# As from a terminal: SIGINT at its default (a background job of this
	# shell would start with it ignored, and bash cannot trap it then).
	setsid env --default-signal=INT "$RUN_TESTS" --base "$BASE" --variant patched --accel tcg cpu-sysrq-c \
		>"$T/$how.out" 2>"$T/$how.err" &
	sid=$!
	for ((i = 0; i < 600; i++)); do
		qemu=$(pgrep -s "$sid" -f qemu-system | head -n 1) && break
		sleep 0.1
	done
	[ -n "$qemu" ] || t_fail "$how: run-tests started no QEMU: $(tail -n 2 "$T/$how.out")"
	sleep 1
	# kill(1), not bash's: for a job of its own, bash's kill signals the
	# process group it recorded when it started the job, this test's own
	# (job control is off here), not the session setsid made.
	if [ "$how" = group ]; then env kill -INT -- "-$sid"; else kill -INT "$sid"; fi ||
		t_fail "$how: run-tests ended before the SIGINT: $(tail -n 1 "$T/$how.out")"
	wait_child "$sid" 300 || rc=$?
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

qp_test fault-timeout check patched "a test over its time limit: killed with its guest, not ok # TIMEOUT, the run goes on"
test_fault_timeout() {
	local sid rc=0 start
	start=$SECONDS
	setsid "$RUN_TESTS" --base "$BASE" --variant patched --accel tcg --timeout 5 cpu-sysrq-c collector-svc-version \
		>"$T/run.out" 2>"$T/run.err" &
	sid=$!
	wait_child "$sid" 300 || rc=$?
	[ "$rc" = 1 ] || t_fail "run-tests exited $rc, want 1 (a test failed): $(tail -n 2 "$T/run.out")"
	grep -Eq '^not ok 1 - .* cpu-sysrq-c: .* # TIMEOUT 5 seconds$' "$T/run.out" ||
		t_fail "no '# TIMEOUT' line for cpu-sysrq-c: $(grep -m1 'ok 1 ' "$T/run.out")"
	[ -s "$(sed -n 's/^# results in //p' "$T/run.out")/$BASE-patched/cpu-sysrq-c.1/cpu.console" ] ||
		t_fail "cpu-sysrq-c's guest had not started when the time limit struck"
	grep -Eq '^ok 2 - .* collector-svc-version: ' "$T/run.out" || t_fail "the run did not go on after the timeout"
	grep -qx '1 passed, 1 failed, 0 skipped' "$T/run.out" ||
		t_fail "wrong totals: $(tail -n 1 "$T/run.out")"
	[ -z "$(ps -o pid=,stat= -s "$sid" | awk '$2 !~ /^Z/')" ] ||
		t_fail "processes left in the session: $(ps -o pid=,stat=,args= -s "$sid")"
	echo "run-tests --timeout 5: $(grep -m1 '^not ok 1' "$T/run.out" | sed 's/.* # /# /'), then the next test ran; $((SECONDS - start)) s in all"
}
