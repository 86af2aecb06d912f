#!/bin/bash
# The distribution guest's disk, for one kernel: Debian 13 (trixie) as a
# distribution kernel team runs it, systemd as init and kdump-tools saving
# the dump, with that kernel installed the way a kernel package installs
# one. Nothing is mounted or emulated:
#
#   the root   mmdebstrap (PACKAGES), then, written on the host: fstab,
#              the hostname, USE_KDUMP=1 in /etc/default/kdump-tools as
#              kdump-tools' README.Debian says (trixie's default already),
#              and the harness's unit (kexec-tests/distro/: report the
#              boot, fire the trigger); the versions of the packages in
#              qp-versions beside it. Cached in
#              $QP_CACHE/distro/root-<key>, the key a hash of the package
#              list and of what this script writes: a change of either
#              makes a new one.
#   the image  a hard-linked copy of the root plus the kernel:
#              /boot/vmlinuz-<release>, config-<release>,
#              System.map-<release>, /usr/lib/modules/<release> (the
#              built-in list and the test module, depmod run on the host),
#              and kdump-tools' dump level, the base's (VERSIONS);
#              written into an ext4 image with mkfs.ext4 -d. Cached as
#              $QP_CACHE/distro/root-<key>.<kernel>.img, made again when
#              the kernel, the test module or the dump level changes
#              (image_inputs); a test boots a copy.
#
# The capture kernel's initrd is kdump-tools' own: its kernel hook builds
# it with mkinitramfs on the first boot, as it does on any system where
# the package was installed in a chroot. The image has no boot loader:
# QEMU boots /boot's kernel (-kernel) with the command line a GRUB of this
# system would pass, crashkernel= from kdump-tools' own GRUB drop-in
# (distro_crashkernel in kexec-tests/lib/distro.sh reads it from the root).
#
# QP_DEBIAN_MIRROR: another Debian mirror than mmdebstrap's default.
#
# usage: scripts/distro-image.sh BASE VARIANT     (prints the image's path)
#        scripts/distro-image.sh --root           (prints the root's path;
#                                                  <root>.versions beside it)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# What the guest runs: systemd and udev, kdump-tools and what it calls
# (kexec, makedumpfile, mkinitramfs and its zstd, linux-version, file),
# modprobe, taskset and e2fsck.
PACKAGES=(systemd-sysv udev kdump-tools kexec-tools makedumpfile initramfs-tools
	zstd linux-base file kmod procps util-linux e2fsprogs)
GUEST_FILES=$QP_ROOT/kexec-tests/distro
IMAGE_SIZE=2G

