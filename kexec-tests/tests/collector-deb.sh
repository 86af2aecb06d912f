# shellcheck shell=bash disable=SC2153 # T and COLLECTOR come from run-tests and lib/
# panic-collector as Debian ships it: the package "make deb" builds
# (tools/panic-collector/debian), installed into a chroot; its systemd
# unit, hardened and run by its own command line; its man page, kept
# in step with --help. No guest and no kernel: each test takes seconds
# (the first deb-install builds a chroot once, cached in $QP_CACHE).

DEB_SRC="$QP_ROOT/tools/panic-collector"
DEB_UNIT="$DEB_SRC/panic-collector.service"
DEB_CONF="$DEB_SRC/panic-collector.conf"
DEB_MAN="$DEB_SRC/panic-collector.8"

# deb_build: "make deb" into $T/deb, outside the tree; DEB is the .deb.
deb_build() {
	local out
	qp_need_cmd dpkg-buildpackage dh dpkg-parsechangelog
	# -o deps: the test installs nothing; a missing tool is a failure.
	out=$(make -s -C "$QP_ROOT" -o deps deb DEB_DIR="$T/deb" 2>&1) ||
		t_fail "make deb failed: $(echo "$out" | tail -n 15)"
	DEB=$(echo "$out" | tail -n 1)
	[ -f "$DEB" ] || t_fail "make deb printed no .deb path: $out"
	case "$DEB" in "$T/deb/"*) ;; *) t_fail "make deb wrote $DEB, not into DEB_DIR=$T/deb" ;; esac
}

# deb_version: DEB_VERSION, the collector's version
# (tools/panic-collector/VERSION), which debian/changelog must repeat.
deb_version() {
	local changelog
	[ -s "$DEB_SRC/VERSION" ] || t_fail "no tools/panic-collector/VERSION"
	DEB_VERSION=$(tr -d '[:space:]' <"$DEB_SRC/VERSION")
	changelog=$(dpkg-parsechangelog -l "$DEB_SRC/debian/changelog" -S Version)
	[ "$DEB_VERSION" = "$changelog" ] ||
		t_fail "debian/changelog says $changelog, tools/panic-collector/VERSION $DEB_VERSION"
}

qp_test collector-deb check patched "make deb builds the panic-collector package out of the tree: its files, the version of VERSION, lintian clean"
test_collector_deb() {
	local before after f
	qp_need_cmd lintian dpkg-deb
	deb_version
	before=$(git -C "$QP_ROOT" status --porcelain --ignored -- tools/panic-collector)
	deb_build
	after=$(git -C "$QP_ROOT" status --porcelain --ignored -- tools/panic-collector)
	[ "$before" = "$after" ] || t_fail "make deb left files in the tree: $(diff <(echo "$before") <(echo "$after"))"
	[ "$(dpkg-deb -f "$DEB" Package)" = panic-collector ] || t_fail "$DEB is not package panic-collector"
	[ "$(dpkg-deb -f "$DEB" Version)" = "$DEB_VERSION" ] ||
		t_fail "the package's version is $(dpkg-deb -f "$DEB" Version), VERSION says $DEB_VERSION"
	dpkg-deb -c "$DEB" | awk '{ print $1, $2, $NF }' >"$T/contents"
	for f in "-rwxr-xr-x root/root ./usr/sbin/panic-collector" \
		"-rw-r--r-- root/root ./lib/systemd/system/panic-collector.service" \
		"-rw-r--r-- root/root ./usr/lib/tmpfiles.d/panic-collector.conf" \
		"-rw-r--r-- root/root ./etc/panic-collector.conf" \
		"-rw-r--r-- root/root ./usr/share/man/man8/panic-collector.8.gz"; do
		grep -qxF -- "$f" "$T/contents" || t_fail "the package lacks '$f': $(cat "$T/contents")"
	done
	dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles >"$T/conffiles"
	grep -qx /etc/panic-collector.conf "$T/conffiles" ||
		t_fail "/etc/panic-collector.conf is not a conffile: $(cat "$T/conffiles")"
	dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./lib/systemd/system/panic-collector.service |
		cmp -s - "$DEB_UNIT" || t_fail "the packaged unit differs from $DEB_UNIT"
	# Errors and warnings fail; an override must say why (in the file).
	lintian --fail-on error,warning --info "$DEB" >"$T/lintian.out" 2>&1 ||
		t_fail "lintian: $(grep -v 'root privileges' "$T/lintian.out")"
	cat "$T/lintian.out"
	echo "$(basename "$DEB"): $(wc -l <"$T/contents") entries, lintian: no errors or warnings"
}

