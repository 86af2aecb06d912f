# shellcheck shell=bash disable=SC2153 # T and COLLECTOR come from run-tests and lib/
# panic-collector's systemd unit as Debian ships it: hardened (verify,
# systemd-analyze security), run by its own ExecStart and ExecReload, and
# under systemd in a container (lib/package.sh). No guest and no kernel.

qp_test collector-unit-hardening check patched "the collector's unit: verify clean, systemd-analyze security at most 3.0 with every exposure justified, works with libvirtd and virtqemud"
test_collector_unit_hardening() {
	local unit="$T/panic-collector.service" score item name
	qp_need_cmd systemd-analyze
	[ -x "$COLLECTOR" ] || make -s -C "$DEB_SRC" >/dev/null || t_fail "cannot build panic-collector"
	# verify wants ExecStart's binary and the Documentation= page to exist:
	# the binary built here, the man page of the tree.
	grep -qx 'ExecStart=/usr/sbin/panic-collector --config /etc/panic-collector.conf' "$DEB_UNIT" ||
		t_fail "the unit's ExecStart= is not the packaged binary with /etc/panic-collector.conf: $(grep '^ExecStart=' "$DEB_UNIT")"
	sed "s|^ExecStart=/usr/sbin/panic-collector |ExecStart=$COLLECTOR |" "$DEB_UNIT" >"$unit"
	mkdir -p "$T/man/man8"
	cp "$DEB_MAN" "$T/man/man8/"
	MANPATH="$T/man" systemd-analyze verify "$unit" >"$T/verify.out" 2>&1 ||
		t_fail "systemd-analyze verify: $(cat "$T/verify.out")"
	[ ! -s "$T/verify.out" ] || t_fail "systemd-analyze verify warns: $(cat "$T/verify.out")"
	systemd-analyze security --offline=true "$DEB_UNIT" >"$T/security.out" 2>&1 ||
		t_fail "systemd-analyze security: $(tail -n 3 "$T/security.out")"
	score=$(sed -n 's/.*Overall exposure level for panic-collector.service: \([0-9.]*\) .*/\1/p' "$T/security.out")
	[ -n "$score" ] || t_fail "no overall exposure level in: $(tail -n 3 "$T/security.out")"
	grep '✗' "$T/security.out" || true
	echo "systemd-analyze security: $score (at most 3.0 wanted)"
	awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || t_fail "exposure $score is above 3.0"
	# Each exposure left is justified in the unit's list of them: a comment
	# line "# - SETTING=...: why".
	while read -r item; do
		name=${item%%=*}
		grep -q "^# - $name=" "$DEB_UNIT" || t_fail "exposure '$item' is not justified in the unit (no '# - $name=' line)"
	done < <(sed -n 's/^✗ \([A-Za-z]*=[^ ]*\).*/\1/p' "$T/security.out")
	# libvirtd and the modular virtqemud (which conflicts with libvirtd):
	# ordered after either, pulling in neither; a missing dump dir does
	# not fail the unit; guest memory stays private.
	grep -Eq '^(Wants|Requires|Requisite|BindsTo|PartOf|Upholds)=.*(libvirt|virtqemud)' "$DEB_UNIT" &&
		t_fail "the unit pulls in a libvirt daemon: $(grep -E '^(Wants|Requires|Requisite|BindsTo|PartOf|Upholds)=' "$DEB_UNIT")"
	for name in libvirtd.service virtqemud.service; do
		grep -Eq "^After=(.* )?$name( |$)" "$DEB_UNIT" || t_fail "the unit is not ordered after $name"
	done
	grep -qx 'ReadWritePaths=-/var/crash/guests' "$DEB_UNIT" || t_fail "no ReadWritePaths=-/var/crash/guests"
	grep -qx 'UMask=0077' "$DEB_UNIT" || t_fail "no UMask=0077"
	# shellcheck disable=SC2016 # $MAINPID is systemd's, literally
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$DEB_UNIT" || t_fail "no ExecReload= sending SIGHUP"
	grep -q '^d /var/crash/guests 0700 root root' "$DEB_SRC/panic-collector.tmpfiles" ||
		t_fail "the tmpfiles entry does not make /var/crash/guests 0700 root"
}

