#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# review-kbuild.sh [--arch x86_64|riscv64] base                the base kernel of a review
# review-kbuild.sh [--arch x86_64|riscv64] after PATCH_DIR     base + the series in PATCH_DIR
# review-kbuild.sh [--arch x86_64|riscv64] src                 the base source tree (no build)
#
# The kernel builds behind scripts/review.sh. Prints a kernel directory (kernel-fetch.sh's
# layout: vmlinuz or Image, modules/, kver, arch, version, suite) on stdout.
#
#   BASE=debian     (default) Debian sid's linux-source, as kernel-build.sh fetches it
#   BASE=DIR        a kernel tree;  BASE=DIR@REF  a git ref of that tree (checked out once
#                   into a worktree under the cache, never in DIR itself)
#   PATCH_DIR       *.patch files applied in name order with `patch -p1` (review.sh has already
#                   proved they apply: this script refuses a series that does not)
#
# Cost model: the base build is cached per (source, arch, fragments). The after build is done
# in the base's own source and object trees: the series is applied in place, the object tree
# rebuilds only what the series touched (Kbuild's own dependency tracking), the result is
# copied out, and the series is reverted. A journal in the source tree makes the revert happen
# even after a kill (the next call finishes it first). An after build is cached per series hash.
#
# Exit status: 0 built (or cached), 2 bad usage, 3 build failed (log path on stderr),
# 4 the series does not apply to this base, 5 BASE is not a kernel tree.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,21s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

builds=$(kvmcheck_cache)/builds
rvcache=$builds/review

# --- what to build -------------------------------------------------------------------------

# Make's ARCH and the image each architecture boots.
kmake_arch() { case $1 in x86_64) echo x86 ;; riscv64) echo riscv ;; esac; }
image_rel() { case $1 in x86_64) echo arch/x86/boot/bzImage ;; riscv64) echo arch/riscv/boot/Image ;; esac; }
image_name() { case $1 in x86_64) echo vmlinuz ;; riscv64) echo Image ;; esac; }
target_name() { case $1 in x86_64) echo bzImage ;; riscv64) echo Image ;; esac; }

# cross ARCH: the CROSS_COMPILE prefix, empty for a native build.
cross() {
	[ "$1" = "$(uname -m)" ] && return 0
	need "$1-linux-gnu-gcc" "gcc-${1//_/-}-linux-gnu"
	echo "$1-linux-gnu-"
}

# The fragments merged over defconfig, in order (kernel-build.sh's for x86, plus the riscv
# trim); their hash is part of every cache key.
fragments() {
	local src=$1 arch=$2
	[ -f "$src/kernel/configs/kvm_guest.config" ] && echo "$src/kernel/configs/kvm_guest.config"
	echo "$here/config/trim.config"
	[ "$arch" = riscv64 ] && echo "$top/review/config/riscv64-trim.config"
	echo "$here/config/kvmcheck.config"
}
frag_hash() { fragments "$1" "$2" | xargs cat | sha256sum | cut -c1-12; }

# kmake SRC OBJ ARCH ARGS...: make with the arch, cross compiler and object tree.
kmake() {
	local src=$1 obj=$2 arch=$3
	shift 3
	local cc
	cc=$(cross "$arch")
	make -C "$src" ${obj:+O="$obj"} ARCH="$(kmake_arch "$arch")" ${cc:+CROSS_COMPILE="$cc"} "$@"
}

# configure SRC OBJ ARCH: defconfig + fragments, unless the tree brings its own .config.
configure() {
	local src=$1 obj=$2 arch=$3 cfg=${2:-$1}/.config
	if [ -n "$obj" ] || [ ! -f "$cfg" ]; then
		kmake "$src" "$obj" "$arch" defconfig >/dev/null
	fi
	mapfile -t frags < <(fragments "$src" "$arch")
	ARCH=$(kmake_arch "$arch") "$src/scripts/kconfig/merge_config.sh" -m -O "${obj:-$src}" "$cfg" \
		"${frags[@]}" >"${obj:-$src}/.kvmcheck-merge.log" 2>&1 ||
		die 3 "merge_config.sh failed: see ${obj:-$src}/.kvmcheck-merge.log"
	kmake "$src" "$obj" "$arch" olddefconfig >/dev/null
}

