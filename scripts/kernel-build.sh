#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kernel-build.sh debian|KERNEL_TREE      build a kernel with what kvmcheck needs turned on
#
#   debian        Debian sid's linux-source-7.x package (fetched like the kernels), configured
#                 from defconfig + kvm_guest.config + scripts/config/{trim,kvmcheck}.config
#   KERNEL_TREE   a kernel source tree; its .config when it has one (olddefconfig), else
#                 defconfig, + scripts/config/kvmcheck.config; built in the tree (in place, as
#                 git bisect expects)
#   KASAN=1       also merge scripts/config/kasan.config
#
# Prints a kernel directory on stdout in kernel-fetch.sh's layout (vmlinuz, modules/lib/modules/
# <kver>, kver, arch, version, suite), so run_tests.sh takes it as
# --target qemu:DIR/vmlinuz:DIR/modules. Results are cached under ~/.cache/kvmcheck/builds/ by
# source version + fragment hash: a second call with the same inputs builds nothing, and a
# changed fragment rebuilds only what it touches (the object tree is kept per source version).
#
# Exit status: 0 built (or cached), 2 bad usage, 3 fetch or build failed (log path on stderr).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

builds=$(kvmcheck_cache)/builds
kasan=${KASAN:-0}

# The fragments this build merges, in order; their hash is part of the cache key.
fragments() {
	[ "$1" = defconfig ] && echo "$here/config/trim.config"
	echo "$here/config/kvmcheck.config"
	[ "$kasan" = 1 ] && echo "$here/config/kasan.config"
	return 0
}

frag_hash() { fragments "$1" | xargs cat | sha256sum | cut -c1-12; }

