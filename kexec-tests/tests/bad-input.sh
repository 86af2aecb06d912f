# shellcheck shell=bash disable=SC2153 # BASE, VARIANT, T and QPVM come from run-tests and lib/
# Bad input: every user entry point, given bad input, fails with one clear
# line on stderr, a non-zero exit and no TAP "ok" line (expect_error). No
# guest. The faults are in fault.sh.

qp_test bad-input-make check patched "make with an unknown BASE, VARIANT or ACCEL: one error line, nothing run"
test_bad_input_make() {
	local target
	for target in check check-quick check-full build bench demo check-series check-variants; do
		expect_error "unknown BASE '5\.10' \(one of: all $(qp_bases)\)" make -C "$QP_ROOT" "$target" BASE=5.10
	done
	expect_error "unknown VARIANT 'both'" make -C "$QP_ROOT" check VARIANT=both
	expect_error "unknown ACCEL 'xen' \(one of: auto kvm tcg\)" make -C "$QP_ROOT" check ACCEL=xen
	expect_error "unknown BASE '7\.3 6\.1'" make -C "$QP_ROOT" check "BASE=7.3 6.1"
}

qp_test bad-input-run-tests check patched "run-tests with an unknown test, tier, option, base, variant, accel, --repeat or --timeout: Bail out!"
test_bad_input_run_tests() {
	expect_error "unknown test 'no-such-test'" "$RUN_TESTS" --base "$BASE" no-such-test
	expect_error "unknown tier huge" "$RUN_TESTS" --tier huge
	expect_error "unknown option --bogus" "$RUN_TESTS" --bogus
	expect_error "--repeat needs a number of at least 1, not 'x'" "$RUN_TESTS" --repeat x boot
	expect_error "--repeat needs a number of at least 1, not '0'" "$RUN_TESTS" --repeat 0 boot
	expect_error "--tier needs a value" "$RUN_TESTS" --tier
	expect_error "--timeout needs a number of seconds, not 'x'" "$RUN_TESTS" --timeout x boot
	expect_error "unknown BASE '5\.10'" "$RUN_TESTS" --base 5.10 boot
	expect_error "unknown variant 'both'" "$RUN_TESTS" --variant both boot
	expect_error "unknown ACCEL 'xen'" "$RUN_TESTS" --accel xen boot
	grep -q '^Bail out! unknown test' "$T/err1.out" || t_fail "no 'Bail out!' line on stdout"
}