root_key() {
	{
		echo "${PACKAGES[@]}"
		cat "$0" "$GUEST_FILES"/*
	} | sha256sum | cut -c1-12
}

# configure_root DIR: what an administrator sets up after installing
# kdump-tools, and the harness's unit.
configure_root() {
	local dir=$1
	echo "/dev/vda / ext4 errors=remount-ro 0 1" >"$dir/etc/fstab"
	echo qp-distro >"$dir/etc/hostname"
	# kdump-tools' README.Debian: USE_KDUMP=1 in /etc/default/kdump-tools.
	sed -i 's/^USE_KDUMP=.*/USE_KDUMP=1/' "$dir/etc/default/kdump-tools"
	grep -qx USE_KDUMP=1 "$dir/etc/default/kdump-tools" ||
		qp_die "kdump-tools' /etc/default/kdump-tools has no USE_KDUMP line to set"
	install -m 0755 "$GUEST_FILES/qp-distro" "$dir/usr/local/sbin/qp-distro"
	install -m 0644 "$GUEST_FILES/qp-distro.service" "$dir/etc/systemd/system/"
	ln -sf /etc/systemd/system/qp-distro.service \
		"$dir/etc/systemd/system/multi-user.target.wants/qp-distro.service"
}

make_root() {
	local dir=$1 tmp=$1.tmp
	qp_mmdebstrap "Debian 13 guest root" "$dir" 2000 trixie --variant=minbase \
		--include="$(IFS=,; echo "${PACKAGES[*]}")"
	[ -x "$tmp/usr/sbin/kdump-config" ] ||
		qp_die "the Debian 13 guest root has no kdump-config (see $tmp.log)"
	configure_root "$tmp"
	dpkg-query --admindir="$tmp/var/lib/dpkg" -W "${PACKAGES[@]}" systemd >"$dir.versions"
	mv "$tmp" "$dir"
	rm -f "$tmp.log"
	prune_other_keys "$(dirname "$dir")" "${dir##*-}"
}

# prune_other_keys DIR KEY: roots and images of an older package list or
# older guest files go when a new root is made.
prune_other_keys() {
	local old
	for old in "$1"/root-* "$1"/*.img; do
		if [ -e "$old" ] && [[ "$old" != *"$2"* ]]; then
			rm -rf "$old"
		fi
	done
}

# install_kernel DIR OUT BASE: the kernel of OUT into the root DIR as
# Debian's linux-image packages lay it out.
install_kernel() {
	local dir=$1 out=$2 base=$3 release modules
	release=$(cat "$out/release")
	install -m 0644 "$out/$(basename "$(qp_kernel_image "$out")")" "$dir/boot/vmlinuz-$release"
	install -m 0644 "$out/config" "$dir/boot/config-$release"
	install -m 0644 "$out/System.map" "$dir/boot/System.map-$release"
	modules=$dir/usr/lib/modules/$release
	install -d "$modules/extra"
	install -m 0644 "$out/modules.builtin" "$out/modules.builtin.modinfo" "$out/modules.order" "$modules/"
	install -m 0644 "$out/qp_trigger.ko" "$modules/extra/"
	depmod -b "$dir" "$release" || qp_die "depmod failed for $release in $dir"
	# The base's dump level (VERSIONS says why 7.3's differs): a new file,
	# not an edit of the one the root's hard links share.
	sed "s/^#MAKEDUMP_ARGS=.*/MAKEDUMP_ARGS=\"-c -d $(qp_base_fact "$base" dump_level)\"/" \
		"$dir/etc/default/kdump-tools" >"$dir/etc/default/kdump-tools.new"
	grep -q '^MAKEDUMP_ARGS=' "$dir/etc/default/kdump-tools.new" ||
		qp_die "kdump-tools' /etc/default/kdump-tools has no MAKEDUMP_ARGS line to set"
	mv "$dir/etc/default/kdump-tools.new" "$dir/etc/default/kdump-tools"
}

make_image() {
	local root=$1 out=$2 base=$3 image=$4 stage=$4.root
	qp_need_cmd mkfs.ext4 depmod
	[ -f "$out/modules.order" ] ||
		qp_die "$out has no modules.order: rebuild the kernel (make build)"
	qp_log "writing the Debian 13 guest image $image"
	rm -rf "$stage" "$image.tmp"
	cp -al "$root" "$stage"
	install_kernel "$stage" "$out" "$base"
	mkfs.ext4 -q -L root -d "$stage" "$image.tmp" "$IMAGE_SIZE" >"$image.log" 2>&1 ||
		qp_die "mkfs.ext4 -d could not write $image.tmp: $(tail -n 1 "$image.log")"
	rm -f "$image.log"
	rm -rf "$stage"
	mv "$image.tmp" "$image"
}

# guest_root: the root of this package list and these guest files, made
# if it is not there yet.
guest_root() {
	local root
	root=$QP_CACHE/distro/root-$(root_key)
	[ -x "$root/usr/local/sbin/qp-distro" ] || make_root "$root"
	echo "$root"
}

# image_inputs OUT BASE: what the image of the kernel in OUT is made of
# besides the root: the kernel's and the test module's build stamps, and
# the base's dump level.
image_inputs() {
	echo "$(cat "$1/stamp" "$1/module.stamp") $(qp_base_fact "$2" dump_level)" | tr '\n' ' '
}

main() {
	local base=${1:-} variant=${2:-} root out image inputs
	mkdir -p "$QP_CACHE/distro"
	# One writer at a time (a test run and a bench may both ask).
	exec 8>"$QP_CACHE/distro/lock"
	flock 8
	if [ "$base" = --root ]; then
		guest_root
		return
	fi
	[ -n "$variant" ] || qp_die "usage: scripts/distro-image.sh BASE VARIANT | --root"
	qp_check_base "$base"
	qp_check_variant "$variant"
	qp_arch_runs_distro ||
		qp_die "the Debian 13 guest does not run on $(qp_arch) (ARCHES, column distro)"
	out=$(qp_out_dir "$base" "$variant")
	[ -f "$out/stamp" ] || qp_die "no $base $variant kernel in $out (make build BASE=$base)"
	root=$(guest_root)
	image=$root.$(qp_kernel_name "$base" "$variant").img
	inputs=$(image_inputs "$out" "$base")
	if [ ! -f "$image" ] || [ "$(cat "$image.inputs" 2>/dev/null)" != "$inputs" ]; then
		make_image "$root" "$out" "$base" "$image"
		echo "$inputs" >"$image.inputs"
	fi
	echo "$image"
}

main "$@"
