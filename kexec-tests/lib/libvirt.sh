# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# A libvirtd of the test's own, for the collector's libvirt tests and the
# libvirt benchmark: Debian's libvirtd and virtlogd, run in a private mount
# namespace where /run/libvirt, /var/lib/libvirt, /var/log/libvirt,
# /var/cache/libvirt and /etc/libvirt are directories below $LV_DIR, with
# their pid files there too (not the default /run/libvirtd.pid). A libvirtd
# the machine already runs is not disturbed, and nothing of the machine's
# libvirt configuration (networks, domains) is seen. Started and stopped by
# PID.

LV_DIRS="run lib log cache etc"
LV_DIR=${LV_DIR:-}

# lv_uri: the URI of the test's libvirtd (its socket below $LV_DIR).
lv_uri() {
	echo "qemu:///system?socket=$LV_DIR/run/libvirt-sock"
}

lv_virsh() {
	virsh -q -c "$(lv_uri)" "$@"
}

# lv_config: what the daemons read. QEMU runs as root (the kernels live in
# root's cache), with no security driver or cgroup controllers (neither
# exists in every container) and console logs written straight to files.
lv_config() {
	cat >"$LV_DIR/etc/libvirtd.conf" <<-EOF
		unix_sock_group = "root"
		unix_sock_rw_perms = "0700"
		auth_unix_rw = "none"
		log_outputs = "3:file:$LV_DIR/log/libvirtd.log"
	EOF
	cat >"$LV_DIR/etc/qemu.conf" <<-EOF
		user = "root"
		group = "root"
		dynamic_ownership = 0
		security_driver = "none"
		cgroup_controllers = [ ]
		stdio_handler = "file"
	EOF
	cat >"$LV_DIR/etc/virtlogd.conf" <<-EOF
		log_outputs = "3:file:$LV_DIR/log/virtlogd.log"
	EOF
}

# lv_daemon_start: start (or, with LV_DIR already set up, restart) the
# test's libvirtd and virtlogd; their PIDs in $LV_DIR/libvirtd.pid and
# virtlogd.pid. LV_DIR is short, below /tmp (a unix socket's path has at
# most 107 bytes), and $T/libvirt points to it.
lv_daemon_start() {
	local d i
	if [ -z "$LV_DIR" ]; then
		LV_DIR=$(mktemp -d /tmp/qp-lv.XXXXXX)
		ln -sfn "$LV_DIR" "$T/libvirt"
	fi
	for d in $LV_DIRS; do mkdir -p "$LV_DIR/$d"; done
	[ -f "$LV_DIR/etc/qemu.conf" ] || lv_config
	rm -f "$LV_DIR/run/libvirt-sock"
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare -m --propagation private sh -c '
		for d in run lib log cache; do
			mkdir -p "/var/$d/libvirt" && mount --bind "$0/$d" "/var/$d/libvirt" || exit 1
		done
		mount --bind "$0/run" /run/libvirt && mount --bind "$0/etc" /etc/libvirt || exit 1
		[ -f "$0/virtlogd.pid" ] && kill -0 "$(cat "$0/virtlogd.pid")" 2>/dev/null ||
			{ virtlogd -f /etc/libvirt/virtlogd.conf -p /run/libvirt/virtlogd.pid &
			  echo $! >"$0/virtlogd.pid"; }
		echo $$ >"$0/libvirtd.pid"
		exec libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid' "$LV_DIR" \
		>>"$LV_DIR/daemons.out" 2>&1 &
	for ((i = 0; i < 600; i++)); do
		[ -S "$LV_DIR/run/libvirt-sock" ] && lv_virsh version >/dev/null 2>&1 && return 0
		kill -0 "$!" 2>/dev/null || break
		sleep 0.1
	done
	t_fail "setup: the test's libvirtd did not start: $(tail -n 2 "$LV_DIR/daemons.out" "$LV_DIR/log/libvirtd.log" 2>/dev/null | tr '\n' ' ')"
}