qp_test bad-input-qpvm check patched "qpvm with an unknown step, a missing kernel, a bad --smp or no QEMU; --attach to no process, not a QEMU, a QEMU with unnamed vCPU threads: one line, exit 2"
test_bad_input_qpvm() {
	local out k qemu not_qemu named unnamed
	out=$(qp_out_dir "$BASE" "$VARIANT")
	k=(--kernel "$out/bzImage" --initrd "$out/initramfs.cpio")
	expect_error "step 'bogus': unknown step" "$QPVM" "${k[@]}" panic bogus
	expect_error "step 'sleep=soon': needs seconds" "$QPVM" "${k[@]}" sleep=soon
	expect_error "step 'expect=\(': not a POSIX" "$QPVM" "${k[@]}" 'expect=('
	expect_error "cannot read /nonexistent/bzImage" "$QPVM" --kernel /nonexistent/bzImage panic
	expect_error "no --kernel given" "$QPVM" panic
	expect_error "--smp: 'two' is not a number from 1 to 64" "$QPVM" "${k[@]}" --smp two panic
	expect_error "--smp: '0' is not a number" "$QPVM" "${k[@]}" --smp 0 panic
	expect_error "--smp: '65' is not a number" "$QPVM" "${k[@]}" --smp 65 panic
	expect_error "--accel: unknown accelerator 'xen'" "$QPVM" "${k[@]}" --accel xen panic
	expect_error "unknown option or missing value: --bogus" "$QPVM" "${k[@]}" --bogus panic
	expect_error "/nonexistent/qemu not found" "$QPVM" "${k[@]}" --qemu /nonexistent/qemu panic
	expect_error "qemu-system-x86_64 not found" env PATH="$(path_without_qemu)" "$QPVM" "${k[@]}" panic
	# --attach: QEMUs with no guest (-S), with and without named vCPU
	# threads; -daemonize returns once its vCPU threads exist.
	# A daemonized QEMU leaves the test's process group: the trap, set
	# first, ends them by their pid files whatever happens.
	# shellcheck disable=SC2016,SC2154 # expanded at exit, f is the loop's
	trap 'for f in "$T"/named.pid "$T"/unnamed.pid; do [ ! -f "$f" ] || kill "$(cat "$f")"; done' EXIT
	qemu=(qemu-system-x86_64 -S -nodefaults -display none -machine "pc,accel=tcg" -daemonize)
	"${qemu[@]}" -name named,debug-threads=on -pidfile "$T/named.pid" || t_fail "cannot start QEMU"
	"${qemu[@]}" -pidfile "$T/unnamed.pid" || t_fail "cannot start QEMU"
	named=$(cat "$T/named.pid") unnamed=$(cat "$T/unnamed.pid")
	sleep 60 &
	not_qemu=$!
	expect_error "--attach: no process" "$QPVM" --attach "$(cat /proc/sys/kernel/pid_max)" cpu=1
	expect_error "--attach: 'x' is not a number" "$QPVM" --attach x cpu=1
	expect_error "unknown option or missing value: --attach" "$QPVM" --attach
	expect_error "--attach: process $not_qemu \(sleep\) is not a QEMU" "$QPVM" --attach "$not_qemu" cpu=1
	expect_error "--attach: QEMU $unnamed has no vCPU threads named 'CPU n/TCG' or 'CPU n/KVM'" \
		"$QPVM" --attach "$unnamed" cpu=1
	expect_error "step 'panic': needs the console or QMP of a QEMU qpvm starts, not --attach" \
		"$QPVM" --attach "$named" sleep=1 panic
	expect_error "--attach measures a running QEMU: it takes no --kernel" "$QPVM" "${k[@]}" --attach "$named" cpu=1
	# Control: the QEMU with named vCPU threads is measured.
	"$QPVM" --attach "$named" sleep=0.1 cpu=0.5 >"$T/attach.out" 2>"$T/attach.err" ||
		t_fail "qpvm --attach to a QEMU with named vCPU threads failed: $(cat "$T/attach.err")"
	[ "$(t_value "$T/attach.out" cpu_vcpus)" = 1 ] ||
		t_fail "qpvm --attach did not measure the vCPU thread: $(tr '\n' ' ' <"$T/attach.out")"
	echo "control: qpvm --attach $named: $(grep '^cpu_' "$T/attach.out" | tr '\n' ' ')"
}

qp_test bad-input-no-qemu check patched "run-tests with no QEMU in PATH: Bail out! at setup, never a pass"
test_bad_input_no_qemu() {
	expect_error "setup: qemu-system-x86_64 not found" \
		env PATH="$(path_without_qemu)" "$RUN_TESTS" --base "$BASE" --variant patched boot
	grep -q '^Bail out! setup: qemu-system-x86_64 not found' "$T/err1.out" ||
		t_fail "no 'Bail out!' on stdout: $(head -n 3 "$T/err1.out")"
}

qp_test bad-input-arch check patched "an unknown ARCH, a base not tested on arm64, make soak ARCH=arm64, no cross compiler, no qemu-system-aarch64, arm64 .debs that cannot be fetched: one line, non-zero, nothing built"
test_bad_input_arch() {
	local target other
	for target in check check-quick build; do
		expect_error "unknown ARCH 'sparc' \(one of: all $(qp_arches)\)" make -C "$QP_ROOT" "$target" ARCH=sparc
	done
	expect_error "make soak: the scenario matrix runs on $(qp_arch) only, not ARCH=arm64" \
		make -C "$QP_ROOT" soak ARCH=arm64
	expect_error "unknown ARCH 'sparc' \(one of: $(qp_arches)\)" "$RUN_TESTS" --arch sparc boot
	expect_error "unknown ARCH 'sparc' \(one of: $(qp_arches)\)" "$QP_ROOT/kexec-tests/bench" --arch sparc --out "$T/bench"
	expect_error "unknown ARCH 'sparc'" env QP_ARCH=sparc "$QP_ROOT/scripts/build.sh" "$BASE" patched
	other=$(for b in $(qp_bases); do qp_in_list arm64 "$(qp_base_arches "$b")" || echo "$b"; done | head -n 1)
	[ -z "$other" ] || expect_error "base $other is not tested on arm64 \(VERSIONS, column arches: " \
		env QP_ARCH=arm64 "$QP_ROOT/scripts/build.sh" "$other" patched
	expect_error "setup: aarch64-linux-gnu-gcc not found \(run: make deps\)" \
		env PATH="$(path_without nocross 'aarch64-linux-gnu-*')" \
		"$RUN_TESTS" --base "$BASE" --arch arm64 --variant patched boot
	expect_error "setup: qemu-system-aarch64 not found \(run: make deps; Debian package qemu-system-arm\)" \
		env PATH="$(path_without_qemu)" "$RUN_TESTS" --base "$BASE" --arch arm64 --variant patched boot
	# A mirror that refuses connections: the arm64 tools rootfs cannot be
	# fetched (in a cache of its own: the real one is left alone).
	expect_error "mmdebstrap of the trixie-arm64 tools rootfs failed: .*127\.0\.0\.1" \
		env QP_CACHE="$T/cache" QP_DEBIAN_MIRROR=http://127.0.0.1:9/debian \
		"$QP_ROOT/scripts/rootfs.sh" trixie-arm64
	[ ! -e "$T/cache/rootfs/trixie-arm64" ] || t_fail "a failed fetch left a trixie-arm64 rootfs"
}

