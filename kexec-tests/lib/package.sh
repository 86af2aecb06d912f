# shellcheck shell=bash disable=SC2153 # T comes from run-tests
# panic-collector as Debian ships it: the package "make deb" builds, a
# chroot of the host's suite to install it into, a systemd-nspawn container
# that boots systemd around it, and the options its --help and man page
# list.

DEB_SRC="$QP_ROOT/tools/panic-collector"

DEB_UNIT="$DEB_SRC/panic-collector.service"

# shellcheck disable=SC2034 # used by tests/collector-unit.sh
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
		flock -w 900 8 || { echo "the chroot lock is still held after 900 s" >&2; exit 1; }
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

# unit_command KEY: the unit's KEY= command line, as words.
unit_command() {
	sed -n "s/^$1=//p" "$DEB_UNIT" | tail -n 1
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
