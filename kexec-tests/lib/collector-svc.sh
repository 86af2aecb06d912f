# shellcheck shell=bash disable=SC2153 # T comes from run-tests
# panic-collector as a service, without guests: fake QMP servers, a
# collector started and stopped as systemd would, its metrics, and fleets
# of fake QMP guests and libvirt test:/// domains (the service tests and
# bench-collector).

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

# svc_prom FILE NAME [LABELS]: the value of metric NAME{LABELS} in FILE,
# once FILE has # HELP and # TYPE lines for it.
svc_prom() {
	local key=$2
	[ -z "${3:-}" ] || key="$2{$3}"
	{ grep -q "^# HELP $2 " "$1" && grep -q "^# TYPE $2 " "$1"; } ||
		t_fail "${1##*/}: no # HELP/# TYPE for $2"
	KEY=$key awk '$1 == ENVIRON["KEY"] { print $2 }' "$1"
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
