# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# panic-collector --libvirt: libvirt-managed guests, with a libvirtd of the
# test's own (lib/libvirt.sh). Every dump is opened by the base's reader; what a
# fleet operator relies on is checked: nothing lost across a libvirtd
# restart, one clear line for a domain that cannot be watched.

# The guests panic after kt.delay, once the collector watches them.
LV_PANIC_APPEND="panic=0 kt.delay=8000 ${SCEN_APPEND[sysrq-c]}"

# lv_collector ARGS...: panic-collector on the test's libvirtd, in the
# background; output in $T/collector.out and .err, PID in LV_COLLECTOR.
lv_collector() {
	[ -x "$COLLECTOR" ] || make -s -C "$(dirname "$COLLECTOR")" >/dev/null ||
		t_fail "cannot build panic-collector"
	mkdir -p "$T/dumps"
	"$COLLECTOR" --dir "$T/dumps" --libvirt "$(lv_uri)" --settle 20 "$@" \
		>"$T/collector.out" 2>"$T/collector.err" &
	LV_COLLECTOR=$!
}

# lv_collector_wait: its exit status (it was started with --once).
lv_collector_wait() {
	local rc=0 i
	for ((i = 0; i < 3000; i++)); do
		kill -0 "$LV_COLLECTOR" 2>/dev/null || break
		sleep 0.1
	done
	kill "$LV_COLLECTOR" 2>/dev/null && t_fail "the collector did not finish in 300 s: $(tail -n 2 "$T/collector.out")"
	wait "$LV_COLLECTOR" || rc=$?
	return "$rc"
}

# lv_assert_dumped NAME SMP: one dump of domain NAME, its metadata names the
# domain and its UUID and the console's panic line, and the reader finds
# the panic and every vCPU with registers. With on_crash=preserve QEMU
# pauses the guest at the pvpanic event, inside panic(): the panicking CPU
# is found in pvpanic_send_event(), before panic() went on.
lv_assert_dumped() {
	local name=$1 smp=$2 dump meta
	dump=$(cd "$T/dumps" && ls "$name"-*.kdump 2>/dev/null) || t_fail "no dump of $name: $(ls "$T/dumps")"
	[ "$(echo "$dump" | wc -l)" = 1 ] || t_fail "more than one dump of $name: $dump"
	meta="$T/dumps/$dump.json"
	[ "$(json_value "$meta" uuid)" = "$(cat "$T/$name.uuid")" ] ||
		t_fail "$dump: the metadata's uuid is '$(json_value "$meta" uuid)', not the domain's $(cat "$T/$name.uuid")"
	case "$(json_value "$meta" panic_line)" in
	"Kernel panic - not syncing: sysrq triggered crash"*) ;;
	*) t_fail "$dump: the metadata lacks the console's panic line: $(json_value "$meta" panic_line)" ;;
	esac
	case "$(json_value "$meta" source)" in
	libvirt:*) ;;
	*) t_fail "$dump: the source is not libvirt: $(json_value "$meta" source)" ;;
	esac
	assert_collected "$dump" "$smp" sysrq-c paused
}

qp_test collector-libvirt check patched "panic-collector --libvirt --domain: a libvirt guest's panic, dumped with libvirt and read back; quit destroys it"
test_collector_libvirt() {
	trap lv_daemon_stop EXIT
	lv_daemon_start
	lv_start_domain lv1 512 2 "$LV_PANIC_APPEND"
	lv_collector --domain lv1 --once --policy quit
	lv_collector_wait || t_fail "the collector failed: $(cat "$T/collector.err")"
	cat "$T/collector.out"
	grep -q '^lv1: panicked (libvirt: crashed, panicked)' "$T/collector.out" ||
		t_fail "no lifecycle event CRASHED/PANICKED seen"
	lv_assert_dumped lv1 2
	! lv_virsh domstate lv1 >/dev/null 2>&1 || t_fail "lv1 still exists after policy quit"
}

