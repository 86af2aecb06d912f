# shellcheck shell=bash disable=SC2153 # BASE, VARIANT and T come from run-tests
# Booting one guest of the test's kernel with qpvm, and reading why it
# failed.

QPVM="$QP_ROOT/kexec-tests/bin/qpvm"

GUEST_MEM_MB=512

# arch_qpvm_options: qpvm's options for this architecture's machine
# (ARCHES), one per line.
arch_qpvm_options() {
	local arch col
	arch=$(qp_arch)
	for col in qemu machine console panic_device; do
		echo "--${col//_/-}"
		qp_arch_fact "$arch" "$col"
	done
}

# What the architecture puts before every kernel command line (ARCHES).
arch_append() {
	local append
	append=$(qp_arch_fact "$(qp_arch)" append) || return 1
	[ "$append" = - ] || echo "$append "
}

# guest NAME SMP APPEND STEP...: run one guest with this test's kernel.
# Writes $T/NAME.out (qpvm results) and $T/NAME.console; returns qpvm's
# status. $GUEST_DISK, when set, is attached as a raw virtio disk;
# GUEST_INITRD=none boots without the harness's initramfs (a guest whose
# root is that disk); $GUEST_OPTS adds qpvm options.
guest() {
	local name=$1 smp=$2 append out machine initrd=()
	append="$(arch_append)$3"
	shift 3
	out=$(qp_out_dir "$BASE" "$VARIANT")
	mapfile -t machine < <(arch_qpvm_options)
	[ ${#machine[@]} = 8 ] || t_fail "setup: ARCHES has no complete row for $(qp_arch)"
	[ "${GUEST_INITRD:-}" = none ] || initrd=(--initrd "$out/initramfs.cpio")
	# shellcheck disable=SC2086 # GUEST_OPTS is a list of options
	"$QPVM" "${machine[@]}" --accel "$QP_ACCEL" --cpu "$QP_CPU" \
		--kernel "$(qp_kernel_image "$out")" "${initrd[@]}" \
		--smp "$smp" --mem "$GUEST_MEM_MB" --name "qp-$name" \
		--log "$T/$name.console" ${GUEST_DISK:+--disk "$GUEST_DISK"} \
		--timeout "${GUEST_TIMEOUT:-300}" --append "$append" ${GUEST_OPTS:-} \
		"$@" >"$T/$name.out" 2>"$T/$name.err"
}

# qpvm_reason FILE: why qpvm failed, from its stderr in FILE: the last line
# that says more than qpvm's closing "step 'X' failed after N ms" (which
# names only the step) or QEMU's notes that it waited for the console and
# was stopped by qpvm; else the last line.
qpvm_reason() {
	local reason
	reason=$(grep -v -e "^qpvm: step '.*' failed after [0-9]* ms$" \
		-e '^qemu-system-[a-z0-9_]*: terminating on signal [0-9]* from pid ' \
		-e '^qemu-system-[a-z0-9_]*: .* info: QEMU waiting for connection on: ' "$1" | tail -n 1)
	echo "${reason:-$(tail -n 1 "$1")}"
}

# The panic message the console showed, without "Kernel panic - not syncing: ".
panic_message() {
	t_value "$T/$1.out" panic_line | sed -n 's/.*Kernel panic - not syncing: //p'
}
