# shellcheck shell=bash disable=SC2153 # T and COLLECTOR come from run-tests and lib/
# panic-collector as a fleet runs it: a daemon, no guest kernel needed. The
# guests are fake QMP monitors (python3, lib/collector-svc.sh) that greet, answer the
# collector's commands, panic when told and write a small synthetic dump
# with a VMCOREINFO note to the file descriptor the collector hands them;
# libvirt hosts are libvirt's in-process test:/// driver with generated
# XML. Each test takes seconds.

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
	local fmt meta i key tail
	local -A want=([osrelease]='"6.12.0-qp"' [build_id]='"0123456789abcdef0123456789abcdef01234567"'
		[crashtime]=1796515000 [collector_version]="\"$(cat "$QP_ROOT/tools/panic-collector/VERSION")\""
		[hostname]="\"$(hostname)\"")
	tail=$(seq 21 60 | jq -R '"console line " + .' | jq -sc .)
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
		for key in "${!want[@]}"; do
			json_is "$meta" "$key" "${want[$key]}" ||
				t_fail "$fmt: metadata $key is $(jq -c --arg k "$key" '.[$k]' "$meta"), want ${want[$key]}"
		done
		json_is "$meta" console_tail "$tail" ||
			t_fail "$fmt: metadata console_tail is not the console's last 40 lines: $(jq -c '.console_tail | [type, length, .[-1]?]' "$meta")"
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
# the same set-ups (time, CPU, memory) for docs/results/collector-scale.md.

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
