# shellcheck shell=bash disable=SC2153 # T and COLLECTOR come from run-tests and lib.sh
# panic-collector as a fleet runs it: a daemon, no guest kernel needed. The
# guests are fake QMP monitors (python3, below) that greet, answer the
# collector's commands, panic when told and write a small synthetic dump
# with a VMCOREINFO note to the file descriptor the collector hands them;
# libvirt hosts are libvirt's in-process test:/// driver with generated
# XML. Each test takes seconds.
#
# expect_error and wait_for_line come from bad-input.sh (run-tests sources
# every tests/*.sh).

# svc_fake_qmp PATH [ARGS...]: a fake QEMU monitor listening on PATH, in
# the background (its PID in SVC_PIDS); returns once PATH exists. ARGS:
# --status S (query-status), --panic-after SEC, --action pause|poweroff,
# --loop (panics again after every cont), --ram BYTES, --dump-error DESC,
# --busy (never accepts: another client holds the monitor), --panic-on-usr1
# (panics on SIGUSR1: many guests at once).
svc_fake_qmp() {
	local path=$1 i
	shift
	[ -f "$T/fakeqmp.py" ] || svc_fake_qmp_script >"$T/fakeqmp.py"
	rm -f "$path"
	python3 "$T/fakeqmp.py" "$path" "$@" >>"$T/fakeqmp.log" 2>&1 &
	SVC_PIDS+=("$!")
	for ((i = 0; i < 50; i++)); do
		[ -S "$path" ] && return 0
		sleep 0.1
	done
	t_fail "setup: the fake QMP server for $path did not start: $(tail -n 2 "$T/fakeqmp.log")"
}

