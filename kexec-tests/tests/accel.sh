# shellcheck shell=bash disable=SC2153 # BASE and T come from run-tests
# ACCEL: KVM when asked for must really be there (setup fails with one
# Bail out! line otherwise, never a pass); auto falls back to TCG and says
# why. The test plays a machine without KVM by pointing the probe at a
# device that does not exist (QP_KVM_DEVICE).

qp_test accel-kvm-missing check patched "ACCEL=kvm without a usable KVM: setup bails out in one line; ACCEL=auto falls back to TCG"
test_accel_kvm_missing() {
	local rc=0 run="$QP_ROOT/kexec-tests/run-tests"
	ACCEL=kvm QP_KVM_DEVICE="$T/no-kvm" "$run" --base "$BASE" --variant patched boot \
		>"$T/kvm.out" 2>"$T/kvm.err" || rc=$?
	[ "$rc" = 2 ] || t_fail "ACCEL=kvm without KVM: run-tests exited $rc, want 2 (setup failure)"
	[ "$(grep -c '^Bail out!' "$T/kvm.out")" = 1 ] ||
		t_fail "want one Bail out! line, got: $(cat "$T/kvm.out")"
	grep -q "^Bail out! setup: ACCEL=kvm but KVM is not usable here: $T/no-kvm does not exist$" "$T/kvm.out" ||
		t_fail "unclear Bail out! line: $(grep '^Bail out!' "$T/kvm.out")"
	! grep -q '^ok ' "$T/kvm.out" || t_fail "a test passed without the KVM it asked for"
	[ "$(grep -c '^error: ' "$T/kvm.err")" = 1 ] || t_fail "want one error line on stderr: $(cat "$T/kvm.err")"
	grep '^Bail out!' "$T/kvm.out"

	rc=0
	ACCEL=auto QP_KVM_DEVICE="$T/no-kvm" "$run" --base "$BASE" --variant patched boot \
		>"$T/auto.out" 2>"$T/auto.err" || rc=$?
	[ "$rc" = 0 ] || t_fail "ACCEL=auto without KVM: run-tests exited $rc: $(tap_failure "$T/auto.out")"
	grep -q "^# accel: tcg, -cpu qemu64 (ACCEL=auto, no usable KVM: $T/no-kvm does not exist)$" "$T/auto.out" ||
		t_fail "auto did not say it fell back to TCG: $(grep '^# accel' "$T/auto.out")"
	grep -q '^ok 1 - ' "$T/auto.out" || t_fail "the boot test did not pass under TCG"
	grep '^# accel' "$T/auto.out"
}

# tap_failure FILE: why the run-tests output in FILE failed: the last line
# its first failing test printed (the reason t_fail gave), else its last
# line (a Bail out!).
tap_failure() {
	local reason
	reason=$(grep -B1 -m1 '^not ok ' "$1" | head -n 1)
	echo "${reason:-$(tail -n 1 "$1")}"
}