qp_test collector-unit-execstart check patched "the unit's own ExecStart (daemon, the packaged config, policy keep) runs; ExecReload re-reads the config; SIGTERM exits 0"
test_collector_unit_execstart() {
	local words=() cmd=() i pid rc=0 reload out_lines err_lines
	[ -x "$COLLECTOR" ] || make -s -C "$DEB_SRC" >/dev/null || t_fail "cannot build panic-collector"
	# The packaged config: its settings are the old unit's command line.
	[ "$(grep -Ev '^[[:space:]]*(#|$)' "$DEB_CONF" | sed 's/[[:space:]]*=[[:space:]]*/=/' | sort | xargs)" = \
		"dir=/var/crash/guests libvirt=qemu:///system policy=keep" ] ||
		t_fail "panic-collector.conf sets more or less than libvirt, dir and policy: $(grep -Ev '^[[:space:]]*(#|$)' "$DEB_CONF")"
	# The test's: another directory, libvirt's in-process test driver.
	mkdir -p "$T/dumps"
	sed -e "s|^dir = .*|dir = $T/dumps|" -e "s|^libvirt = .*|libvirt = test:///default|" \
		"$DEB_CONF" >"$T/panic-collector.conf"
	read -ra words <<<"$(unit_command ExecStart)"
	[ "${words[0]}" = /usr/sbin/panic-collector ] || t_fail "ExecStart= runs ${words[0]}"
	cmd=("$COLLECTOR")
	for ((i = 1; i < ${#words[@]}; i++)); do
		case "${words[i]}" in
		/etc/panic-collector.conf) cmd+=("$T/panic-collector.conf") ;;
		*'$'* | *'%'*) t_fail "ExecStart= has a variable or specifier this test does not expand: ${words[i]}" ;;
		*) cmd+=("${words[i]}") ;;
		esac
	done
	echo "ExecStart as run: ${cmd[*]}"
	# As systemd runs it: UMask=0077, stdin /dev/null.
	(umask 0077 && exec "${cmd[@]}" </dev/null >"$T/collector.out" 2>"$T/collector.err") &
	pid=$!
	sleep 3
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" || rc=$?
		t_fail "the collector exited ($rc) instead of watching: $(tail -n 3 "$T/collector.err")"
	}
	# ExecReload=, $MAINPID expanded.
	read -ra words <<<"$(unit_command ExecReload)"
	# shellcheck disable=SC2016 # $MAINPID is systemd's, literally
	[ "${words[*]}" = '/bin/kill -HUP $MAINPID' ] || t_fail "ExecReload= is '${words[*]}'"
	out_lines=$(wc -l <"$T/collector.out")
	err_lines=$(wc -l <"$T/collector.err")
	/bin/kill -HUP "$pid" || t_fail "ExecReload failed"
	for ((i = 0; i < 50; i++)); do
		reload=$({
			tail -n +$((out_lines + 1)) "$T/collector.out"
			tail -n +$((err_lines + 1)) "$T/collector.err"
		} | grep -i 'reload' | grep -v 'error' | head -n 1)
		[ -z "$reload" ] || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null || t_fail "SIGHUP ended the collector: $(tail -n 3 "$T/collector.err")"
	[ -n "$reload" ] || t_fail "no line saying the configuration was reloaded after SIGHUP: $(cat "$T/collector.out" "$T/collector.err")"
	echo "after SIGHUP: $reload"
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; t_fail "still running 10 s after SIGTERM"; }
	wait "$pid" || rc=$?
	cat "$T/collector.out" "$T/collector.err"
	[ "$rc" = 0 ] || t_fail "exit status $rc after SIGTERM, want 0 (systemctl stop would leave the unit failed)"
}