# build SRC OBJ ARCH STAGE: image + modules into STAGE in kernel-fetch.sh's layout.
build() {
	local src=$1 obj=$2 arch=$3 stage=$4 log kver t0
	log=${obj:-$src}/.kvmcheck-build.log
	t0=$(date +%s)
	msg "# review-kbuild: make -j$(nproc) $(target_name "$arch") modules ($arch, log: $log)"
	kmake "$src" "$obj" "$arch" -j"$(nproc)" "$(target_name "$arch")" modules >"$log" 2>&1 ||
		die 3 "build failed: $(grep -m1 -E ' error|Error ' "$log" | cut -c1-200); full log: $log"
	rm -rf "$stage"
	mkdir -p "$stage/modules"
	kmake "$src" "$obj" "$arch" INSTALL_MOD_PATH="$stage/modules" INSTALL_MOD_STRIP=1 \
		modules_install >>"$log" 2>&1 || die 3 "modules_install failed: see $log"
	kver=$(cat "${obj:-$src}/include/config/kernel.release")
	cp "${obj:-$src}/$(image_rel "$arch")" "$stage/$(image_name "$arch")"
	echo "$kver" >"$stage/kver"
	echo "$arch" >"$stage/arch"
	echo custom >"$stage/suite"
	echo "$(($(date +%s) - t0))" >"$stage/build_s"
	echo "$kver" >"$stage/version" # last: marks the directory complete
	msg "# review-kbuild: $kver ($arch) in $(($(date +%s) - t0)) s"
}

# --- the base source -------------------------------------------------------------------------

# resolve_base ARCH: sets src, obj, srcid (cache-key part) and lock for BASE.
resolve_base() {
	local arch=$1 base=${BASE:-debian} dir ref sha
	case $base in
	debian)
		debian_source "$arch"
		return
		;;
	*@*) dir=${base%@*} ref=${base##*@} ;;
	*) dir=$base ref="" ;;
	esac
	dir=$(realpath "$dir" 2>/dev/null) || die 5 "BASE=$base: no such directory"
	{ [ -f "$dir/Makefile" ] && [ -f "$dir/Kconfig" ] && [ -d "$dir/arch" ]; } ||
		die 5 "BASE=$base: not a kernel tree (no Makefile, Kconfig and arch/)"
	if [ -n "$ref" ]; then
		sha=$(git -C "$dir" rev-parse --verify -q "$ref^{commit}") ||
			die 5 "BASE=$base: $ref is not a commit of $dir"
		src=$rvcache/wt-${sha:0:12}
		# A worktree of our own: the user's checkout is never switched or dirtied.
		if [ ! -f "$src/Makefile" ]; then
			mkdir -p "$rvcache"
			git -C "$dir" worktree add --detach -f "$src" "$sha" >/dev/null 2>&1 ||
				die 5 "BASE=$base: git worktree add failed"
		fi
		srcid=git-${sha:0:12}
	else
		src=$dir
		srcid=tree-$(printf '%s' "$src" | sha256sum | cut -c1-8)
	fi
	# A tree configured in place cannot also be built with O= (Kbuild refuses): use its own
	# build then; a clean tree gets an object tree of its own per arch.
	if [ -f "$src/.config" ]; then obj=""; else obj=$rvcache/obj-$srcid-$arch; fi
	lock=${obj:-$src}/.kvmcheck-lock
}