svc_fake_qmp_script() {
	cat <<-'EOF'
	import argparse, json, os, signal, socket, struct, sys, threading, time

	ap = argparse.ArgumentParser()
	ap.add_argument("path")
	ap.add_argument("--status", default="running")
	ap.add_argument("--panic-after", type=float)
	ap.add_argument("--action", default="pause")
	ap.add_argument("--loop", action="store_true")
	ap.add_argument("--ram", type=int, default=64 << 20)
	ap.add_argument("--dump-error")
	ap.add_argument("--vmcoreinfo", default="OSRELEASE=6.12.0-qp\nBUILD-ID=0123456789abcdef0123456789abcdef01234567\nPAGESIZE=4096\nCRASHTIME=1796515000\n")
	ap.add_argument("--busy", action="store_true")
	ap.add_argument("--panic-on-usr1", action="store_true")
	a = ap.parse_args()
	status = a.status
	client = None


	def note(name, desc, ntype=0):
	    n = name.encode() + b"\0"
	    pad = lambda b: b + b"\0" * (-len(b) % 4)
	    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


	# ELF, as dump-guest-memory format "elf": a PT_NOTE with a CPU's
	# NT_PRSTATUS and the guest's VMCOREINFO.
	def elf_dump():
	    notes = note("CORE", b"\0" * 336, 1) + note("VMCOREINFO", a.vmcoreinfo.encode())
	    off = 64 + 56
	    eh = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack(
	        "<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
	    ph = struct.pack("<IIQQQQQQ", 4, 0, off, 0, 0, len(notes), 0, 0)
	    return eh + ph + notes + b"\0" * 8192


	# kdump-*, as QEMU 7.2 writes it: flattened (makedumpfile -F), the disk
	# dump header at 0, the sub header at block_size pointing at the
	# VMCOREINFO note's text.
	def kdump_flat():
	    bs = 4096
	    vmci = a.vmcoreinfo.encode()
	    notes = note("VMCOREINFO", vmci)
	    off_note = 2 * bs
	    dh = b"KDUMP   " + struct.pack("<I", 6) + b"\0" * (390 + 22) + struct.pack("<II", 0, bs)
	    sh = struct.pack("<QIIQQQQQQ", 0, 1, 0, 0, 0, off_note + 24, len(vmci), off_note, len(notes))
	    out = (b"makedumpfile".ljust(16, b"\0") + struct.pack(">qq", 1, 1)).ljust(4096, b"\0")
	    for o, data in ((0, dh), (bs, sh), (off_note, notes), (3 * bs, b"\1" * 4096)):
	        out += struct.pack(">qq", o, len(data)) + data
	    return out + struct.pack(">qq", -1, -1)


	def send(c, obj):
	    c.sendall((json.dumps(obj) + "\n").encode())


	def event(c, name, data=None):
	    e = {"event": name, "timestamp": {"seconds": int(time.time()), "microseconds": 0}}
	    if data is not None:
	        e["data"] = data
	    send(c, e)


	def panic_later(c, delay):
	    def run():
	        global status
	        time.sleep(delay)
	        try:
	            if a.action == "pause":
	                status = "guest-panicked"
	            event(c, "GUEST_PANICKED", {"action": a.action})
	            if a.action == "poweroff":
	                event(c, "SHUTDOWN", {"guest": True, "reason": "guest-panic"})
	        except OSError:
	            pass
	    threading.Thread(target=run, daemon=True).start()


	def dump(c, cmd, fds):
	    args = cmd.get("arguments", {})
	    proto = args["protocol"]
	    if a.dump_error:
	        send(c, {"error": {"class": "GenericError", "desc": a.dump_error}, "id": cmd.get("id")})
	        return
	    data = elf_dump() if args.get("format", "elf") == "elf" else kdump_flat()
	    if proto.startswith("fd:"):
	        fd = fds.pop(proto[3:])
	        os.write(fd, data)
	        os.close(fd)
	    else:
	        with open(proto[5:], "wb") as f:
	            f.write(data)
	    send(c, {"return": {}, "id": cmd.get("id")})
	    event(c, "DUMP_COMPLETED", {"result": {"total": len(data), "status": "completed", "completed": len(data)}})


	def serve(c):
	    global status
	    fds, passed, buf = {}, [], b""
	    send(c, {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}})
	    while True:
	        msg, anc, _, _ = c.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
	        if not msg:
	            return
	        for level, typ, data in anc:
	            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
	                passed += list(struct.unpack("%di" % (len(data) // 4), data[:len(data) // 4 * 4]))
	        buf += msg
	        while b"\n" in buf:
	            line, buf = buf.split(b"\n", 1)
	            cmd = json.loads(line)
	            name, rid = cmd["execute"], cmd.get("id")
	            if name == "qmp_capabilities":
	                send(c, {"return": {}, "id": rid})
	                if a.panic_after is not None:
	                    panic_later(c, a.panic_after)
	            elif name == "query-status":
	                send(c, {"return": {"status": status, "singlestep": False, "running": status == "running"}, "id": rid})
	            elif name == "query-cpus-fast":
	                send(c, {"return": [{"cpu-index": 0, "thread-id": vcpu.native_id}], "id": rid})
	            elif name == "query-memory-size-summary":
	                send(c, {"return": {"base-memory": a.ram, "plugged-memory": 0}, "id": rid})
	            elif name == "getfd":
	                fds[cmd["arguments"]["fdname"]] = passed.pop(0)
	                send(c, {"return": {}, "id": rid})
	            elif name == "dump-guest-memory":
	                dump(c, cmd, fds)
	            elif name == "quit":
	                send(c, {"return": {}, "id": rid})
	                os.unlink(a.path)
	                sys.exit(0)
	            else:
	                send(c, {"return": {}, "id": rid})
	                if name == "cont" and a.loop:
	                    status = "running"
	                    panic_later(c, 0.3)


	# The "vCPU": a thread that never runs, as a guest QEMU stopped in its panic.
	vcpu = threading.Thread(target=time.sleep, args=(86400,), daemon=True)
	vcpu.start()
	if a.panic_on_usr1:
	    signal.signal(signal.SIGUSR1, lambda *_: client and panic_later(client, 0))
	s = socket.socket(socket.AF_UNIX)
	s.bind(a.path + ".tmp")
	os.rename(a.path + ".tmp", a.path)
	s.listen(4)
	if a.busy:
	    time.sleep(3600)
	while True:
	    c, _ = s.accept()
	    client = c
	    try:
	        serve(c)
	    except (OSError, ValueError):
	        pass
	    client = None
	    c.close()
	EOF
}

# svc_kill_fakes: stop every fake server of the test.
svc_kill_fakes() {
	local pid
	for pid in "${SVC_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	SVC_PIDS=()
}

# svc_setup: the collector built, a private dump dir (0700) in $T/dumps,
# fake servers stopped when the test ends.
svc_setup() {
	[ -x "$COLLECTOR" ] || make -s -C "$(dirname "$COLLECTOR")" >/dev/null ||
		t_fail "cannot build panic-collector"
	SVC_PIDS=()
	trap 'svc_kill_fakes; [ -z "${SVC_COLLECTOR:-}" ] || kill "$SVC_COLLECTOR" 2>/dev/null || true' EXIT
	rm -rf "$T/dumps"
	mkdir -m 700 "$T/dumps"
}

# svc_start ARGS...: the collector on $T/dumps in the background (PID in
# SVC_COLLECTOR), its output in $T/svc.out and $T/svc.err.
svc_start() {
	"$COLLECTOR" --dir "$T/dumps" "$@" >"$T/svc.out" 2>"$T/svc.err" &
	SVC_COLLECTOR=$!
}

# svc_wait SECONDS: the collector's exit status, once it exited (fails
# after SECONDS).
svc_wait() {
	local rc=0 i
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 "$SVC_COLLECTOR" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$SVC_COLLECTOR" 2>/dev/null &&
		t_fail "the collector still runs after $1 s: $(tail -n 2 "$T/svc.out" "$T/svc.err")"
	wait "$SVC_COLLECTOR" || rc=$?
	SVC_COLLECTOR=
	return "$rc"
}

# svc_term: SIGTERM to the collector; its exit status.
svc_term() {
	kill -TERM "$SVC_COLLECTOR"
	svc_wait 10
}

# svc_line REGEX [SECONDS] [FILE]: wait for a line of the collector's
# stdout (or FILE) matching REGEX, or fail.
svc_line() {
	local file=${3:-$T/svc.out}
	wait_for_line "$file" "$1" "${2:-10}" ||
		t_fail "no line /$1/ in ${file##*/} within ${2:-10} s: $(tail -n 3 "$T/svc.out" "$T/svc.err")"
}

# svc_count REGEX FILE: lines of FILE matching REGEX.
svc_count() {
	grep -Ec -- "$1" "$2" || true
}

qp_test collector-svc-version check patched "panic-collector --version prints the VERSION file's version and exits 0"
test_collector_svc_version() {
	local want out
	svc_setup
	want=$(cat "$QP_ROOT/tools/panic-collector/VERSION" 2>/dev/null) || t_fail "no tools/panic-collector/VERSION"
	for arg in --version -V; do
		out=$("$COLLECTOR" "$arg" 2>&1) || t_fail "$arg exited $?: $out"
		[ "$out" = "panic-collector $want" ] || t_fail "$arg printed '$out', want 'panic-collector $want'"
	done
	echo "$out"
}

qp_test collector-svc-usage check patched "a repeated --dir or --policy, a bad config file: one line naming it, exit 2"
test_collector_svc_usage() {
	svc_setup
	mkdir -m 700 "$T/other"
	expect_error "--dir given twice" timeout 20 "$COLLECTOR" --dir "$T/dumps" --dir "$T/other" "$T/vm.qmp"
	expect_error "--policy given twice" timeout 20 "$COLLECTOR" --dir "$T/dumps" -p keep --policy quit "$T/vm.qmp"
	printf 'dir = %s\npolicy = sometimes\n' "$T/dumps" >"$T/bad.conf"
	expect_error "$T/bad.conf:2: --policy: unknown policy 'sometimes'" timeout 20 "$COLLECTOR" --config "$T/bad.conf" "$T/vm.qmp"
	printf 'dir = %s\nbogus = 1\n' "$T/dumps" >"$T/bad.conf"
	expect_error "$T/bad.conf:2: unknown option 'bogus'" timeout 20 "$COLLECTOR" --config "$T/bad.conf" "$T/vm.qmp"
	printf 'dir = %s\ndir = %s\n' "$T/dumps" "$T/other" >"$T/bad.conf"
	expect_error "$T/bad.conf:2: --dir given twice" timeout 20 "$COLLECTOR" --config "$T/bad.conf" "$T/vm.qmp"
	expect_error "--config $T/no.conf: No such file or directory" timeout 20 "$COLLECTOR" --config "$T/no.conf"
	expect_error "--keep-free: '12parsecs' is not a size" timeout 20 "$COLLECTOR" --dir "$T/dumps" --keep-free 12parsecs "$T/vm.qmp"
	expect_error "--rate-limit: '3/fortnight' is not N/PERIOD" timeout 20 "$COLLECTOR" --dir "$T/dumps" --rate-limit 3/fortnight "$T/vm.qmp"
}

# A config file, SIGHUP and SIGTERM, as systemd drives the unit: reload
# keeps it running and says what changed, a bad file keeps the old
# configuration, SIGTERM exits 0 although a dump failed before.
qp_test collector-svc-signals check patched "SIGHUP re-reads --config (what changed, or the error and the old config), SIGTERM exits 0 after a failure"
test_collector_svc_signals() {
	svc_setup
	svc_fake_qmp "$T/good.qmp"
	svc_fake_qmp "$T/bad.qmp" --panic-after 0.2 --dump-error "dump: cannot write"
	printf '# the unit runs exactly this\ndir = %s\npolicy = keep\nsettle = 0\nqmp = %s\nqmp = %s\nmetrics = %s\n' \
		"$T/dumps" "$T/good.qmp" "$T/bad.qmp" "$T/c.prom" >"$T/c.conf"
	"$COLLECTOR" --config "$T/c.conf" >"$T/svc.out" 2>"$T/svc.err" &
	SVC_COLLECTOR=$!
	svc_line '^good: watching' 5
	svc_line '^bad: error: dump failed' 5 "$T/svc.err"
	sed -i 's/^policy = keep/policy = pause/' "$T/c.conf"
	kill -HUP "$SVC_COLLECTOR"
	svc_line "^panic-collector: reloaded $T/c.conf: policy keep -> pause" 5
	echo 'jobs = many' >>"$T/c.conf"
	kill -HUP "$SVC_COLLECTOR"
	svc_line "^panic-collector: error: reloading $T/c.conf: $T/c.conf:8: --jobs: 'many' is not a whole number" 5 "$T/svc.err"
	sleep 0.5
	kill -0 "$SVC_COLLECTOR" || t_fail "the collector died on SIGHUP"
	svc_term || t_fail "SIGTERM: exit $?, want 0: $(cat "$T/svc.err")"
	cat "$T/svc.out" "$T/svc.err"
	[ "$(svc_prom "$T/c.prom" panic_collector_dumps_total 'result="failed"')" = 1 ] ||
		t_fail "failed metric: $(grep failed "$T/c.prom")"
}

# --max-total: the oldest dumps go first, whichever VM they are of, each
# with its metadata; the dump just written stays.
qp_test collector-svc-retention check patched "--max-total removes the oldest dumps of any VM first, with their metadata"
test_collector_svc_retention() {
	local f
	svc_setup
	for f in old-20200101T000000Z.kdump older-20190101T000000Z.kdump; do
		head -c 9000 /dev/zero >"$T/dumps/$f"
		echo '{}' >"$T/dumps/$f.json"
		touch -d "${f:${#f}-22:4}-01-01" "$T/dumps/$f" "$T/dumps/$f.json"
	done
	echo unrelated >"$T/dumps/notes.txt"
	svc_fake_qmp "$T/a.qmp" --panic-after 0.2
	timeout 20 "$COLLECTOR" --dir "$T/dumps" --once --settle 0 --max-total 25K "$T/a.qmp" \
		>"$T/svc.out" 2>"$T/svc.err" || t_fail "the collector failed: $(cat "$T/svc.err")"
	cat "$T/svc.out"
	if [ -e "$T/dumps/older-20190101T000000Z.kdump" ] || [ -e "$T/dumps/older-20190101T000000Z.kdump.json" ]; then
		t_fail "the oldest dump was kept: $(ls "$T/dumps")"
	fi
	[ -e "$T/dumps/old-20200101T000000Z.kdump" ] || t_fail "more than needed removed: $(ls "$T/dumps")"
	ls "$T/dumps"/a-*.kdump "$T/dumps/notes.txt" >/dev/null || t_fail "the new dump or another file went: $(ls "$T/dumps")"
}

# QMP sockets by glob: one that appears later is watched, one that goes
# away and comes back is reconnected, and a guest found panicked (QEMU's
# panic action pause: status guest-panicked) is dumped on connecting: a
# panic while the collector was down is not lost.
qp_test collector-svc-qmp-discovery check patched "--qmp GLOB: sockets found later, reconnected; a guest panicked before the collector connects is dumped"
test_collector_svc_qmp_discovery() {
	local run
	svc_setup
	# Sockets in a short directory: a run's results path is too long for
	# a unix socket's name (108 bytes).
	run=$(mktemp -d /tmp/qp-qmp.XXXXXX)
	# shellcheck disable=SC2064 # expand now: run is local
	trap "rm -rf '$run'" RETURN
	svc_fake_qmp "$run/early.qmp" --status guest-panicked
	svc_fake_qmp "$run/busy.qmp" --busy
	svc_start --qmp "$run/*.qmp" --settle 0
	svc_line '^early: dumped [0-9]+ bytes' 10
	svc_fake_qmp "$run/late.qmp"
	svc_line '^late: watching' 10
	# late's QEMU goes away, and comes back panicked.
	kill "${SVC_PIDS[-1]}"
	rm -f "$run/late.qmp"
	sleep 1
	svc_fake_qmp "$run/late.qmp" --status guest-panicked
	svc_line '^late: dumped [0-9]+ bytes' 15
	# A busy monitor is said once, not at every scan of the glob.
	svc_line '^busy: error: another client' 10 "$T/svc.err"
	sleep 3
	[ "$(svc_count '^busy: ' "$T/svc.err")" = 1 ] || t_fail "busy said more than once: $(cat "$T/svc.err")"
	svc_term || t_fail "SIGTERM: exit $?, want 0"
	ls "$T/dumps"/early-*.kdump "$T/dumps"/late-*.kdump >/dev/null || t_fail "dumps missing: $(ls "$T/dumps")"
	cat "$T/svc.out"
	# A collector started again finds the same panic (its vCPUs have not
	# run since): dumped before, not again.
	svc_start --qmp "$run/early.qmp" --settle 0
	svc_line '^early: found panicked, and dumped before \(early-.*\.json\): not again' 10
	svc_term || t_fail "SIGTERM: exit $?, want 0"
	[ "$(find "$T/dumps" -name 'early-*.kdump' | wc -l)" = 1 ] || t_fail "early dumped twice: $(ls "$T/dumps")"
}

# A fixed socket that never comes up, without --once: the collector must
# not idle forever watching nothing.
qp_test collector-svc-qmp-nothing check patched "--connect 1 nosuch.qmp without --once: its error line and exit 1, not a silent idle"
test_collector_svc_qmp_nothing() {
	local rc=0
	svc_setup
	svc_start --connect 1 "$T/nosuch.qmp"
	svc_wait 8 || rc=$?
	[ "$rc" = 1 ] || t_fail "exit $rc, want 1"
	grep -q "^nosuch: error: cannot connect to $T/nosuch.qmp" "$T/svc.err" ||
		t_fail "no error line: $(cat "$T/svc.err")"
	grep -q "^panic-collector: nothing left to watch" "$T/svc.out" ||
		t_fail "no 'nothing left to watch' line: $(cat "$T/svc.out")"
	cat "$T/svc.err" "$T/svc.out"
}

qp_test collector-svc-messages check patched "a busy QMP monitor, a QEMU error, panic=shutdown: lines that say what happened and what to do"
test_collector_svc_messages() {
	svc_setup
	svc_fake_qmp "$T/busy.qmp" --busy
	expect_error "^busy: error: another client is connected to this QMP socket \(QEMU serves one client per monitor\)" \
		timeout 20 "$COLLECTOR" --dir "$T/dumps" --once "$T/busy.qmp"
	svc_fake_qmp "$T/err.qmp" --panic-after 0.2 --dump-error "dump: could not open /var/x: Permission denied"
	expect_error "^err: error: dump failed: dump: could not open /var/x: Permission denied; partial dump removed$" \
		timeout 20 "$COLLECTOR" --dir "$T/dumps" --once --settle 0 "$T/err.qmp"
	svc_fake_qmp "$T/off.qmp" --panic-after 0.2 --action poweroff
	expect_error "^off: error: the VM was shut down after its panic, before the dump: .*-action panic=none.*<on_crash>preserve</on_crash>" \
		timeout 20 "$COLLECTOR" --dir "$T/dumps" --once --settle 0 "$T/off.qmp"
	[ -z "$(ls -A "$T/dumps")" ] || t_fail "files left in the dump dir: $(ls "$T/dumps")"
}

# Under systemd (JOURNAL_STREAM names stdout's and stderr's device and
# inode) every line carries its priority: journalctl -p err shows errors.
qp_test collector-svc-journal check patched "with JOURNAL_STREAM, error lines start <3>, warnings <4>, the rest <6>; without it, plain text"
test_collector_svc_journal() {
	local rc=0 out err
	svc_setup
	chmod 755 "$T/dumps"
	: >"$T/j.out"
	: >"$T/j.err"
	out=$(stat -c %d:%i "$T/j.out")
	err=$(stat -c %d:%i "$T/j.err")
	JOURNAL_STREAM=$err timeout 20 "$COLLECTOR" --dir "$T/dumps" \
		--connect 0 --once "$T/none.qmp" >>"$T/j.out" 2>>"$T/j.err" || rc=$?
	[ "$rc" = 1 ] || t_fail "exit $rc, want 1"
	grep -q "^<3>none: error: cannot connect to " "$T/j.err" || t_fail "no <3> error line: $(cat "$T/j.err")"
	svc_fake_qmp "$T/j.qmp" --status guest-panicked
	JOURNAL_STREAM=$out timeout 20 "$COLLECTOR" --dir "$T/dumps" --settle 0 --once "$T/j.qmp" \
		>>"$T/j.out" 2>>"$T/j.err" || t_fail "the collector failed: $(cat "$T/j.err")"
	grep -q "^<4>panic-collector: warning: --dir " "$T/j.out" || t_fail "no <4> warning line: $(cat "$T/j.out")"
	grep -q "^<6>j: dumped " "$T/j.out" || t_fail "no <6> line: $(cat "$T/j.out")"
	cat "$T/j.err" "$T/j.out"
}

# svc_prom FILE NAME [LABELS]: the value of metric NAME{LABELS} in FILE,
# once FILE has # HELP and # TYPE lines for it.
svc_prom() {
	local key=$2
	[ -z "${3:-}" ] || key="$2{$3}"
	{ grep -q "^# HELP $2 " "$1" && grep -q "^# TYPE $2 " "$1"; } ||
		t_fail "${1##*/}: no # HELP/# TYPE for $2"
	KEY=$key awk '$1 == ENVIRON["KEY"] { print $2 }' "$1"
}

# A crash-looping guest (--policy restart): the rate limit refuses its
# fourth dump in an hour; retention keeps its newest two; every refusal is
# one error line, a metric and an --exec event, and never a file.
qp_test collector-svc-disk check patched "a crash-looping guest: --rate-limit refuses, --max-dumps-per-vm keeps the newest, --keep-free refuses a guest too big; metrics and --exec see it all"
test_collector_svc_disk() {
	local prom="$T/metrics/pc.prom" n
	svc_setup
	mkdir "$T/metrics" "$T/events"
	cat >"$T/hook" <<-EOF
		#!/bin/sh
		env | grep '^PANIC_COLLECTOR_' | sort >"$T/events/\$PANIC_COLLECTOR_EVENT.\$\$"
	EOF
	chmod +x "$T/hook"
	svc_fake_qmp "$T/loop.qmp" --panic-after 0.2 --loop --ram $((1 << 20))
	svc_fake_qmp "$T/huge.qmp" --panic-after 0.2 --ram $((1 << 50))
	svc_start --settle 0 --policy restart --rate-limit 3/1h --max-dumps-per-vm 2 --keep-free 1M \
		--metrics "$prom" --exec "$T/hook" "$T/loop.qmp" "$T/huge.qmp"
	svc_line '^loop: error: refused: .*rate limit' 20 "$T/svc.err"
	svc_line '^huge: error: refused: ' 5 "$T/svc.err"
	sleep 1
	svc_term || t_fail "SIGTERM: exit $?, want 0"
	cat "$T/svc.err"
	[ "$(svc_count '^loop: dumped ' "$T/svc.out")" = 3 ] || t_fail "want 3 dumps of loop: $(grep dumped "$T/svc.out")"
	[ "$(svc_count '^loop: error: ' "$T/svc.err")" = 1 ] || t_fail "want one error line for loop: $(cat "$T/svc.err")"
	n=$(find "$T/dumps" -name 'loop-*.kdump' | wc -l)
	[ "$n" = 2 ] || t_fail "--max-dumps-per-vm 2 kept $n dumps: $(ls "$T/dumps")"
	[ "$(find "$T/dumps" -name 'loop-*.kdump.json' | wc -l)" = 2 ] || t_fail "metadata not removed with its dump: $(ls "$T/dumps")"
	[ -z "$(find "$T/dumps" -name 'huge-*')" ] || t_fail "a refused dump left a file: $(ls "$T/dumps")"
	cat "$prom"
	[ "$(svc_prom "$prom" panic_collector_dumps_total 'result="dumped"')" = 3 ] || t_fail "dumped metric wrong"
	[ "$(svc_prom "$prom" panic_collector_dumps_total 'result="refused"')" = 2 ] || t_fail "refused metric wrong"
	[ "$(svc_prom "$prom" panic_collector_dumps_total 'result="failed"')" = 0 ] || t_fail "failed metric wrong"
	[ "$(svc_prom "$prom" panic_collector_watched_guests)" = 2 ] || t_fail "watched guests wrong"
	[ "$(svc_prom "$prom" panic_collector_dump_bytes_total)" -gt 0 ] || t_fail "dump bytes wrong"
	[ "$(svc_prom "$prom" panic_collector_last_dump_timestamp_seconds)" -gt 1700000000 ] || t_fail "last dump time wrong"
	[ "$(svc_prom "$prom" panic_collector_free_bytes)" -gt 0 ] || t_fail "free bytes wrong"
	svc_prom "$prom" panic_collector_unwatchable_guests >/dev/null
	[ ! -e "$prom.tmp" ] || t_fail "the metrics' temporary file is left"
	[ "$(cat "$T"/events/dumped.* | grep -c '^PANIC_COLLECTOR_EVENT=dumped')" = 3 ] || t_fail "want 3 dumped events"
	grep -q "^PANIC_COLLECTOR_DUMP=$T/dumps/loop-.*\.kdump$" "$T"/events/dumped.* || t_fail "no PANIC_COLLECTOR_DUMP"
	grep -q "^PANIC_COLLECTOR_METADATA=$T/dumps/loop-.*\.kdump\.json$" "$T"/events/dumped.* || t_fail "no PANIC_COLLECTOR_METADATA"
	[ "$(cat "$T"/events/refused.* | grep -c '^PANIC_COLLECTOR_VM=')" = 2 ] || t_fail "want 2 refused events"
	grep -q '^PANIC_COLLECTOR_REASON=.*rate limit' "$T"/events/refused.* || t_fail "no PANIC_COLLECTOR_REASON"
}

# Triage metadata from the dump's own VMCOREINFO (ELF and flattened
# kdump), the host, the collector's version and the console's last lines;
# no "\/" escapes; the dump and its metadata private (0600).
qp_test collector-svc-metadata check patched "the .json has osrelease, build_id, crashtime (VMCOREINFO, ELF and kdump), hostname, version, console tail; files 0600"
test_collector_svc_metadata() {
	local fmt meta i
	svc_setup
	for ((i = 1; i <= 60; i++)); do echo "console line $i"; done >"$T/g.console"
	for fmt in elf kdump-zlib; do
		rm -f "$T/dumps"/*
		svc_fake_qmp "$T/g.qmp" --panic-after 0.2
		timeout 20 "$COLLECTOR" --dir "$T/dumps" --once --settle 0 --format "$fmt" --console "g=$T/g.console" "$T/g.qmp" \
			>"$T/svc.out" 2>"$T/svc.err" || t_fail "$fmt: the collector failed: $(cat "$T/svc.err")"
		svc_kill_fakes
		meta=$(ls "$T/dumps"/g-*.json) || t_fail "$fmt: no metadata"
		cat "$meta"
		python3 - "$meta" "$(cat "$QP_ROOT/tools/panic-collector/VERSION")" "$(hostname)" <<-'EOF' || t_fail "$fmt: metadata wrong"
			import json, sys
			m = json.load(open(sys.argv[1]))
			want = {"osrelease": "6.12.0-qp", "build_id": "0123456789abcdef0123456789abcdef01234567",
			        "crashtime": 1796515000, "collector_version": sys.argv[2], "hostname": sys.argv[3]}
			bad = {k: m.get(k) for k in want if m.get(k) != want[k]}
			tail = m.get("console_tail") or []
			if len(tail) != 40 or tail[-1] != "console line 60":
			    bad["console_tail"] = tail[-2:]
			sys.exit(print(bad) if bad else 0)
		EOF
		! grep -qF '\/' "$meta" || t_fail "$fmt: '\\/' in the metadata"
		[ "$(stat -c %a "$meta")" = 600 ] || t_fail "$fmt: metadata mode $(stat -c %a "$meta")"
		[ "$(stat -c %a "${meta%.json}")" = 600 ] || t_fail "$fmt: dump mode $(stat -c %a "${meta%.json}")"
	done
}

# The dump dir readable by others: a warning (on stdout: stderr is for
# failures), the files private anyway.
qp_test collector-svc-perms check patched "a dump dir readable by others: one warning; dumps and metadata 0600 whatever the umask"
test_collector_svc_perms() {
	local f
	svc_setup
	chmod 755 "$T/dumps"
	svc_fake_qmp "$T/p.qmp" --panic-after 0.2
	(umask 022 && "$COLLECTOR" --dir "$T/dumps" --once --settle 0 "$T/p.qmp") >"$T/svc.out" 2>"$T/svc.err" ||
		t_fail "the collector failed: $(cat "$T/svc.err")"
	grep -q "^panic-collector: warning: --dir $T/dumps is readable by group or others" "$T/svc.out" ||
		t_fail "no warning about the dump dir's mode: $(cat "$T/svc.out")"
	for f in "$T"/dumps/*; do
		[ "$(stat -c %a "$f")" = 600 ] || t_fail "${f##*/}: mode $(stat -c %a "$f"), want 600"
	done
	[ -n "$(ls -A "$T/dumps")" ] || t_fail "nothing dumped"
}

# svc_lv_domain NAME UUID [EXTRA]: one test-driver domain with a panic
# device (EXTRA inside <domain>, e.g. a run state or metadata).
svc_lv_domain() {
	cat <<-EOF
		<domain type='test'>
		  <name>$1</name><uuid>$2</uuid>
		  <memory>65536</memory><vcpu>1</vcpu>
		  <os><type>hvm</type></os>
		  <features><acpi/><vmcoreinfo state='on'/></features>
		  <on_crash>preserve</on_crash>
		  <devices><panic model='isa'/></devices>
		  ${3:-}
		</domain>
	EOF
}

# More domains than the collector's old fixed limit (1024): every one is
# watched, each with its line; one without a panic device is reported, one
# without <vmcoreinfo/> warned about, once each.
qp_test collector-svc-libvirt-many check patched "1030 libvirt domains (test:/// driver): every one watched with its line, unwatchable and no-vmcoreinfo ones said once"
test_collector_svc_libvirt_many() {
	local i
	svc_setup
	{
		echo "<node>"
		for ((i = 1; i <= 1030; i++)); do
			svc_lv_domain "d$i" "$(printf '00000000-0000-4000-8000-%012d' "$i")"
		done
		echo "<domain type='test'><name>plain</name><memory>65536</memory><os><type>hvm</type></os></domain>"
		svc_lv_domain noinfo 00000000-0000-4000-9000-000000000001 | sed "s|<vmcoreinfo state='on'/>||"
		echo "</node>"
	} >"$T/many.xml"
	svc_start --libvirt "test://$T/many.xml" --metrics "$T/many.prom"
	svc_line '^noinfo: watching' 30
	svc_line '^d1030: watching' 5
	sleep 1
	svc_term || t_fail "SIGTERM: exit $?, want 0"
	[ "$(svc_count '^d[0-9]+: watching' "$T/svc.out")" = 1030 ] ||
		t_fail "$(svc_count '^d[0-9]+: watching' "$T/svc.out") watching lines, want 1030: $(grep -v watching "$T/svc.out" "$T/svc.err" | head -n 3)"
	[ "$(svc_count '^plain: cannot be watched: no <panic> device' "$T/svc.err")" = 1 ] ||
		t_fail "no single line for plain: $(cat "$T/svc.err")"
	[ "$(svc_count "^noinfo: warning: no <vmcoreinfo state='on'/>" "$T/svc.out")" = 1 ] ||
		t_fail "no single warning for noinfo: $(grep noinfo "$T/svc.out")"
	[ "$(svc_prom "$T/many.prom" panic_collector_watched_guests)" = 1031 ] ||
		t_fail "watched guests metric: $(grep watched "$T/many.prom")"
	[ "$(svc_prom "$T/many.prom" panic_collector_unwatchable_guests)" = 1 ] ||
		t_fail "unwatchable guests metric: $(grep unwatchable "$T/many.prom")"
	grep -v ': watching ' "$T/svc.out" "$T/svc.err"
}

# The "dumped" marker a collector leaves in a domain's live metadata is
# about one panic: a domain crashed again after a reset or restart (its
# vCPUs ran since) is dumped, not skipped as "dumped before".
qp_test collector-svc-libvirt-marker check patched "a libvirt domain crashed again after a reset: an old 'dumped' marker does not stop its dump"
test_collector_svc_libvirt_marker() {
	local meta="<metadata><qp:dump xmlns:qp='https://github.com/quiet-panic/panic-collector' file='old-20260101T000000Z.kdump' domid='1' vcpu_ns='1'/></metadata>"
	svc_setup
	{
		echo "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
		svc_lv_domain again 00000000-0000-4000-8000-000000000001 "$meta <test:runstate>6</test:runstate>"
		echo "</node>"
	} >"$T/marker.xml"
	svc_start --libvirt "test://$T/marker.xml" --settle 0 --format elf --once
	svc_wait 15 || true
	cat "$T/svc.out" "$T/svc.err"
	! grep -q 'dumped before' "$T/svc.out" || t_fail "an old panic's marker stopped the dump"
	grep -q '^again: panicked (found crashed)' "$T/svc.out" || t_fail "the crashed domain was not taken for a panic"
}

# svc_lvctl_start ARGS...: svc_start with kexec-tests/lvctl.c preloaded
# (built into $T): the test drives the collector's own test:/// domains
# through svc_lvctl, as virsh would drive libvirtd's.
svc_lvctl_start() {
	# shellcheck disable=SC2046 # pkg-config's flags are words
	cc -Wall -shared -fPIC -o "$T/lvctl.so" "$QP_ROOT/kexec-tests/lvctl.c" \
		$(pkg-config --cflags --libs libvirt) -ldl -pthread ||
		t_fail "cannot build lvctl.so (libvirt-dev?)"
	rm -f "$T/lvctl.fifo" "$T/lvctl.log"
	mkfifo "$T/lvctl.fifo"
	: >"$T/lvctl.log"
	LD_PRELOAD=$T/lvctl.so LVCTL_FIFO=$T/lvctl.fifo LVCTL_LOG=$T/lvctl.log svc_start "$@"
}

# svc_lvctl CMD...: run lvctl commands (one an argument: "undefine d1"),
# in order; returns once each one's result is in, fails on an error.
svc_lvctl() {
	local n i
	n=$(($(wc -l <"$T/lvctl.log") + $#))
	# (The FIFO blocks its writer until the collector has it open.)
	printf '%s\n' "$@" | timeout 10 tee "$T/lvctl.fifo" >/dev/null ||
		t_fail "lvctl: the collector does not read $T/lvctl.fifo: $(tail -n 2 "$T/svc.err")"
	for ((i = 0; i < 300; i++)); do
		[ "$(wc -l <"$T/lvctl.log")" -ge "$n" ] && break
		sleep 0.1
	done
	[ "$(wc -l <"$T/lvctl.log")" -ge "$n" ] || t_fail "lvctl: no answer to '$*' within 30 s"
	! grep -q '^error ' "$T/lvctl.log" || t_fail "lvctl: $(grep '^error ' "$T/lvctl.log" | head -n 1)"
}

# A host that churns domains: each one that goes for good (undefined, a
# transient one stopped, one gone while libvirtd was away) is forgotten
# with one line, so the collector does not grow; one undefined while it
# runs stays watched until it stops. Through lvctl: the test:/// driver
# lives in the collector's process, where no virsh reaches it.
qp_test collector-svc-libvirt-forget check patched "libvirt domains undefined, transient ones stopped, ones gone while libvirtd was away: forgotten, one line each; 200 churned leave the watched count as it was"
test_collector_svc_libvirt_forget() {
	local i create=() remove=()
	svc_setup
	uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
	{
		echo "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
		svc_lv_domain off "$(uuid 1)" "<test:runstate>5</test:runstate>"
		svc_lv_domain busy "$(uuid 2)"
		svc_lv_domain keep "$(uuid 3)"
		svc_lv_domain crash "$(uuid 6)" "<test:runstate>6</test:runstate>"
		echo "<domain type='test'><name>plain</name><memory>65536</memory><os><type>hvm</type></os><test:runstate>5</test:runstate></domain>"
		echo "</node>"
	} >"$T/f.xml"
	svc_lv_domain new "$(uuid 4)" >"$T/new.xml"
	for ((i = 1; i <= 100; i++)); do
		svc_lv_domain "t$i" "$(uuid $((1000 + i)))" >"$T/t$i.xml"
		svc_lv_domain "p$i" "$(uuid $((2000 + i)))" "<test:runstate>5</test:runstate>" >"$T/p$i.xml"
		create+=("create $T/t$i.xml" "define $T/p$i.xml")
		remove+=("destroy t$i" "undefine p$i")
	done
	LVCTL_DUMP_DELAY_MS=2000 svc_lvctl_start --libvirt "test://$T/f.xml" --metrics "$T/f.prom" --settle 0
	svc_line '^keep: watching' 10
	svc_line '^plain: cannot be watched' 5 "$T/svc.err"
	# Gone mid-dump (crashed when found, its dump held 2 s): the dump ends
	# first (it fails: the test driver has no memory-only dumps), then the
	# domain is forgotten.
	svc_line '^crash: dumping ' 5
	svc_lvctl "undefine crash" "destroy crash"
	sleep 0.5
	! grep -q '^crash: .*forgotten' "$T/svc.out" || t_fail "crash forgotten while its dump ran"
	svc_line '^crash: error: dump failed: ' 5 "$T/svc.err"
	svc_line '^crash: stopped, and gone \(a transient domain\): forgotten$' 5
	svc_lvctl "undefine off"
	svc_line '^off: undefined: forgotten$' 5
	# Undefined while it runs: transient now, still watched, until it stops.
	svc_lvctl "undefine busy" "undefine plain" "define $T/new.xml"
	svc_line '^new: watching' 5
	sleep 0.5
	! grep -q '^busy: .*forgotten' "$T/svc.out" || t_fail "busy forgotten while it still runs"
	svc_lvctl "destroy busy"
	svc_line '^busy: stopped, and gone \(a transient domain\): forgotten$' 5
	# 100 transient and 100 persistent domains come, are watched, and go.
	# (In batches: one gone before libvirt's event for its start is
	# handled was never seen.)
	svc_lvctl "${create[@]}"
	svc_line '^p100: watching' 20
	sleep 1
	[ "$(svc_prom "$T/f.prom" panic_collector_watched_guests)" = 202 ] ||
		t_fail "$(svc_prom "$T/f.prom" panic_collector_watched_guests) watched, want 202"
	svc_lvctl "${remove[@]}"
	svc_line '^p100: undefined: forgotten$' 20
	sleep 1
	[ "$(svc_prom "$T/f.prom" panic_collector_watched_guests)" = 2 ] ||
		t_fail "after the churn: $(svc_prom "$T/f.prom" panic_collector_watched_guests) watched, want 2 (keep, new)"
	[ "$(svc_prom "$T/f.prom" panic_collector_unwatchable_guests)" = 0 ] ||
		t_fail "the undefined unwatchable domain still counted"
	[ "$(svc_count '^t[0-9]+: stopped, and gone \(a transient domain\): forgotten$' "$T/svc.out")" = 100 ] ||
		t_fail "$(svc_count '^t[0-9]+: .*forgotten' "$T/svc.out") transient domains forgotten, want 100"
	[ "$(svc_count '^p[0-9]+: undefined: forgotten$' "$T/svc.out")" = 100 ] ||
		t_fail "$(svc_count '^p[0-9]+: .*forgotten' "$T/svc.out") undefined domains forgotten, want 100"
	# Gone while libvirtd was away: the reconnection's listing tells. The
	# test driver reads its file again: only "late" is left.
	{
		echo "<node>"
		svc_lv_domain late "$(uuid 5)"
		echo "</node>"
	} >"$T/f.xml"
	svc_lvctl close
	svc_line '^late: watching' 10
	svc_line "^keep: gone from libvirt's domain list: forgotten$" 5
	svc_line "^new: gone from libvirt's domain list: forgotten$" 5
	sleep 1
	[ "$(svc_prom "$T/f.prom" panic_collector_watched_guests)" = 1 ] ||
		t_fail "after the reconnection: $(svc_prom "$T/f.prom" panic_collector_watched_guests) watched, want 1 (late)"
	svc_term || t_fail "SIGTERM: exit $?, want 0"
	[ "$(svc_count 'forgotten$' "$T/svc.out")" = 205 ] ||
		t_fail "$(svc_count 'forgotten$' "$T/svc.out") forgotten lines, want 205 (one each)"
	[ "$(grep -Evc '^(plain: cannot be watched|crash: error: dump failed)' "$T/svc.err")" = 0 ] ||
		t_fail "unexpected errors: $(cat "$T/svc.err")"
	[ -z "$(ls -A "$T/dumps")" ] || t_fail "files left in the dump dir: $(ls "$T/dumps")"
	grep -v '^[tp][0-9]*: ' "$T/svc.out"
}

# ---- at fleet scale ----------------------------------------------------
# panic-collector at fleet scale, no guest kernel: many fake QEMU monitors
# (collector-service.sh's svc_fake_qmp_script) panicking at once, many
# libvirt test:/// domains. These tests assert behaviour only (everything
# watched, everything dumped, once); kexec-tests/bench-collector measures
# the same set-ups (time, CPU, memory) for docs/results.md.

# svc_fleet_qmp DIR N [ARGS...]: N fake QEMU monitors DIR/g1.qmp ..
# DIR/gN.qmp that panic on SIGUSR1, started at once; returns when every
# socket exists. Their PIDs are appended to SVC_PIDS (svc_kill_fakes).
svc_fleet_qmp() {
	local dir=$1 n=$2 i j
	shift 2
	[ -f "$dir/fakeqmp.py" ] || svc_fake_qmp_script >"$dir/fakeqmp.py"
	for ((i = 1; i <= n; i++)); do
		rm -f "$dir/g$i.qmp"
		python3 "$dir/fakeqmp.py" "$dir/g$i.qmp" --panic-on-usr1 "$@" >>"$dir/fakeqmp.log" 2>&1 &
		SVC_PIDS+=("$!")
	done
	for ((j = 0; j < 600; j++)); do
		[ "$(find "$dir" -maxdepth 1 -name 'g*.qmp' -type s | wc -l)" -ge "$n" ] && return 0
		sleep 0.1
	done
	t_fail "setup: $(find "$dir" -maxdepth 1 -name 'g*.qmp' -type s | wc -l) of $n fake QMP servers started in 60 s: $(tail -n 2 "$dir/fakeqmp.log")"
}

# svc_fleet_panic: SIGUSR1 to every fake of svc_fleet_qmp: all panic now.
svc_fleet_panic() {
	kill -USR1 "${SVC_PIDS[@]}"
}

# svc_fleet_libvirt N: a test:/// driver file with N domains d1 .. dN,
# each with a panic device, ACPI and vmcoreinfo, running.
svc_fleet_libvirt() {
	local i
	echo "<node>"
	for ((i = 1; i <= $1; i++)); do
		svc_lv_domain "d$i" "$(printf '00000000-0000-4000-8000-%012d' "$i")"
	done
	echo "</node>"
}

# 50 QEMU guests found by one --qmp glob panic in the same instant: every
# one is dumped, once, with its metadata, whatever the order the dump slots
# (--jobs) take them in. (1030 libvirt domains: collector-svc-libvirt-many.)
qp_test collector-svc-qmp-fifty check patched "50 QMP guests (fake, one --qmp glob) panic at once: all 50 watched, all 50 dumped once with their .json, metrics say 50"
test_collector_svc_qmp_fifty() {
	local run n
	svc_setup
	# A short directory: unix socket names are at most 107 bytes.
	run=$(mktemp -d /tmp/qp-fifty.XXXXXX)
	# shellcheck disable=SC2064 # expand now: run is local
	trap "rm -rf '$run'" RETURN
	svc_fleet_qmp "$run" 50
	svc_start --qmp "$run/g*.qmp" --metrics "$T/fifty.prom"
	for ((n = 0; n < 300; n++)); do
		[ "$(svc_count '^g[0-9]+: watching' "$T/svc.out")" -ge 50 ] && break
		sleep 0.1
	done
	[ "$(svc_count '^g[0-9]+: watching' "$T/svc.out")" = 50 ] ||
		t_fail "$(svc_count '^g[0-9]+: watching' "$T/svc.out") of 50 watched in 30 s: $(tail -n 3 "$T/svc.err")"
	svc_fleet_panic
	for ((n = 0; n < 600; n++)); do
		[ "$(svc_count '^g[0-9]+: dumped ' "$T/svc.out")" -ge 50 ] && break
		sleep 0.1
	done
	sleep 1
	svc_term || t_fail "SIGTERM: exit $?, want 0: $(cat "$T/svc.err")"
	[ "$(svc_count '^g[0-9]+: dumped ' "$T/svc.out")" = 50 ] ||
		t_fail "$(svc_count '^g[0-9]+: dumped ' "$T/svc.out") of 50 dumped in 60 s: $(tail -n 3 "$T/svc.err")"
	[ "$(svc_count '^g[0-9]+: panicked ' "$T/svc.out")" = 50 ] || t_fail "not 50 panics seen"
	for ((n = 1; n <= 50; n++)); do
		[ "$(find "$T/dumps" -name "g$n-*.kdump" | wc -l)" = 1 ] ||
			t_fail "g$n: $(find "$T/dumps" -name "g$n-*.kdump" | wc -l) dumps, want 1"
		[ -s "$(find "$T/dumps" -name "g$n-*.kdump.json")" ] || t_fail "g$n: no metadata"
	done
	[ -z "$(find "$T/dumps" -name '*.partial')" ] || t_fail "partial dumps left"
	[ "$(svc_prom "$T/fifty.prom" panic_collector_dumps_total 'result="dumped"')" = 50 ] ||
		t_fail "dumped metric: $(grep 'result="dumped"' "$T/fifty.prom")"
	[ ! -s "$T/svc.err" ] || t_fail "errors: $(head -n 3 "$T/svc.err")"
	grep -v '^g[0-9]*: ' "$T/svc.out" || true
	echo "50 watched, 50 panicked, 50 dumped"
}
