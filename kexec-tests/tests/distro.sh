# shellcheck shell=bash
# The distribution's kdump flow: a Debian 13 guest booted from its disk,
# systemd as PID 1, kdump-tools loading the capture kernel at boot and
# saving the dump in the capture boot (lib/distro.sh). Each kdump test is
# one whole cycle: boot, panic, capture boot, dump saved, reboot into a
# working system; then the host reads the dump kdump-tools wrote.

qp_test distro-boot check both "Debian 13 guest (systemd, kdump-tools) boots to multi-user.target, every unit started, kdump-tools ready"
test_distro_boot() {
	distro_disk
	distro_guest boot 2 kt.poweroff=1 'expect=qp-distro: system ' 'expect=qp-distro: powering off' exit ||
		{ distro_assert_ready boot; t_fail "the guest did not power off: $(qpvm_reason "$T/boot.err")"; }
	distro_assert_ready boot
	echo "system running $(nth_expect_ms boot 1) ms after QEMU started (first boot: kdump-tools built its initrd);" \
		"$(distro_crashkernel); kdump-config: $(distro_report boot "kdump-config status:" | grep '^current state' | xargs)"
	echo "packages: $(distro_versions)"
	rm -f "$T/disk.img"
}

qp_test distro-kdump-sysrq-c check both "Debian 13 guest, sysrq-c: kdump-tools saves the dump and reboots; the dump has every vCPU" \
	distro_kdump_scenario sysrq-c 2
qp_test distro-kdump-nmi-panic-all check both "Debian 13 guest, NMI panic on every CPU: kdump-tools saves the dump and reboots; the dump has every vCPU" \
	distro_kdump_scenario nmi-panic-all 4
qp_test distro-kdump-force-cpu check both "Debian 13 guest, panic_force_cpu=1, panic on CPU 0: kdump-tools saves the dump; CPU 1 panicked; patched has both CPUs' registers" \
	distro_kdump_scenario force-cpu 2 assert_force_cpu_dump 2 0

# distro_kdump_scenario NAME SMP [ASSERT...]: the distribution's kdump
# cycle of scenario NAME (distro_kdump), then the dump as a support
# engineer reads it: kdump-tools' dmesg file has the panic, and the
# vmcore, rebuilt from kdump-tools' flattened dump with makedumpfile -R,
# has what the scenario's dump must: ASSERT (default assert_scenario_dump
# NAME SMP), as the harness's own kdump test of the scenario asserts.
distro_kdump_scenario() {
	local name=$1 smp=$2 cycle ms bytes dir assert
	shift 2
	assert=("$@")
	[ ${#assert[@]} -gt 0 ] || assert=(assert_scenario_dump "$name" "$smp")
	scenario_usable "$name" "$smp"
	cycle=$(distro_kdump kdump "$smp" "${SCEN_APPEND[$name]}") || t_fail "$cycle"
	read -r ms bytes dir <<<"$cycle"
	grep -qF "$(scen_log "$name")" "$T/dmesg.txt" ||
		t_fail "kdump-tools' $dir/dmesg.* lacks '$(scen_log "$name")'"
	echo "kdump-tools saved $dir/dump.* ($bytes bytes, makedumpfile -c -d $(dump_level)) $ms ms after the trigger," \
		"rebooted to multi-user with kdump ready; its dmesg file has the panic"
	vmcore_from_disk
	read_vmcore
	"${assert[@]}"
}

qp_test distro-cpu-sysrq-c check both "Debian 13 guest, USE_KDUMP=0, sysrq-c: host CPU after the panic with systemd's services running up to it (patched <= idle bound)" \
	distro_cpu_scenario sysrq-c 2

# distro_cpu_scenario NAME SMP: host CPU after scenario NAME's panic in
# the distribution guest with kdump-tools switched off (USE_KDUMP=0),
# against the same bounds as the harness's own guests.
distro_cpu_scenario() {
	local name=$1 smp=$2 used
	scenario_usable "$name" "$smp"
	used=$(distro_cpu_after_panic cpu "$smp" "${SCEN_APPEND[$name]}") || t_fail "$used"
	grep -q 'qp-distro: kdump-config status: current state *: Not ready to kdump' "$T/cpu.console" ||
		t_fail "kdump-tools loaded with USE_KDUMP=0: $(distro_report cpu "kdump-config status:" | xargs)"
	assert_cpu_after_panic cpu "$smp" "$used"
	rm -f "$T/disk.img"
}

qp_test distro-no-crashkernel check patched "Debian 13 guest booted without crashkernel=: the kdump test fails naming kdump-tools' reason, never a pass"
test_distro_no_crashkernel() {
	local out rc=0
	out=$(DISTRO_CRASHKERNEL='' distro_kdump kdump 2 "${SCEN_APPEND[sysrq-c]}") || rc=$?
	[ "$rc" != 0 ] || t_fail "distro_kdump passed without crashkernel="
	grep -q "^kdump-tools is not ready: .*no crashkernel=" <<<"$out" ||
		t_fail "the failure does not name kdump-tools' reason: $out"
	grep -q 'qp-distro: kdump is not ready: not firing' "$T/kdump.console" ||
		t_fail "the guest fired the trigger without kdump"
	echo "failed as it must: $out"
}