# deb_chroot KIND [PACKAGE...]: DEB_CHROOT, a chroot of the host's suite
# with the package's dependencies (Depends: of $DEB) and PACKAGEs, made
# once with mmdebstrap and kept in $QP_CACHE/deb-chroot/SUITE-KIND-KEY, KEY
# a hash of the package names.
deb_chroot() {
	local kind=$1 suite deps key dir
	shift
	qp_need_cmd mmdebstrap flock unshare
	# shellcheck disable=SC1091 # the host's os-release
	suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$suite" ] || t_fail "setup: no VERSION_CODENAME in /etc/os-release"
	deps=$({
		dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/[[:space:]]//g'
		printf '%s\n' "$@"
	} | grep . | sort -u | tr '\n' ' ')
	key=$(echo "$suite essential $deps" | sha256sum | cut -c1-12)
	dir="$QP_CACHE/deb-chroot/$suite-$kind-$key"
	mkdir -p "$QP_CACHE/deb-chroot"
	(
		flock 8
		[ -f "$dir/qp-ready" ] && exit 0
		# Another package list made the older chroots of this kind useless.
		rm -rf "$QP_CACHE/deb-chroot/$suite-$kind"-*
		echo "making the $suite chroot for the package: $deps" >&2
		mmdebstrap --quiet --variant=essential --include="$(echo "$deps" | xargs | tr ' ' ,)" \
			"$suite" "$dir.tmp" </dev/null >"$T/mmdebstrap.log" 2>&1 ||
			t_fail "setup: mmdebstrap $suite failed: $(tail -n 5 "$T/mmdebstrap.log")"
		echo "$deps" >"$dir.tmp/qp-ready"
		mv "$dir.tmp" "$dir"
	) 8>"$QP_CACHE/deb-chroot/lock" || exit 1
	DEB_CHROOT=$dir
}

# deb_in_chroot LOWER UPPER DEB: in a mount namespace of its own, the
# chroot LOWER under an overlay (changes go to UPPER, the cached chroot
# stays as it is): install DEB, run the collector, make the dump
# directory as systemd-tmpfiles would at boot, purge the package.
deb_in_chroot() {
	local lower=$1 upper=$2 deb=$3 root="$2.root" left f
	set -e
	mkdir -p "$upper/data" "$upper/work" "$root"
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper/data,workdir=$upper/work" "$root"
	mount -t proc proc "$root/proc"
	cp "$deb" "$root/tmp/panic-collector.deb"
	export PATH=/usr/sbin:/usr/bin:/sbin:/bin
	chroot "$root" dpkg -i /tmp/panic-collector.deb
	echo "version: $(chroot "$root" /usr/sbin/panic-collector --version)"
	# shellcheck disable=SC2016 # a dpkg-query format, not a variable
	echo "conffiles: $(chroot "$root" dpkg-query -W -f '${Conffiles}' panic-collector | xargs)"
	echo "files: $(chroot "$root" dpkg -L panic-collector | grep -c .)"
	systemd-tmpfiles --root="$root" --create panic-collector.conf
	echo "dump dir: $(stat -c '%a %U:%G' "$root/var/crash/guests")"
	chroot "$root" dpkg --purge panic-collector
	left=0
	for f in /usr/sbin/panic-collector /etc/panic-collector.conf /lib/systemd/system/panic-collector.service; do
		[ ! -e "$root$f" ] || left=$((left + 1))
	done
	echo "after purge: $left"
}

