# shellcheck shell=bash disable=SC2153 # T and COLLECTOR come from run-tests and lib.sh
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