qp_test bad-input-distro check patched "the Debian 13 guest image with an unknown base, no kernel built, on arm64, or from a mirror that cannot be reached: one line naming the cause, non-zero, no image"
test_bad_input_distro() {
	local image=$QP_ROOT/scripts/distro-image.sh
	expect_error "unknown BASE '5\.10'" "$image" 5.10 patched
	expect_error "unknown variant 'both'" "$image" "$BASE" both
	expect_error "no $BASE patched kernel in $T/cache/out/" env QP_CACHE="$T/cache" "$image" "$BASE" patched
	expect_error "the Debian 13 guest does not run on arm64 \(ARCHES, column distro\)" \
		env QP_ARCH=arm64 "$image" "$BASE" patched
	# A mirror that refuses connections (in a cache of its own).
	expect_error "mmdebstrap of the Debian 13 guest root failed: .*127\.0\.0\.1" \
		env QP_CACHE="$T/cache" QP_DEBIAN_MIRROR=http://127.0.0.1:9/debian "$image" --root
	! compgen -G "$T/cache/distro/root-*[0-9a-f]" >/dev/null || t_fail "a failed mmdebstrap left a guest root"
}

qp_test bad-input-series check patched "a series with a broken hunk: tree.sh names the patch that does not apply"
test_bad_input_series() {
	local copy="$T/series" victim
	rm -rf "$copy"
	cp -r "$QP_ROOT/patches/$BASE" "$copy"
	# Break the first context line of the third patch's first hunk.
	victim=$(series_file "$copy" 3)
	awk '!done && /^@@ / { print; getline; print $0 "BROKEN"; done = 1; next } { print }' \
		"$copy/$victim" >"$copy/$victim.new"
	mv "$copy/$victim.new" "$copy/$victim"
	"$QP_ROOT/scripts/tree.sh" --check "$QP_ROOT/patches/$BASE" "$BASE" ||
		t_fail "control: the real series does not apply"
	expect_error "$BASE: patch $victim does not apply cleanly to linux-source-" \
		"$QP_ROOT/scripts/tree.sh" --check "$copy" "$BASE"
	expect_error "unknown BASE '5\.10'" "$QP_ROOT/scripts/tree.sh" 5.10
}

qp_test bad-input-version check patched "VERSIONS pins a source version this machine does not have, or lacks a column: one line naming it"
test_bad_input_version() {
	local base pkg have
	for base in $(qp_bases); do
		pkg=$(qp_package "$base")
		have=$(qp_pinned_version "$base")
		versions_with "$base" version "999:0-1"
		if qp_source_is_private "$base"; then
			expect_error "$pkg 999:0-1 is not on this machine \(run: make deps\)" \
				env QP_VERSIONS_FILE="$T/VERSIONS" "$QP_ROOT/scripts/tree.sh" "$base"
		else
			expect_error "$pkg $have on this machine but VERSIONS pins 999:0-1" \
				env QP_VERSIONS_FILE="$T/VERSIONS" "$QP_ROOT/scripts/build.sh" "$base" patched
		fi
	done
	# A table without its config column: the build stops, not builds without the fragment.
	awk '/^[[:space:]]*(#|$)/ { print; next }
	     !c { for (i = 1; i <= NF; i++) if ($i == "config") c = i }
	     { $c = ""; print }' "$QP_VERSIONS_FILE" >"$T/VERSIONS"
	expect_error "VERSIONS has no column 'config'" \
		env QP_VERSIONS_FILE="$T/VERSIONS" "$QP_ROOT/scripts/build.sh" "$BASE" patched
	# A value of the wrong kind, a CI list nobody defines: run-tests bails.
	versions_with "$BASE" reader gdb
	expect_error "VERSIONS row $BASE: reader 'gdb' is not crash or drgn" \
		env QP_VERSIONS_FILE="$T/VERSIONS" "$RUN_TESTS" --base "$BASE" --plan
	versions_with "$BASE" ci nightly
	expect_error "VERSIONS: row $BASE names CI list 'nightly', but tests/ci.sh has no NIGHTLY_TESTS" \
		env QP_VERSIONS_FILE="$T/VERSIONS" "$RUN_TESTS" --tier ci --plan
}

