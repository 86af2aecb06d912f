# shellcheck shell=bash
# Which accelerator and CPU model the guests use: KVM where /dev/kvm opens
# and a guest boots with it, else TCG (accel_resolve, once per run).

# The accelerator and CPU model of every guest: accel_resolve sets them
# once per run (run-tests, bench); TCG with the architecture's CPU model
# (ARCHES) until then.
QP_ACCEL=${QP_ACCEL:-tcg}

# The CPU model of the architecture's guests under TCG (ARCHES).
tcg_cpu() {
	qp_arch_fact "$(qp_arch)" cpu
}

QP_CPU=${QP_CPU:-$(tcg_cpu)}

# The device the KVM probe opens (a test points it elsewhere to play a
# machine without KVM).
QP_KVM_DEVICE=${QP_KVM_DEVICE:-/dev/kvm}

# kvm_problem OUT_DIR: why KVM cannot run guests here (nothing when it can):
# the device must open read-write and a guest of the kernel in OUT_DIR must
# boot to init with it.
kvm_problem() {
	local out=$1 probe
	qp_arch_is_host || { echo "$(qp_arch) guests on a $(uname -m) host"; return 0; }
	[ -e "$QP_KVM_DEVICE" ] || { echo "$QP_KVM_DEVICE does not exist"; return 0; }
	if ! { exec 3<>"$QP_KVM_DEVICE"; } 2>/dev/null; then
		echo "$QP_KVM_DEVICE cannot be opened read-write"
		return 0
	fi
	exec 3>&-
	# A KVM guest of ours reaches init in a second or two.
	probe=$(mktemp -d)
	"$QPVM" --accel kvm --cpu "${CPU:-host}" --kernel "$(qp_kernel_image "$out")" --initrd "$out/initramfs.cpio" \
		--smp 1 --mem 256 --timeout 60 --append "panic=0" --name qp-kvm-probe \
		--log "$probe/console" 'timeout=20' 'expect=^kt: init ready' >"$probe/out" 2>"$probe/err" ||
		echo "$QP_KVM_DEVICE opens, but a guest did not reach init with it within 20 s" \
			"($(grep -c . "$probe/console") console lines)"
	rm -rf "$probe"
}

# accel_resolve OUT_DIR: turn $ACCEL (auto, kvm, tcg) into QP_ACCEL and
# QP_CPU ($CPU, else host on KVM and the architecture's model on TCG,
# ARCHES), probing KVM once with
# the kernel in OUT_DIR. Prints one line that says which and why; fails
# (status 1, the line says why) when ACCEL=kvm cannot be had.
accel_resolve() {
	local why
	case "${ACCEL:-auto}" in
	tcg) QP_ACCEL=tcg why="ACCEL=tcg" ;;
	kvm | auto)
		why=$(kvm_problem "$1")
		if [ -z "$why" ]; then
			QP_ACCEL=kvm why="ACCEL=${ACCEL:-auto}, $QP_KVM_DEVICE opens and a guest booted with it"
		elif [ "${ACCEL:-auto}" = kvm ]; then
			echo "ACCEL=kvm but KVM is not usable here: $why"
			return 1
		else
			QP_ACCEL=tcg why="ACCEL=auto, no usable KVM: $why"
		fi
		;;
	*) echo "unknown ACCEL '$ACCEL' (one of: auto kvm tcg)"; return 1 ;;
	esac
	if [ "$QP_ACCEL" = kvm ]; then
		QP_CPU=${CPU:-host}
	else
		QP_CPU=${CPU:-$(tcg_cpu)}
	fi
	export QP_ACCEL QP_CPU
	echo "accel: $QP_ACCEL, -cpu $QP_CPU ($why)"
}
