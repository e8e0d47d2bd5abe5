#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# initramfs.sh KERNEL_DIR BUILD_DIR OUT [-- RUNNER_ARGS...]
#
# Writes OUT, a gzip'd newc cpio for the QEMU target: busybox, /init (guest-init.sh), the
# kernel's KVM/vhost/vfio modules with their dependencies, BUILD_DIR (the $(O) tree: kvmcheck-run,
# tests.list, the static test binaries) as /kvmcheck/, and /kvmcheck/args, the runner's
# arguments one per line.
#
# OUT is two archives back to back, which Linux unpacks in turn: a heavy one (busybox, init,
# modules; decompressing .ko.xz is most of the work) cached per kernel under
# ~/.cache/kvmcheck/initramfs/, and a small one with the binaries and args built on every run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

[ $# -ge 3 ] || { msg "usage: ${0##*/} KERNEL_DIR BUILD_DIR OUT [-- RUNNER_ARGS...]"; exit 2; }
kdir=$1 build=$2 out=$3
shift 3
[ $# -eq 0 ] || { [ "$1" = -- ] && shift; } || die 2 "expected -- before the runner's arguments, got $1"

{ [ -f "$kdir/kver" ] && [ -f "$kdir/arch" ]; } || die 2 "$kdir is not a kernel dir from kernel-fetch.sh (no kver/arch)"
kver=$(cat "$kdir/kver")
arch=$(cat "$kdir/arch")
[ -x "$build/kvmcheck-run" ] || die 2 "$build/kvmcheck-run missing: build first (make O=$build)"

need cpio cpio
need gzip gzip

# The modules the suite may use; kvm_amd and kvm_intel both, since the guest CPU decides which
# one binds. Absent ones are skipped: riscv has neither, older kernels lack some vfio parts.
# Their dependencies (ccp for kvm_amd, vhost_iotlb, vfio_virqfd …) come from modules.dep.
# mtty is the kernel's vfio-mdev sample (CONFIG_SAMPLE_VFIO_MDEV_MTTY, the build: kernel has it,
# Debian's don't): the only VFIO device with migration a QEMU guest has (vfio/migration_features).
wanted="kvm kvm_amd kvm_intel irqbypass ccp vhost vhost_net vhost_vsock vhost_iotlb tun tap
	vfio vfio_iommu_type1 mdev vfio_pci mtty"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- which module files, in load order --------------------------------------------------------
mtree=""
modlist=$tmp/modules.list # "relpath" per line, dependencies first
: >"$modlist"
if [ -d "$kdir/modules/lib/modules/$kver" ]; then
	mtree=$(realpath "$kdir/modules/lib/modules/$kver")
	dep=$mtree/modules.dep
	if [ ! -s "$dep" ]; then
		# A user's tree may be read-only or lack modules.dep (modules_install without depmod):
		# write ours aside with depmod -o rather than into their tree.
		need depmod kmod
		msg "# initramfs: no modules.dep in $mtree; running depmod"
		mkdir -p "$tmp/depmod/lib/modules"
		ln -s "$mtree" "$tmp/depmod/lib/modules/$kver"
		depmod -b "$tmp/depmod" -o "$tmp/depout" "$kver"
		dep=$tmp/depout/lib/modules/$kver/modules.dep
	fi
	# modules.dep lists, for each module, all of its dependencies (the closure) such that
	# loading them from the last to the first works (what modprobe does): emit them reversed,
	# then the module, skipping what an earlier module already pulled in.
	awk -v wanted="$wanted" '
		function norm(p,   n) { n = p; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub(/-/, "_", n); return n }
		BEGIN { n = split(wanted, w, /[ \t\n]+/); for (i = 1; i <= n; i++) if (w[i] != "") want[w[i]] = 1 }
		{
			m = $1; sub(/:$/, "", m)
			if (!(norm(m) in want)) next
			for (i = NF; i >= 2; i--) if (!seen[$i]++) print $i
			if (!seen[m]++) print m
		}' "$dep" >"$modlist"
fi

bb=""
if [ "$arch" = "$(uname -m)" ]; then
	need busybox busybox-static
	bb=$(command -v busybox)
	# The guest has no libc: a dynamically linked busybox (Debian's "busybox") would not start.
	if ldd "$bb" >/dev/null 2>&1; then
		die 3 "$bb is dynamically linked: install busybox-static (apt-get install busybox-static)"
	fi
elif [ -x "$kdir/busybox" ]; then
	bb=$kdir/busybox
else
	bb=$("$here/busybox-fetch.sh" "$arch")
fi

# --- the heavy archive, cached ----------------------------------------------------------------
cache=$(kvmcheck_cache)/initramfs
mkdir -p "$cache"
key=$( {
	echo "$kver $arch"
	cat "$here/guest-init.sh" "$0"
	stat -L -c '%n %s %Y' "$bb"
	[ -z "$mtree" ] || (cd "$mtree" && xargs -r stat -L -c '%n %s %Y' <"$modlist")
} | sha256sum | cut -c1-24)
base=$cache/$arch-$kver-$key.cpio.gz

if [ ! -s "$base" ]; then
	t0=$EPOCHREALTIME
	root=$tmp/base
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc} "$root/lib/modules/$kver"
	cp "$bb" "$root/bin/busybox"
	# Only the applets guest-init.sh uses, so the image says what /init depends on.
	for a in sh mount mkdir insmod cat echo dmesg tail head stty sleep sync poweroff uname \
		grep sed tr cut ls rm ln date test printf; do
		ln -s busybox "$root/bin/$a"
	done
	cp "$here/guest-init.sh" "$root/init"
	chmod 755 "$root/init"
	# busybox insmod cannot load compressed modules (Debian ships .ko.xz, some kernels .ko.zst).
	: >"$root/etc/kvmcheck-modules"
	while read -r rel; do
		[ -n "$rel" ] || continue
		src=$mtree/$rel
		dst=${rel%.xz}
		dst=${dst%.zst}
		dst=${dst%.gz}
		mkdir -p "$root/lib/modules/$kver/$(dirname "$dst")"
		case $rel in
		*.xz) need xz xz-utils; xz -dc "$src" >"$root/lib/modules/$kver/$dst" ;;
		*.zst) need zstd zstd; zstd -q -dc "$src" >"$root/lib/modules/$kver/$dst" ;;
		*.gz) gzip -dc "$src" >"$root/lib/modules/$kver/$dst" ;;
		*) cp "$src" "$root/lib/modules/$kver/$dst" ;;
		esac
		echo "$dst" >>"$root/etc/kvmcheck-modules"
	done <"$modlist"
	# The kernel's config (Debian's modules tree has one): tests read it to tell "not built"
	# from "too old" (vfio/migration_features: CONFIG_VFIO_DEBUGFS).
	[ -z "$mtree" ] || [ ! -f "$mtree/config" ] || cp "$mtree/config" "$root/lib/modules/$kver/config"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 >"$base.tmp")
	mv "$base.tmp" "$base"
	# Keep a handful: one per kernel in the matrix, not one per edit of guest-init.sh.
	find "$cache" -name '*.cpio.gz' -printf '%T@ %p\n' | sort -rn | tail -n +13 | cut -d' ' -f2- |
		while read -r old; do rm -f "$old"; done
	msg "# initramfs: $kver base with $(wc -l <"$root/etc/kvmcheck-modules") modules built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
else
	touch "$base"
fi

# --- the per-run archive: $(O) and the runner's arguments --------------------------------------
run=$tmp/run
mkdir -p "$run/kvmcheck"
# Objects and the library archive are not needed in the guest; everything else is.
(cd "$build" && find . \( -path ./obj -o -name '*.a' -o -name '*.d' -o -name '*.o' \) -prune -o \
	-print | cpio -pdm --quiet "$run/kvmcheck")
# One argument per line, so a pattern with a space or a glob reaches the runner unchanged.
if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi >"$run/kvmcheck/args"
(cd "$run" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 >"$tmp/run.cpio.gz")
cat "$base" "$tmp/run.cpio.gz" >"$out.tmp"
mv "$out.tmp" "$out"