qp_test collector-deb-install check patched "the .deb installs into a clean chroot of the host's suite, panic-collector --version runs from it; tmpfiles makes the dump dir 0700; purge removes it"
test_collector_deb_install() {
	qp_need_cmd systemd-tmpfiles
	deb_version
	deb_build
	deb_chroot plain
	rm -rf "$T/overlay" "$T/overlay.root"
	unshare -m bash -c "$(declare -f deb_in_chroot); deb_in_chroot \"\$@\"" - \
		"$DEB_CHROOT" "$T/overlay" "$DEB" >"$T/chroot.out" 2>&1 ||
		t_fail "in the chroot: $(tail -n 8 "$T/chroot.out")"
	rm -rf "$T/overlay" "$T/overlay.root"
	cat "$T/chroot.out"
	grep -qx "version: panic-collector $DEB_VERSION" "$T/chroot.out" ||
		t_fail "panic-collector --version in the chroot: want 'panic-collector $DEB_VERSION', got: $(grep '^version' "$T/chroot.out")"
	grep -q '^conffiles: /etc/panic-collector.conf [0-9a-f]\{32\}' "$T/chroot.out" ||
		t_fail "dpkg does not hold /etc/panic-collector.conf as a conffile"
	grep -qx 'dump dir: 700 root:root' "$T/chroot.out" ||
		t_fail "the tmpfiles entry does not make /var/crash/guests 0700 root:root: $(grep '^dump dir' "$T/chroot.out")"
	grep -qx 'after purge: 0' "$T/chroot.out" || t_fail "dpkg --purge left the binary or the conffile behind"
}

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

# unit_command KEY: the unit's KEY= command line, as words.
unit_command() {
	sed -n "s/^$1=//p" "$DEB_UNIT" | tail -n 1
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

# The package under a real systemd: a container (systemd-nspawn --boot,
# its root the cached chroot under a throwaway overlay) where the unit runs
# with its whole sandbox. CT_PID is the container's init.
ct_boot() {
	local i nspawn state
	qp_need_cmd systemd-nspawn nsenter
	deb_chroot systemd systemd systemd-sysv dbus python3
	mkdir -p "$T/mnt"
	cp "$DEB" "$T/mnt/panic-collector.deb"
	systemd-nspawn -q -D "$DEB_CHROOT" --volatile=overlay --register=no --keep-unit --boot \
		--machine="qp-deb-$$" --bind-ro="$T/mnt:/mnt/t" </dev/null >"$T/nspawn.log" 2>&1 &
	nspawn=$!
	CT_NSPAWN=$nspawn
	for ((i = 0; i < 100; i++)); do
		CT_PID=$(pgrep -P "$nspawn" | head -n 1) || true
		[ -z "$CT_PID" ] || [ "$(cat "/proc/$CT_PID/comm" 2>/dev/null)" != systemd ] || break
		CT_PID=
		sleep 0.1
	done
	[ -n "$CT_PID" ] || t_fail "setup: the container did not start: $(tail -n 5 "$T/nspawn.log")"
	# Its bus comes up a moment after init starts; then wait for the boot.
	for ((i = 0; i < 300; i++)); do
		state=$(in_ct timeout 60 systemctl is-system-running --wait 2>&1) || true
		case "$state" in running | degraded) return 0 ;; esac
		sleep 0.2
	done
	t_fail "setup: the container's systemd did not come up ($state): $(tail -n 5 "$T/nspawn.log")"
}

in_ct() {
	nsenter -t "$CT_PID" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= "$@"
}

# ct_halt: stop the container (it halts on SIGTERM), killing it if it
# does not within 20 s.
ct_halt() {
	local i
	[ -n "${CT_NSPAWN:-}" ] || return 0
	kill "$CT_NSPAWN" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$CT_NSPAWN" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$CT_NSPAWN" 2>/dev/null || true
}

# ct_unit PROPERTY: the collector unit's property, in the container.
ct_unit() {
	in_ct systemctl show -P "$1" panic-collector.service
}

# ct_journal [ARGS...]: the collector's own lines in the container's
# journal (not systemd's about its unit).
ct_journal() {
	in_ct journalctl -q _SYSTEMD_UNIT=panic-collector.service SYSLOG_IDENTIFIER=panic-collector -o cat --no-pager "$@"
}

