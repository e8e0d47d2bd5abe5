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
# Runs side by side are safe: the cached archive is written under a lock to a unique temporary,
# checked with gzip -t and renamed into place; a cached one that fails gzip -t is built again.
# OUT appears whole or not at all.
#
# A modules tree without modules.dep (make modules_install output, a package unpacked by hand)
# gets one from depmod run on a private tree of links, never written into the user's tree;
# the result is cached by the tree's file list.
#
# Exit status: 0 OUT written, 2 bad usage or a KERNEL_DIR/BUILD_DIR that is not one, 3 a tool
# is missing or failed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

case ${1:-} in -h | --help) usage_header "$0"; exit 0 ;; esac
[ $# -ge 3 ] || { usage_header "$0"; exit 2; }
kdir=$1 build=$2 out=$3
shift 3
[ $# -eq 0 ] || { [ "$1" = -- ] && shift; } || die 2 "expected -- before the runner's arguments, got $1"

{ [ -f "$kdir/kver" ] && [ -f "$kdir/arch" ]; } || die 2 "$kdir is not a kernel dir from kernel-fetch.sh (no kver/arch)"
kver=$(cat "$kdir/kver")
arch=$(cat "$kdir/arch")
[ -x "$build/kvmcheck-run" ] || die 2 "$build/kvmcheck-run missing: build first (make O=$build)"
{ [ -d "$(dirname "$out")" ] && [ -w "$(dirname "$out")" ]; } ||
	die 2 "cannot write $out: $(dirname "$out") is not a writable directory"

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
# Temporaries in the cache and next to OUT are listed here, so an error or a signal removes them.
partial=()
cleanup() {
	rm -rf "$tmp"
	[ ${#partial[@]} = 0 ] || rm -f "${partial[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cache=$(kvmcheck_cache)/initramfs
mkdir -p "$cache"
# One lock for the whole initramfs cache: building a base takes seconds, and the prune below
# must not remove an archive another run is about to copy.
exec 8>>"$cache/.lock"

# private_depmod MTREE: sets dep to a modules.dep for MTREE. Debian 12's kmod 30 has no
# depmod -o, and a user's tree may be read-only: depmod -b runs on a tree of symlinks to the
# user's files in a temporary directory, so everything it writes lands there. Cached by the
# list of module files (names, sizes, mtimes): depmod over every module takes seconds, and runs
# outside the lock (two runs may both run it; the rename keeps one whole result).
private_depmod() {
	local mt=$1 key cached dt
	key=$( {
		echo "$kver"
		(cd "$mt" && find . \( -name '*.ko' -o -name '*.ko.*' -o -name 'modules.builtin' \
			-o -name 'modules.order' \) -printf '%P %s %T@\n' | LC_ALL=C sort)
	} | sha256sum | cut -c1-24)
	cached=$cache/$kver-$key.modules.dep
	dep=$tmp/modules.dep
	# Copied under the lock: another run's prune may remove the cached file right after.
	lock_wait 8 "$cache/.lock" "the initramfs cache"
	if [ -s "$cached" ] && cp "$cached" "$dep"; then
		touch "$cached"
		flock -u 8
		return
	fi
	flock -u 8
	need depmod kmod
	msg "# initramfs: no modules.dep in $mt; running depmod on a private copy of the tree"
	mkdir -p "$tmp/depmod/lib/modules"
	cp -rs "$mt" "$tmp/depmod/lib/modules/$kver"
	rm -f "$tmp/depmod/lib/modules/$kver"/modules.{dep,alias,symbols,softdep,devname,builtin.alias}* \
		"$tmp/depmod/lib/modules/$kver"/modules.{builtin,weakdep}.bin
	depmod -b "$tmp/depmod" "$kver" 2>"$tmp/depmod.log" ||
		die 3 "depmod -b on a copy of $mt failed: $(grep -m1 . "$tmp/depmod.log")"
	[ -s "$tmp/depmod/lib/modules/$kver/modules.dep" ] ||
		die 3 "depmod found no modules in $mt (is it the lib/modules/<kver> of $kver?)"
	cp "$tmp/depmod/lib/modules/$kver/modules.dep" "$dep"
	# The cache's temporaries exist only under the lock (see the sweep below).
	lock_wait 8 "$cache/.lock" "the initramfs cache"
	dt=$(mktemp "$cache/.depmod.XXXXXX")
	partial+=("$dt")
	cp "$dep" "$dt"
	chmod 644 "$dt"
	mv -f "$dt" "$cached"
	flock -u 8
}

# --- which module files, in load order --------------------------------------------------------
mtree=""
modlist=$tmp/modules.list # "relpath" per line, dependencies first
: >"$modlist"
if [ -d "$kdir/modules/lib/modules/$kver" ]; then
	mtree=$(realpath "$kdir/modules/lib/modules/$kver")
	dep=$mtree/modules.dep
	if [ ! -s "$dep" ]; then
		private_depmod "$mtree"  # sets dep
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

# --- the per-run archive: $(O) and the runner's arguments --------------------------------------
run=$tmp/run
mkdir -p "$run/kvmcheck"
# Objects and the library archive are not needed in the guest; everything else is.
(cd "$build" && find . \( -path ./obj -o -name '*.a' -o -name '*.d' -o -name '*.o' \) -prune -o \
	-print | cpio -pdm --quiet "$run/kvmcheck")
# One argument per line, so a pattern with a space or a glob reaches the runner unchanged.
if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi >"$run/kvmcheck/args"
(cd "$run" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 >"$tmp/run.cpio.gz")

# --- the heavy archive, cached ----------------------------------------------------------------
key=$( {
	echo "$kver $arch"
	cat "$here/guest-init.sh" "$0"
	stat -L -c '%n %s %Y' "$bb"
	[ -z "$mtree" ] || (cd "$mtree" && xargs -r stat -L -c '%n %s %Y' <"$modlist")
} | sha256sum | cut -c1-24)
base=$cache/$arch-$kver-$key.cpio.gz

build_base() {
	local t0=$EPOCHREALTIME root=$tmp/base bt rel src dst a
	rm -rf "$root"
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
	bt=$(mktemp "$cache/.base.XXXXXX")
	partial+=("$bt")
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 >"$bt")
	gzip -t "$bt" || die 3 "the initramfs just written to $bt does not pass gzip -t (disk full?)"
	chmod 644 "$bt"
	mv -f "$bt" "$base"
	# Keep a handful: one per kernel in the matrix, not one per edit of guest-init.sh.
	find "$cache" -maxdepth 1 \( -name '*.cpio.gz' -o -name '*.modules.dep' \) -printf '%T@ %p\n' |
		sort -rn | tail -n +25 | cut -d' ' -f2- | while read -r old; do rm -f "$old"; done
	msg "# initramfs: $kver base with $(wc -l <"$root/etc/kvmcheck-modules") modules built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
}

# OUT is written next to itself and renamed: a reader never boots half an archive.
ot=$(mktemp "$(dirname "$out")/.${out##*/}.XXXXXX")
partial+=("$ot")
lock_wait 8 "$cache/.lock" "the initramfs cache"
# Every writer holds the lock while its temporaries exist: one seen now is from a killed run.
find "$cache" -maxdepth 1 \( -name '.base.*' -o -name '.depmod.*' \) -delete
if [ -e "$base" ] && ! gzip -t "$base" 2>/dev/null; then
	msg "# initramfs: cached $base is corrupt (gzip -t fails): building it again"
	rm -f "$base"
fi
if [ -s "$base" ]; then
	touch "$base"
else
	[ -n "$mtree" ] || msg "# initramfs: $kdir has no modules: KVM must be built into $kver (CONFIG_KVM=y); otherwise give IMAGE:MODULES_DIR"
	build_base
fi
# Copied under the lock: another run's prune may remove the archive right after.
cat "$base" "$tmp/run.cpio.gz" >"$ot"
flock -u 8
chmod 644 "$ot"
mv -f "$ot" "$out"