# versions_with BASE COLUMN VALUE: $T/VERSIONS, a copy of VERSIONS with
# BASE's COLUMN set to VALUE.
versions_with() {
	awk -v b="$1" -v name="$2" -v v="$3" '/^[[:space:]]*(#|$)/ { print; next }
		!c { for (i = 1; i <= NF; i++) if ($i == name) c = i; print; next }
		$1 == b { $c = v } { print }' "$QP_VERSIONS_FILE" >"$T/VERSIONS"
}

qp_test bad-input-collector check patched "panic-collector with no dump dir, no socket, a non-QMP socket, a bad format, policy or URI, a dump dir in use: one line, non-zero"
test_bad_input_collector() {
	local listener
	[ -x "$COLLECTOR" ] || make -s -C "$(dirname "$COLLECTOR")" >/dev/null ||
		t_fail "cannot build panic-collector"
	mkdir -p "$T/dumps"
	expect_error "--dir $T/no-such-dir is not a directory" "$COLLECTOR" --dir "$T/no-such-dir" --once "$T/vm.qmp"
	expect_error "no --dir given" "$COLLECTOR" --once "$T/vm.qmp"
	expect_error "^vm: error: cannot connect to $T/vm\.qmp: No such file or directory" \
		"$COLLECTOR" --dir "$T/dumps" --connect 0 --once "$T/vm.qmp"
	expect_error "--format: unknown format 'kdump-bzip2'" "$COLLECTOR" --dir "$T/dumps" --format kdump-bzip2 "$T/vm.qmp"
	expect_error "--policy: unknown policy 'reboot' \(one of: keep pause quit restart\)" \
		"$COLLECTOR" --dir "$T/dumps" --policy reboot "$T/vm.qmp"
	expect_error "--jobs: 'many' is not a whole number from 1 to" "$COLLECTOR" --dir "$T/dumps" --jobs many "$T/vm.qmp"
	expect_error "--quiet-pct: 'nan' is not a number from 0 to 100" "$COLLECTOR" --dir "$T/dumps" --quiet-pct nan "$T/vm.qmp"
	expect_error "there is a VM named vm already" "$COLLECTOR" --dir "$T/dumps" "$T/vm.qmp" "$T/dumps/vm.qmp"
	expect_error "--domain needs --libvirt URI" "$COLLECTOR" --dir "$T/dumps" --domain web1
	expect_error "cannot connect to qemu\+unix:///system\?socket=$T/no-libvirtd\.sock" \
		"$COLLECTOR" --dir "$T/dumps" --connect 0 --once --libvirt "qemu+unix:///system?socket=$T/no-libvirtd.sock"
	# A unix socket that speaks something else, and one that says nothing.
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[2].encode()); time.sleep(30); c.close()
' "$T/ssh.sock" $'SSH-2.0-OpenSSH_9.2\r\n' &
	listener=$!
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept(); time.sleep(30); c.close()
' "$T/mute.sock" &
	listener="$listener $!"
	sleep 1
	expect_error "^ssh: error: not a QMP socket: it does not speak JSON" \
		"$COLLECTOR" --dir "$T/dumps" --once "$T/ssh.sock"
	expect_error "^mute: error: not a QMP socket: no QMP greeting within 5 s" \
		"$COLLECTOR" --dir "$T/dumps" --once "$T/mute.sock"
	# A second collector on a dump dir in use (the first waits for mute's
	# greeting): it would remove the first one's partial dumps.
	"$COLLECTOR" --dir "$T/dumps" --once "$T/mute.sock" >/dev/null 2>&1 &
	sleep 1
	expect_error "--dir $T/dumps: another panic-collector is using it" \
		"$COLLECTOR" --dir "$T/dumps" --once "$T/ssh.sock"
	wait $! || true
	# shellcheck disable=SC2086 # two PIDs
	kill $listener
	[ -z "$(ls -A "$T/dumps")" ] || t_fail "files left in the dump dir: $(ls "$T/dumps")"
}