# ct_wait_line PATTERN SEC [ARGS...]: wait for a line of the unit's
# journal (journalctl ARGS) that matches the extended regex PATTERN.
ct_wait_line() {
	local pattern=$1 sec=$2 i
	shift 2
	for ((i = 0; i < sec * 5; i++)); do
		ct_journal "$@" | grep -Eq "$pattern" && return 0
		sleep 0.2
	done
	return 1
}

qp_test collector-unit-systemd check patched "the package under systemd (nspawn): installed disabled, not started; coexists with virtqemud; runs sandboxed, dumps a QMP guest 0600, errors at err priority, reload, stop exits 0"
test_collector_unit_systemd() {
	local out mode
	qp_need_cmd python3
	declare -F svc_fake_qmp_script >/dev/null || t_fail "setup: svc_fake_qmp_script (lib/collector-svc.sh) is missing"
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

# help_options: "SHORT LONG" for each option of --help's OPTIONS section
# ("-" when an option has no short form).
help_options() {
	"$COLLECTOR" --help | awk '
		/^[A-Z][A-Z ]*$/ { in_opts = ($0 == "OPTIONS"); next }
		# An option line (a long-only option is indented to line up with
		# the others long ones), not a description running on (deeper).
		in_opts && match($0, /^ */) && RLENGTH <= 10 &&
		match($0, /^ +(-[A-Za-z0-9], )?--[a-z][a-z0-9-]*/) {
			s = substr($0, RSTART, RLENGTH); gsub(/ /, "", s)
			n = split(s, p, ",")
			if (n == 2) print substr(p[1], 2), substr(p[2], 3); else print "-", substr(p[1], 3)
		}' | sort
}

# man_options: the same from the man page's OPTIONS section (.TP tags).
man_options() {
	awk '
		/^\.SH / { in_opts = ($0 ~ /^\.SH "?OPTIONS"?$/); next }
		in_opts && /^\.TP/ { tag = 1; next }
		in_opts && tag { print; tag = 0 }' "$DEB_MAN" |
		while read -r line; do
			long=$(grep -oE '\\-\\-[a-z0-9]+(\\-[a-z0-9]+)*' <<<"$line" | head -n 1 | sed 's/\\-/-/g; s/^--//')
			short=$(sed -E 's/\\-\\-[a-z0-9]+(\\-[a-z0-9]+)*//g' <<<"$line" | grep -oE '\\-[A-Za-z0-9]' | head -n 1 | sed 's/^\\-//')
			echo "${short:--} $long"
		done | sort
}

qp_test collector-man check patched "panic-collector.8 documents exactly the options of --help (short and long), renders without warnings; the config's keys are options"
test_collector_man() {
	local key out
	qp_need_cmd groff man
	[ -x "$COLLECTOR" ] || make -s -C "$DEB_SRC" >/dev/null || t_fail "cannot build panic-collector"
	out=$(groff -man -ww -z "$DEB_MAN" 2>&1) || t_fail "groff: $out"
	[ -z "$out" ] || t_fail "groff -ww warns: $out"
	out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$DEB_MAN" 2>&1 >/dev/null) || t_fail "man: $out"
	[ -z "$out" ] || t_fail "man --warnings warns: $out"
	help_options >"$T/help.opts"
	man_options >"$T/man.opts"
	[ -s "$T/help.opts" ] || t_fail "no options found in the OPTIONS section of --help"
	[ -s "$T/man.opts" ] || t_fail "no options found in the OPTIONS section of the man page"
	cmp -s "$T/help.opts" "$T/man.opts" ||
		t_fail "--help and panic-collector.8 differ (\"SHORT LONG\", - for none); only in --help:" \
			"$(comm -23 "$T/help.opts" "$T/man.opts" | paste -sd ,); only in the man page:" \
			"$(comm -13 "$T/help.opts" "$T/man.opts" | paste -sd ,)"
	echo "$(wc -l <"$T/man.opts") options, the same in --help and panic-collector.8"
	# Every option the packaged config names, set or commented out.
	while read -r key; do
		awk -v k="$key" '$2 == k { f = 1 } END { exit !f }' "$T/help.opts" ||
			t_fail "panic-collector.conf names '$key', which is no option of --help"
	done < <(sed -nE 's/^#?([a-z][a-z0-9-]*) = .*/\1/p' "$DEB_CONF" | sort -u)
}
