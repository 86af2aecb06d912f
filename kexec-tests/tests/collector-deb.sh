# shellcheck shell=bash disable=SC2153 # T and COLLECTOR come from run-tests and lib/
# panic-collector as Debian ships it: the package "make deb" builds
# (tools/panic-collector/debian), installed into a chroot, and its man
# page, kept in step with --help (the unit: collector-unit.sh). No guest
# and no kernel: each test takes seconds (the first deb-install builds a
# chroot once, cached in $QP_CACHE).

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