# debian_source ARCH: the cached Debian source (fetched by kernel-build.sh when absent). x86
# uses kernel-build.sh's source and object trees as they are, so the base is its cached build;
# riscv gets a hard-linked copy of the source (its own path, so a series applied there for a
# riscv review never shows in an x86 build running at the same time).
debian_source() {
	local arch=$1 pristine
	pristine=$(find "$builds/src" -mindepth 2 -maxdepth 2 -name .kvmcheck-complete 2>/dev/null |
		sort -V | tail -n1)
	if [ -z "$pristine" ]; then
		msg "# review-kbuild: no Debian source cached yet: kernel-build.sh debian fetches it"
		"$here/kernel-build.sh" debian >/dev/null || die 3 "kernel-build.sh debian failed"
		pristine=$(find "$builds/src" -mindepth 2 -maxdepth 2 -name .kvmcheck-complete | sort -V | tail -n1)
	fi
	pristine=$(dirname "$pristine")
	local ver=${pristine##*/linux-source-}
	ver=${ver#*-} # linux-source-7.2-7.2.13-1 -> 7.2.13-1
	srcid=debian-$ver
	if [ "$arch" = x86_64 ]; then
		src=$pristine
		obj=$builds/obj/debian-$ver
	else
		src=$pristine.$arch
		if [ ! -f "$src/.kvmcheck-complete" ]; then
			msg "# review-kbuild: hard-linking $pristine for $arch"
			rm -rf "$src.tmp"
			cp -al "$pristine" "$src.tmp"
			mv "$src.tmp" "$src"
		fi
		obj=$builds/obj/debian-$ver-$arch
	fi
	lock=$obj/.kvmcheck-lock
}

# --- base ----------------------------------------------------------------------------------

# base_kernel ARCH: prints the base kernel dir, building it once.
base_kernel() {
	local arch=$1 dir
	if [ "${BASE:-debian}" = debian ] && [ "$arch" = x86_64 ]; then
		# A series a killed review left in the shared source must go before kernel-build.sh
		# builds there (it knows nothing of the journal).
		mkdir -p "$obj"
		(
			exec 8>"$lock"
			flock 8
			finish_journal
		)
		# kernel-build.sh's own cached build is this base: same source, fragments, objects.
		"$here/kernel-build.sh" debian
		return
	fi
	dir=$rvcache/base-$srcid-$arch-$(frag_hash "$src" "$arch")
	if [ ! -f "$dir/k/version" ]; then
		mkdir -p "$dir" ${obj:+"$obj"}
		exec 8>"$lock"
		flock 8
		finish_journal
		if [ ! -f "$dir/k/version" ]; then
			msg "# review-kbuild: configuring $src for $arch"
			configure "$src" "$obj" "$arch"
			build "$src" "$obj" "$arch" "$dir/k"
		fi
		exec 8>&-
	else
		msg "# review-kbuild: base $srcid $arch (cached)"
	fi
	echo "$dir/k"
}

# --- after: the series in place, then reverted ------------------------------------------------

journal() { echo "$src/.kvmcheck-review-journal"; }

# touched PATCH...: the files the patches write, relative to the tree (-p1 paths).
touched() {
	sed -n -E 's#^(\+\+\+|---) ([^ \t]+).*#\2#p' "$@" | grep -v '^/dev/null$' | sed 's#^[^/]*/##' | sort -u
}

# finish_journal [quiet]: undo the series applied in place (one left by an interrupted run too). Originals are copied back
# with a fresh mtime (never cp -p): an older mtime would leave the patched object in place.
finish_journal() {
	local j f
	j=$(journal)
	[ -d "$j" ] || return 0
	[ "${1:-}" = quiet ] || msg "# review-kbuild: reverting a series left applied in $src by an interrupted run"
	while IFS= read -r f; do
		if [ -f "$j/orig/$f" ]; then
			cp "$j/orig/$f" "$src/$f.kvtmp" && mv -f "$src/$f.kvtmp" "$src/$f"
		else
			rm -f "$src/$f" # the series created it
		fi
	done <"$j/files"
	rm -rf "$j"
}

# apply_in_place PATCH...: journal the originals, break hard links, apply. Returns patch's rc.
apply_in_place() {
	local j f p
	j=$(journal)
	mkdir -p "$j/orig"
	touched "$@" >"$j/files.tmp"
	while IFS= read -r f; do
		[ -f "$src/$f" ] || continue
		mkdir -p "$j/orig/$(dirname "$f")"
		cp -p "$src/$f" "$j/orig/$f"
		# A fresh inode: the riscv source is hard-linked to the pristine one.
		cp -p "$src/$f" "$src/$f.kvtmp" && mv -f "$src/$f.kvtmp" "$src/$f"
	done <"$j/files.tmp"
	mv "$j/files.tmp" "$j/files" # the journal is valid from here on
	for p in "$@"; do
		patch -p1 -d "$src" --no-backup-if-mismatch -r - -s -f <"$p" >&2 || return 4
	done
}

# after_kernel ARCH PATCH_DIR: prints the after kernel dir.
after_kernel() {
	local arch=$1 pdir=$2 base hash dir patches rc=0
	mapfile -t patches < <(find "$pdir" -maxdepth 1 -name '*.patch' | sort)
	[ ${#patches[@]} -gt 0 ] || die 2 "$pdir holds no *.patch"
	base=$(base_kernel "$arch") || exit $?
	hash=$(cat "${patches[@]}" | sha256sum | cut -c1-12)
	dir=$rvcache/after-$srcid-$arch-$(frag_hash "$src" "$arch")-$hash
	if [ -f "$dir/k/version" ]; then
		msg "# review-kbuild: after $hash $arch (cached)"
		echo "$dir/k"
		return
	fi
	mkdir -p "$dir" ${obj:+"$obj"}
	exec 8>"$lock"
	flock 8
	finish_journal
	trap finish_journal EXIT
	apply_in_place "${patches[@]}" || rc=$?
	if [ "$rc" != 0 ]; then
		finish_journal quiet
		die 4 "the series does not apply to $srcid (patch failed)"
	fi
	# Same object tree as the base: only what the series touched recompiles.
	[ -f "${obj:-$src}/.config" ] || configure "$src" "$obj" "$arch"
	(build "$src" "$obj" "$arch" "$dir/k") || rc=$?
	finish_journal quiet
	msg "# review-kbuild: series reverted in $src"
	trap - EXIT
	[ "$rc" = 0 ] || exit "$rc"
	echo "$base" >"$dir/k/base"
	echo "$dir/k"
}

main() {
	local arch
	arch=$(uname -m)
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) usage ;;
		--arch) [ $# -ge 2 ] || usage; arch=$(kernel_arch "$2") || die 2 "--arch: x86_64 or riscv64"; shift 2 ;;
		*) break ;;
		esac
	done
	[ $# -ge 1 ] || usage
	need make make
	need flex flex
	need bison bison
	need bc bc
	need patch patch
	resolve_base "$arch"
	case $1 in
	src) [ $# = 1 ] || usage; echo "$src" ;;
	base) [ $# = 1 ] || usage; base_kernel "$arch" ;;
	after) [ $# = 2 ] || usage; after_kernel "$arch" "$2" ;;
	*) usage ;;
	esac
}

main "$@"