# lv_daemon_stop_libvirtd: stop only libvirtd (its domains keep running).
lv_daemon_stop_libvirtd() {
	local pid i
	pid=$(cat "$LV_DIR/libvirtd.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$LV_DIR/libvirtd.pid"
}

# lv_daemon_stop: destroy every domain, stop libvirtd and virtlogd, and
# make sure no QEMU of theirs is left (their pid files).
lv_daemon_stop() {
	local dom pidfile pid
	[ -n "$LV_DIR" ] && [ -d "$LV_DIR" ] || return 0
	[ -z "${LV_COLLECTOR:-}" ] || kill "$LV_COLLECTOR" 2>/dev/null || true
	if [ -f "$LV_DIR/libvirtd.pid" ]; then
		for dom in $(lv_virsh list --name 2>/dev/null); do
			lv_virsh destroy "$dom" >/dev/null 2>&1 || true
		done
	fi
	lv_daemon_stop_libvirtd
	for pidfile in "$LV_DIR"/run/qemu/*.pid; do
		[ -f "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		kill -KILL "$pid" 2>/dev/null || true
	done
	pid=$(cat "$LV_DIR/virtlogd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	rm -f "$LV_DIR/virtlogd.pid"
	# Keep the daemons' logs with the test's results.
	rm -f "$T/libvirt"
	cp -r "$LV_DIR/log" "$T/libvirt-log" 2>/dev/null
	rm -rf "$LV_DIR"
}

# lv_domain_xml NAME MEM_MB SMP APPEND [PANIC]: a domain of this test's
# kernel on the run's accelerator (QP_ACCEL, QP_CPU), its serial console in
# $T/NAME.console; PANIC (default yes) adds
# the ISA pvpanic device with ACPI and on_crash=preserve, "no" leaves both
# out (the fleet's common case). VMCOREINFO for makedumpfile and crash.
lv_domain_xml() {
	local name=$1 mem=$2 smp=$3 append=$4 panic=${5:-yes} out type=qemu
	local cpu="<cpu mode='custom' match='exact'><model fallback='allow'>$QP_CPU</model></cpu>"
	out=$(qp_out_dir "$BASE" "$VARIANT")
	[ "$QP_ACCEL" != kvm ] || type=kvm
	[ "$QP_CPU" != host ] || cpu="<cpu mode='host-passthrough'/>"
	cat <<-EOF
		<domain type='$type'>
		  <name>$name</name>
		  <memory unit='MiB'>$mem</memory>
		  <vcpu>$smp</vcpu>
		  <os>
		    <type arch='x86_64' machine='pc'>hvm</type>
		    <kernel>$out/bzImage</kernel>
		    <initrd>$out/initramfs.cpio</initrd>
		    <cmdline>console=ttyS0,115200 $append</cmdline>
		  </os>
		  <features>
		    $([ "$panic" = yes ] && echo "<acpi/>")
		    <vmcoreinfo state='on'/>
		  </features>
		  $cpu
		  $([ "$panic" = yes ] && echo "<on_crash>preserve</on_crash>")
		  <devices>
		    <emulator>$(command -v qemu-system-x86_64)</emulator>
		    <serial type='file'>
		      <source path='$T/$name.console'/>
		      <target port='0'/>
		    </serial>
		    $([ "$panic" = yes ] && echo "<panic model='isa'/>")
		    <controller type='usb' model='none'/>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	EOF
}

# lv_start_domain NAME MEM_MB SMP APPEND [PANIC]: define and start it
# (a transient domain: it is gone once destroyed).
lv_start_domain() {
	lv_domain_xml "$@" >"$T/$1.xml"
	: >"$T/$1.console"
	lv_virsh create "$T/$1.xml" >/dev/null 2>"$T/$1.virsh.err" ||
		t_fail "setup: cannot start domain $1: $(tail -n 1 "$T/$1.virsh.err")"
	lv_virsh domuuid "$1" >"$T/$1.uuid"
}

# lv_qemu_pid NAME: the PID of domain NAME's QEMU.
lv_qemu_pid() {
	cat "$LV_DIR/run/qemu/$1.pid" 2>/dev/null
}