# fetch_debian_source: unpack sid's linux-source-7.x once; prints "SRCDIR VERSION".
fetch_debian_source() {
	need apt-get apt
	need dpkg-deb dpkg
	need xz xz-utils
	local arch=amd64 log pkg ver srcdir tarball tmp
	apt_setup "$builds/apt-sid" sid "$arch"
	# shellcheck disable=SC2154 # apt_setup sets aptdir
	log=$aptdir/update.log
	# Same one-day reuse of the package list as kernel-fetch.sh, so a rebuild needs no network.
	if [ ! -f "$aptdir/checked" ] ||
		[ $(($(date +%s) - $(stat -c %Y "$aptdir/checked"))) -ge "${KVMCHECK_KERNEL_TTL:-86400}" ]; then
		if apt_private apt-get update >"$log" 2>&1 && ! grep -q -E '^(W: Failed|E: )' "$log"; then
			touch "$aptdir/checked"
		elif [ ! -f "$aptdir/checked" ]; then
			die 3 "build:debian: cannot reach $(mirror_uri) for sid's package list (no network?)"
		fi
	fi
	# linux-source (meta) depends on linux-source-7.x (= version): resolve it, never pin.
	pkg=$(apt_private apt-cache show --no-all-versions linux-source 2>/dev/null |
		sed -n 's/^Depends: \(linux-source-[0-9.]*\).*/\1/p' | head -n1)
	[ -n "$pkg" ] || die 3 "build:debian: sid has no linux-source package"
	ver=$(apt_private apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	srcdir=$builds/src/$pkg-$ver
	if [ ! -f "$srcdir/.kvmcheck-complete" ]; then
		msg "# build: downloading $pkg $ver"
		tmp=$(mktemp -d "$builds/.src.XXXXXX")
		(cd "$tmp" && apt_private apt-get download "$pkg" >"$log" 2>&1) ||
			die 3 "build:debian: download of $pkg failed: $(grep -m1 -E '^(W|E):' "$log" | cut -c1-160)"
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards '*.tar.xz'
		tarball=$(find "$tmp" -name 'linux-source-*.tar.xz' | head -n1)
		[ -n "$tarball" ] || die 3 "build:debian: $pkg holds no linux-source tarball"
		msg "# build: unpacking $(basename "$tarball")"
		mkdir -p "$tmp/src"
		tar -xJf "$tarball" -C "$tmp/src" --strip-components=1
		rm -rf "$srcdir"
		mkdir -p "$builds/src"
		mv "$tmp/src" "$srcdir"
		rm -rf "$tmp"
		touch "$srcdir/.kvmcheck-complete"
	fi
	echo "$srcdir $ver"
}

# configure SRC OBJ BASE: write OBJ/.config from BASE (defconfig or olddefconfig) + fragments.
configure() {
	local src=$1 obj=$2 base=$3 extra=() f
	if [ "$base" = defconfig ]; then
		make -C "$src" ${obj:+O="$obj"} defconfig >/dev/null
		# kvm_guest.config: virtio, paravirt and the serial console a QEMU guest boots with.
		[ -f "$src/kernel/configs/kvm_guest.config" ] && extra+=("$src/kernel/configs/kvm_guest.config")
	fi
	mapfile -t frags < <(fragments "$base")
	local cfgdir=${obj:-$src}
	# -m: merge only (we run olddefconfig ourselves, with O= when there is one).
	"$src/scripts/kconfig/merge_config.sh" -m -O "$cfgdir" "$cfgdir/.config" "${extra[@]}" \
		"${frags[@]}" >"$cfgdir/.kvmcheck-merge.log" 2>&1 ||
		die 3 "merge_config.sh failed: see $cfgdir/.kvmcheck-merge.log"
	make -C "$src" ${obj:+O="$obj"} olddefconfig >/dev/null
	# Say what the fragment asked for but this kernel version lacks (not fatal: 6.1 has no
	# KVM_SW_PROTECTED_VM), so a missing feature is visible in the log, not a mystery skip.
	for f in "${frags[@]}"; do
		grep -E '^CONFIG_[A-Z0-9_]+=[ym]' "$f" | while IFS='=' read -r opt val; do
			grep -q -x "$opt=$val" "$cfgdir/.config" || msg "# build: $opt=$val not set (this kernel lacks it or its dependencies)"
		done
	done
}

# build SRC OBJ STAGE: bzImage + modules, modules_install into STAGE/modules, kernel-dir files.
build() {
	local src=$1 obj=$2 stage=$3 log kver t0
	log=${obj:-$src}/.kvmcheck-build.log
	t0=$(date +%s)
	msg "# build: make -j$(nproc) bzImage modules (log: $log)"
	make -C "$src" ${obj:+O="$obj"} -j"$(nproc)" bzImage modules >"$log" 2>&1 ||
		die 3 "build failed: $(grep -m1 -E 'error|Error' "$log" | cut -c1-200); full log: $log"
	rm -rf "$stage"
	mkdir -p "$stage/modules"
	make -C "$src" ${obj:+O="$obj"} INSTALL_MOD_PATH="$stage/modules" INSTALL_MOD_STRIP=1 \
		modules_install >>"$log" 2>&1 || die 3 "modules_install failed: see $log"
	kver=$(cat "${obj:-$src}/include/config/kernel.release")
	cp "${obj:-$src}/arch/x86/boot/bzImage" "$stage/vmlinuz"
	echo "$kver" >"$stage/kver"
	echo x86_64 >"$stage/arch"
	echo custom >"$stage/suite"
	echo "$(($(date +%s) - t0))" >"$stage/build_s"
	echo "$kver" >"$stage/version" # last: marks the directory complete
	msg "# build: $kver in $(($(date +%s) - t0)) s"
}

main() {
	[ $# = 1 ] || usage
	case $1 in -h | --help) usage ;; esac
	need make make
	need gcc gcc
	need flex flex
	need bison bison
	need bc bc
	command -v pkg-config >/dev/null 2>&1 || true
	[ -f /usr/include/libelf.h ] || need_pkg_header libelf-dev
	[ -f /usr/include/openssl/ssl.h ] || need_pkg_header libssl-dev
	mkdir -p "$builds"

	local src ver key dir obj base suffix=""
	[ "$kasan" = 1 ] && suffix=-kasan
	if [ "$1" = debian ]; then
		read -r src ver < <(fetch_debian_source)
		[ -n "${src:-}" ] || exit 3
		base=defconfig
		key=debian-$ver-$(frag_hash "$base")$suffix
		dir=$builds/$key
		# One object tree per source version, whatever the fragments: a changed fragment
		# then rebuilds only what its options touch (Kbuild tracks CONFIG_ use per file).
		obj=$builds/obj/debian-$ver$suffix
	else
		src=$(realpath "$1" 2>/dev/null) || die 2 "build:$1: no such kernel tree"
		{ [ -f "$src/Makefile" ] && [ -f "$src/Kconfig" ]; } || die 2 "build:$1: not a kernel tree (no Makefile/Kconfig)"
		ver=$(make -s -C "$src" kernelversion 2>/dev/null) || die 3 "build:$1: make kernelversion failed"
		# A git tree's version is its commit (plus a hash of uncommitted changes): bisect
		# visits many commits of one kernelversion.
		if git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
			ver=$ver-$(git -C "$src" rev-parse --short=12 HEAD)
			if ! git -C "$src" diff --quiet HEAD 2>/dev/null; then
				ver=$ver-dirty$(git -C "$src" diff HEAD | sha256sum | cut -c1-8)
			fi
		fi
		base=defconfig
		[ -f "$src/.config" ] && base=olddefconfig
		key=tree-$(printf '%s' "$src" | sha256sum | cut -c1-8)-$ver-$(frag_hash "$base")$suffix
		dir=$builds/$key
		obj="" # in the tree itself
	fi
	if [ -f "$dir/k/version" ]; then
		msg "# build: $key (cached)"
		echo "$dir/k"
		return
	fi
	mkdir -p "$dir"
	[ -z "$obj" ] || mkdir -p "$obj"
	# Two matrix jobs building into one object tree would trample it.
	exec 8>"${obj:-$dir}/.kvmcheck-lock"
	flock 8
	if [ -f "$dir/k/version" ]; then
		msg "# build: $key (built while we waited)"
		echo "$dir/k"
		return
	fi
	# A killed review (scripts/review-kbuild.sh) may have left its series applied in place.
	[ ! -d "$src/.kvmcheck-review-journal" ] ||
		die 3 "build:$1: a review left a series applied in $src; run scripts/review-kbuild.sh src to revert it"
	msg "# build: configuring $src ($base + $(fragments "$base" | xargs -n1 basename | tr '\n' ' '))"
	configure "$src" "$obj" "$base"
	build "$src" "$obj" "$dir/k"
	echo "$dir/k"
}

# Header-only Debian packages have no command to test for.
need_pkg_header() {
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1" \
			>/dev/null 2>&1 || die 3 "could not install $1 (the kernel build needs it)"
	else
		die 3 "the kernel build needs $1: apt-get install $1"
	fi
}

main "$@"