qp_test collector-unit-systemd check patched "the package under systemd (nspawn): installed disabled, not started; coexists with virtqemud; runs sandboxed, dumps a QMP guest 0600, errors at err priority, reload, stop exits 0"
test_collector_unit_systemd() {
	local out mode
	qp_need_cmd python3
	deb_build
	trap ct_halt EXIT
	ct_boot
	in_ct dpkg -i /mnt/t/panic-collector.deb >"$T/dpkg.out" 2>&1 || t_fail "dpkg -i: $(tail -n 5 "$T/dpkg.out")"
	# Installed disabled and not started: the default configuration needs a
	# libvirt daemon a host may not have.
	[ "$(ct_unit UnitFileState)" = disabled ] || t_fail "the unit is $(ct_unit UnitFileState) after installation, want disabled"
	[ "$(ct_unit ActiveState)" = inactive ] || t_fail "the unit is $(ct_unit ActiveState) after installation, want inactive"
	[ "$(stat -c %a "/proc/$CT_PID/root/var/crash/guests")" = 700 ] ||
		t_fail "postinst did not make /var/crash/guests 0700: $(stat -c %a "/proc/$CT_PID/root/var/crash/guests")"
	echo "installed: disabled, inactive; /var/crash/guests 0700"

	# A host with the modular daemons: stand-ins for virtqemud, which
	# conflicts with libvirtd, as Debian's units do. Starting the collector
	# must leave virtqemud running and libvirtd stopped.
	printf '[Unit]\nConflicts=libvirtd.service\n[Service]\nExecStart=/bin/sleep infinity\n' \
		>"/proc/$CT_PID/root/etc/systemd/system/virtqemud.service"
	printf '[Unit]\nConflicts=virtqemud.service\n[Service]\nExecStart=/bin/sleep infinity\n' \
		>"/proc/$CT_PID/root/etc/systemd/system/libvirtd.service"
	in_ct systemctl daemon-reload
	in_ct systemctl start virtqemud.service || t_fail "setup: the virtqemud stand-in does not start"

	# The packaged configuration, libvirt's in-process test driver instead
	# of qemu:///system (its domain has no panic device: an error line).
	sed -i 's|^libvirt = .*|libvirt = test:///default|' "/proc/$CT_PID/root/etc/panic-collector.conf"
	in_ct systemctl start panic-collector.service || t_fail "systemctl start failed: $(ct_journal | tail -n 5)"
	sleep 2
	[ "$(ct_unit ActiveState)" = active ] || t_fail "the unit is $(ct_unit ActiveState) after start: $(ct_journal | tail -n 5)"
	[ "$(in_ct systemctl is-active virtqemud.service)" = active ] || t_fail "starting the collector stopped virtqemud"
	[ "$(in_ct systemctl is-active libvirtd.service)" = inactive ] || t_fail "starting the collector started libvirtd"
	echo "with virtqemud running: the collector active, virtqemud still active, libvirtd not started"
	ct_wait_line . 10 -p err || t_fail "no line at err priority (journalctl -p err): $(ct_journal | tail -n 5)"
	echo "journalctl -p err: $(ct_journal -p err | head -n 1)"
	# Reload: SIGHUP, the configuration read again, still running.
	out=$(ct_journal | wc -l)
	in_ct systemctl reload panic-collector.service ||
		t_fail "systemctl reload failed: $(in_ct journalctl -q -u panic-collector.service -o cat -n 5 --no-pager)"
	sleep 1
	[ "$(ct_unit ActiveState)" = active ] || t_fail "the unit is $(ct_unit ActiveState) after reload: $(ct_journal | tail -n 5)"
	[ "$(ct_journal | wc -l)" -gt "$out" ] || t_fail "no line logged on reload"
	echo "reload: $(ct_journal | tail -n 1)"
	in_ct systemctl stop panic-collector.service
	if [ "$(ct_unit Result)" != success ] || [ "$(ct_unit ExecMainStatus)" != 0 ]; then
		t_fail "systemctl stop: result $(ct_unit Result), exit status $(ct_unit ExecMainStatus), want success and 0"
	fi
	echo "stop: result success, exit status 0"

	# QMP through the sandbox: a fake QEMU (another unit) on /run/qemu;
	# the collector connects, reads its thread's schedstat, hands it the
	# dump file's descriptor; the dump lands 0600 in the 0700 directory.
	svc_fake_qmp_script >"$T/mnt/fakeqmp.py"
	in_ct mkdir -p /run/qemu
	in_ct systemd-run -q --unit=fake-qemu python3 /mnt/t/fakeqmp.py /run/qemu/vm1.qmp --panic-after 3 ||
		t_fail "setup: the fake QEMU does not start"
	sed -i -e 's|^libvirt = .*|qmp = /run/qemu/*.qmp|' -e '$a settle = 5' "/proc/$CT_PID/root/etc/panic-collector.conf"
	in_ct systemctl start panic-collector.service || t_fail "systemctl start (QMP) failed: $(ct_journal | tail -n 5)"
	ct_wait_line '^vm1: dumped' 60 || ct_wait_line '^vm1: .*(dump|error)' 1 ||
		t_fail "vm1 was not dumped: $(ct_journal | tail -n 8)"
	ct_journal | grep '^vm1:' || true
	out=$(in_ct sh -c 'cd /var/crash/guests && stat -c "%a %n" . vm1-*')
	echo "$out"
	mode=$(echo "$out" | awk '$2 == "." { print $1 }')
	[ "$mode" = 700 ] || t_fail "the dump directory is $mode, want 700"
	echo "$out" | grep -q ' vm1-.*\.kdump$' || t_fail "no dump of vm1 in /var/crash/guests: $out"
	echo "$out" | grep -q ' vm1-.*\.json$' || t_fail "no metadata of vm1 in /var/crash/guests: $out"
	echo "$out" | awk '$2 != "." && $1 != 600 { exit 1 }' || t_fail "a dump or its metadata is not 0600: $out"
	in_ct systemctl stop panic-collector.service
	[ "$(ct_unit Result)" = success ] || t_fail "systemctl stop (QMP): result $(ct_unit Result)"
}