qp_test collector-libvirt-three check patched "three libvirt guests panic at once: every domain dumped, each dump complete"
test_collector_libvirt_three() {
	local name
	trap lv_daemon_stop EXIT
	lv_daemon_start
	for name in lv1 lv2 lv3; do
		lv_start_domain "$name" 512 2 "$LV_PANIC_APPEND"
	done
	# Every domain of the connection (no --domain): the three.
	lv_collector --once --policy quit
	lv_collector_wait || t_fail "the collector failed: $(cat "$T/collector.err")"
	for name in lv1 lv2 lv3; do
		lv_assert_dumped "$name" 2
	done
}

# The collector must lose nothing when libvirtd goes away: once while a
# domain settles after its panic (it dumps it after reconnecting), once in
# the middle of a dump (one error line, the partial file removed, dumped
# again after reconnecting).
qp_test collector-libvirt-restart check patched "libvirtd restarts after a panic and mid-dump: nothing lost, no partial dump, one line"
test_collector_libvirt_restart() {
	trap lv_daemon_stop EXIT
	lv_daemon_start
	lv_start_domain lv1 512 2 "$LV_PANIC_APPEND"
	lv_start_domain lv2 512 2 "panic=0 kt.delay=40000 ${SCEN_APPEND[sysrq-c]}"
	lv_collector --once --policy quit --jobs 1
	wait_for_line "$T/collector.out" '^lv1: panicked' 120 || t_fail "lv1 did not panic: $(cat "$T/collector.err")"
	lv_daemon_stop_libvirtd
	echo "libvirtd stopped while lv1 settles"
	sleep 3
	lv_daemon_start
	wait_for_line "$T/collector.out" '^lv2: dumping' 180 || t_fail "lv2 was not dumped: $(tail -n 3 "$T/collector.out")"
	lv_daemon_stop_libvirtd
	echo "libvirtd stopped while lv2 is dumped"
	sleep 3
	lv_daemon_start
	lv_collector_wait || t_fail "the collector failed: $(cat "$T/collector.err")"
	cat "$T/collector.out" "$T/collector.err"
	grep -q '^panic-collector: reconnected to ' "$T/collector.out" || t_fail "the collector never reconnected"
	[ "$(grep -c '^lv2: error: dump failed: .*libvirtd went away.*partial dump removed' "$T/collector.err")" = 1 ] ||
		t_fail "no single error line for the dump cut short: $(cat "$T/collector.err")"
	[ -z "$(find "$T/dumps" -name '*.partial')" ] || t_fail "partial dumps left: $(ls "$T/dumps")"
	lv_assert_dumped lv1 2
	lv_assert_dumped lv2 2
}

qp_test collector-libvirt-unwatchable check patched "a libvirt domain without a panic device: 'cannot be watched', once; named with --domain, a failure"
test_collector_libvirt_unwatchable() {
	local rc=0
	trap lv_daemon_stop EXIT
	lv_daemon_start
	lv_start_domain plain 256 1 "panic=0" no
	lv_collector --connect 5
	sleep 3
	# Lifecycle events of the domain must not repeat the notice.
	lv_virsh suspend plain >/dev/null && lv_virsh resume plain >/dev/null
	sleep 2
	kill "$LV_COLLECTOR"
	wait "$LV_COLLECTOR" || true
	[ "$(grep -c '^plain: cannot be watched: no <panic> device' "$T/collector.err")" = 1 ] ||
		t_fail "want one 'cannot be watched' line, got: $(cat "$T/collector.err")"
	cat "$T/collector.err"
	lv_collector --domain plain --once
	lv_collector_wait || rc=$?
	[ "$rc" = 1 ] || t_fail "with --domain plain --once the collector exited $rc, want 1"
	grep -q '^plain: error: cannot be watched: no <panic> device' "$T/collector.err" ||
		t_fail "no error line for the named domain: $(cat "$T/collector.err")"
	lv_collector --domain no-such-domain --once
	rc=0
	lv_collector_wait || rc=$?
	if [ "$rc" != 1 ] || [ "$(grep -c . "$T/collector.err")" != 1 ] ||
		! grep -q "^no-such-domain: error: no domain 'no-such-domain' at " "$T/collector.err"; then
		t_fail "a domain that does not exist: exit $rc, '$(cat "$T/collector.err")'"
	fi
	cat "$T/collector.err"
}
