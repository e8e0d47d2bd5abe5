#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kernel-build.sh [OPTIONS] debian|TREE|TREE@REF    build a kernel with what kvmcheck needs turned on
#
#   debian        Debian sid's linux-source-7.x package (fetched like the kernels), configured
#                 from defconfig + kvm_guest.config + scripts/config/{trim,kvmcheck}.config
#   TREE          a kernel source tree; its .config when it has one (olddefconfig), else
#                 defconfig + kvm_guest.config + trim.config, + scripts/config/kvmcheck.config;
#                 built in the tree (in place, as git bisect expects)
#   TREE@REF      a git ref of TREE, checked out once into a worktree under the cache (the
#                 user's checkout is never switched or dirtied) and built there
#   DEBUG=1       the debug line: also merge scripts/config/debug.config (KASAN, lockdep,
#                 DEBUG_LIST), in a hard-linked copy of the source with its own object tree and
#                 lock, so a debug build never holds up a normal one of the same source
#
#   --arch ARCH   x86_64 (default) or riscv64 (cross-built with gcc-riscv64-linux-gnu, plus
#                 review/config/riscv64-trim.config; a clean TREE gets an object tree in the cache)
#   --source      print the source tree only: Debian's source is fetched and unpacked, a series
#                 an interrupted run left applied is reverted; nothing is configured or built
#   --series DIR  the kernel with DIR's *.patch applied in name order (`patch -p1`): the base is
#                 built (or taken from the cache) first, the series is applied in the base's own
#                 source tree, the object tree rebuilds only what it touched, the result is copied
#                 out and the series reverted. A journal in the source tree makes the revert
#                 happen even after a kill (whoever takes the tree next finishes it first).
#
# Prints a kernel directory on stdout in kernel-fetch.sh's layout (vmlinuz or Image,
# modules/lib/modules/<kver>, kver, arch, version, suite), so run_tests.sh takes it as
# --target qemu:DIR/vmlinuz:DIR/modules. Results are cached under ~/.cache/kvmcheck/builds/ by
# source version + arch + fragment hash (+ the series' hash): a second call with the same inputs
# builds nothing, and a changed fragment rebuilds only what it touches (the object tree is kept
# per source version). One lock per source tree: two builds never share a tree at once.
#
# Exit status: 0 built (or cached), 2 bad usage or not a kernel tree, 3 fetch or build failed
# (the reason and the log's path on stderr), 4 the series does not apply to this base.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

# The header above, up to the first line that is not a comment.
usage() {
	awk 'NR == 1 || /SPDX-License-Identifier/ { next } !/^#/ { exit }
		{ sub(/^# ?/, ""); if (started || $0 != "") { started = 1; print } }' "${BASH_SOURCE[0]}" >&2
	exit "${1:-2}"
}

builds=$(kvmcheck_cache)/builds
debug=${DEBUG:-0}
debug_suffix=""
[ "$debug" = 1 ] && debug_suffix=-debug
arch=x86_64

# --- what to build -------------------------------------------------------------------------

kmake_arch() { case $1 in x86_64) echo x86 ;; riscv64) echo riscv ;; esac; }
image_rel() { case $1 in x86_64) echo arch/x86/boot/bzImage ;; riscv64) echo arch/riscv/boot/Image ;; esac; }
image_name() { case $1 in x86_64) echo vmlinuz ;; riscv64) echo Image ;; esac; }
target_name() { case $1 in x86_64) echo bzImage ;; riscv64) echo Image ;; esac; }

# cross: the CROSS_COMPILE prefix, empty for a native build.
cross() {
	[ "$arch" = "$(uname -m)" ] && return 0
	need "$arch-linux-gnu-gcc" "gcc-${arch//_/-}-linux-gnu"
	echo "$arch-linux-gnu-"
}

# The fragments this build merges, in order; their hash is part of the cache key (kept as it
# was for x86_64, so the matrix's cached builds stay valid).
fragments() {
	[ "$1" = defconfig ] && echo "$here/config/trim.config"
	[ "$arch" = riscv64 ] && [ "$1" = defconfig ] && echo "$top/review/config/riscv64-trim.config"
	echo "$here/config/kvmcheck.config"
	[ "$debug" = 1 ] && echo "$here/config/debug.config"
	return 0
}

frag_hash() { fragments "$1" | xargs cat | sha256sum | cut -c1-12; }

# kmake ARGS...: make in the source tree with the arch, cross compiler and object tree.
kmake() {
	local cc
	cc=$(cross)
	make -C "$src" ${obj:+O="$obj"} ARCH="$(kmake_arch "$arch")" ${cc:+CROSS_COMPILE="$cc"} "$@"
}

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
		mkdir -p "$builds/src"
		# Two first fetches at once: one unpacks, the other waits and finds it complete.
		exec 7>"$builds/src/.fetch-lock"
		flock 7
	fi
	if [ ! -f "$srcdir/.kvmcheck-complete" ]; then
		msg "# build: downloading $pkg $ver"
		tmp=$(mktemp -d "$builds/.src.XXXXXX")
		# shellcheck disable=SC2064 # the path is fixed now
		trap "rm -rf '$tmp'" EXIT
		(cd "$tmp" && apt_private apt-get download "$pkg" >"$log" 2>&1) ||
			die 3 "build:debian: download of $pkg failed: $(grep -m1 -E '^(W|E):' "$log" | cut -c1-160)"
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards '*.tar.xz'
		tarball=$(find "$tmp" -name 'linux-source-*.tar.xz' | head -n1)
		[ -n "$tarball" ] || die 3 "build:debian: $pkg holds no linux-source tarball"
		msg "# build: unpacking $(basename "$tarball")"
		mkdir -p "$tmp/src"
		tar -xJf "$tarball" -C "$tmp/src" --strip-components=1
		touch "$tmp/src/.kvmcheck-complete"
		rm -rf "$srcdir"
		mv -T "$tmp/src" "$srcdir"
		rm -rf "$tmp"
		trap - EXIT
	fi
	exec 7>&-
	echo "$srcdir $ver"
}

# --- the source tree ---------------------------------------------------------------------------

# resolve SPEC: sets src, obj, ver, srcid (cache-key part), base (defconfig|olddefconfig).
resolve() {
	local spec=$1 dir ref="" sha
	if [ "$spec" = debian ]; then
		local fetched
		fetched=$(fetch_debian_source) || exit 3
		read -r src ver <<<"$fetched"
		srcid=debian
		base=defconfig
		# One object tree per source version and variant, whatever the fragments: a changed
		# fragment then rebuilds only what its options touch (Kbuild tracks CONFIG_ use per file).
		if [ "$arch" = x86_64 ] && [ "$debug" != 1 ]; then
			obj=$builds/obj/debian-$ver
		else
			# A hard-linked copy of its own (patch replaces a file, never writes through the
			# link): a series applied for a riscv64 or debug build never shows in a normal
			# x86_64 build of the same version running at the same time, and neither waits
			# for the other's tree lock.
			local pristine=$src variant=${arch#x86_64}$debug_suffix
			variant=${variant#-}
			src=$pristine.$variant
			if [ ! -f "$src/.kvmcheck-complete" ]; then
				exec 7>"$builds/src/.fetch-lock"
				flock 7
				if [ ! -f "$src/.kvmcheck-complete" ]; then
					msg "# build: hard-linking $pristine for $variant"
					local tmp
					tmp=$(mktemp -d "$builds/src/.link.XXXXXX")
					# Under the pristine tree's lock: never a copy of a series half applied.
					exec 9>"$(tree_lock_file "$pristine")"
					flock 9
					cp -al "$pristine/." "$tmp/"
					exec 9>&-
					rm -rf "$src"
					mv -T "$tmp" "$src"
				fi
				exec 7>&-
			fi
			obj=$builds/obj/debian-$ver-$variant
		fi
		return
	fi
	case $spec in
	*@*) dir=${spec%@*} ref=${spec##*@} ;;
	*) dir=$spec ;;
	esac
	dir=$(realpath -e "$dir" 2>/dev/null) || die 2 "build:$spec: no such kernel tree"
	{ [ -f "$dir/Makefile" ] && [ -f "$dir/Kconfig" ]; } ||
		die 2 "build:$spec: not a kernel tree (no Makefile/Kconfig)"
	if [ -n "$ref" ]; then
		need git git
		sha=$(git -C "$dir" rev-parse --verify -q "$ref^{commit}") ||
			die 2 "build:$spec: $ref is not a commit of $dir"
		src=$builds/wt/${sha:0:12}
		mkdir -p "$builds/wt"
		exec 7>"$builds/wt/.lock"
		flock 7
		if [ ! -f "$src/Makefile" ]; then
			rm -rf "$src"
			git -C "$dir" worktree add --detach -f "$src" "$sha" >/dev/null 2>&1 ||
				die 3 "build:$spec: git worktree add $src failed"
		fi
		exec 7>&-
		srcid=git-${sha:0:12}
	else
		src=$dir
		srcid=tree-$(printf '%s' "$src" | sha256sum | cut -c1-8)
	fi
	# The tree's own .config, unless it is the one an earlier call of ours wrote there.
	base=defconfig
	if [ -f "$src/.config" ] && [ "$(sha256sum <"$src/.config")" != "$(cat "$src/.kvmcheck-config.sha" 2>/dev/null)" ]; then
		base=olddefconfig
		# Merging debug.config into the user's own .config would leave KASAN on for every later
		# build of the tree: the debug line configures only trees kvmcheck configures itself.
		[ "$debug" != 1 ] || die 2 "DEBUG=1: $src has its own .config; the debug line configures from defconfig (use a clean tree, TREE@REF, or merge scripts/config/debug.config into your .config and use build:)"
	fi
	# A tree configured in place cannot also be built with O= (Kbuild refuses): the tree it is
	# for x86_64, or whenever it has its .config; a clean tree gets an object tree per arch.
	obj=""
	if [ "$arch" != x86_64 ] && [ "$base" = defconfig ]; then
		obj=$builds/obj/$srcid-$arch$debug_suffix
	fi
}

# tree_version: the tree's version as a cache-key part. A git tree's version is its commit (plus
# a hash of uncommitted changes): bisect visits many commits of one kernelversion.
tree_version() {
	local v
	v=$(make -s -C "$src" kernelversion 2>/dev/null) || die 3 "build:$src: make kernelversion failed"
	if git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
		v=$v-$(git -C "$src" rev-parse --short=12 HEAD)
		if ! git -C "$src" diff --quiet HEAD 2>/dev/null; then
			v=$v-dirty$(git -C "$src" diff HEAD | sha256sum | cut -c1-8)
		fi
	fi
	echo "$v"
}

# tree_lock_file TREE: the lock file of a source tree (and its object trees).
tree_lock_file() {
	mkdir -p "$builds/locks"
	echo "$builds/locks/$(printf '%s' "$1" | sha256sum | cut -c1-16).lock"
}

# lock_tree: the exclusive lock of this source tree, held until exit.
lock_tree() {
	exec 8>"$(tree_lock_file "$src")"
	flock 8
}

# --- the journal: a series applied in place, undone whatever happens -----------------------------

journal() { echo "$src/.kvmcheck-review-journal"; }

# touched PATCH...: the files the patches write, relative to the tree (-p1 paths).
touched() {
	sed -n -E 's#^(\+\+\+|---) ([^ \t]+).*#\2#p' "$@" | grep -v '^/dev/null$' | sed 's#^[^/]*/##' | sort -u
}

# finish_journal [quiet]: undo a series applied in place (one an interrupted run left, too).
# Originals are copied back with a fresh mtime (never cp -p): an older mtime would leave the
# patched object in place.
finish_journal() {
	local j f
	j=$(journal)
	[ -d "$j" ] || return 0
	[ "${1:-}" = quiet ] || msg "# build: reverting a series left applied in $src by an interrupted run"
	if [ -f "$j/files" ]; then
		while IFS= read -r f; do
			if [ -f "$j/orig/$f" ]; then
				cp "$j/orig/$f" "$src/$f.kvtmp" && mv -f "$src/$f.kvtmp" "$src/$f"
			else
				rm -f "$src/$f" # the series created it
			fi
		done <"$j/files"
	fi
	rm -rf "$j"
}

# apply_in_place PATCH...: journal the originals, break hard links, apply. 4 when one fails.
apply_in_place() {
	need patch patch
	local j f p
	j=$(journal)
	rm -rf "$j"
	mkdir -p "$j/orig"
	touched "$@" >"$j/files.tmp"
	while IFS= read -r f; do
		[ -f "$src/$f" ] || continue
		mkdir -p "$j/orig/$(dirname "$f")"
		cp -p "$src/$f" "$j/orig/$f"
		# A fresh inode: the riscv64 source is hard-linked to the pristine one.
		cp -p "$src/$f" "$src/$f.kvtmp" && mv -f "$src/$f.kvtmp" "$src/$f"
	done <"$j/files.tmp"
	mv "$j/files.tmp" "$j/files" # the journal is valid from here on
	for p in "$@"; do
		patch -p1 -d "$src" --no-backup-if-mismatch -r - -s -f -i "$p" >&2 || return 4
	done
}

# --- configure and build -------------------------------------------------------------------------

check_tools() {
	need make make
	need gcc gcc
	need flex flex
	need bison bison
	need bc bc
	need patch patch
	[ -f /usr/include/libelf.h ] || need_pkg_header libelf-dev
	[ -f /usr/include/openssl/ssl.h ] || need_pkg_header libssl-dev
	cross >/dev/null
}

# configure: write the .config from defconfig or the tree's own (olddefconfig) + fragments.
configure() {
	local extra=() f cfgdir=${obj:-$src}
	if [ "$base" = defconfig ]; then
		kmake defconfig >/dev/null
		# kvm_guest.config: virtio, paravirt and the serial console a QEMU guest boots with.
		[ -f "$src/kernel/configs/kvm_guest.config" ] && extra+=("$src/kernel/configs/kvm_guest.config")
	fi
	mapfile -t frags < <(fragments "$base")
	# -m: merge only (we run olddefconfig ourselves, with O= when there is one).
	ARCH=$(kmake_arch "$arch") "$src/scripts/kconfig/merge_config.sh" -m -O "$cfgdir" \
		"$cfgdir/.config" "${extra[@]}" "${frags[@]}" >"$cfgdir/.kvmcheck-merge.log" 2>&1 ||
		die 3 "merge_config.sh failed: see $cfgdir/.kvmcheck-merge.log"
	kmake olddefconfig >/dev/null
	[ "$base" = olddefconfig ] || sha256sum <"$cfgdir/.config" >"$cfgdir/.kvmcheck-config.sha"
	# Say what the fragment asked for but this kernel version lacks (not fatal: 6.1 has no
	# KVM_SW_PROTECTED_VM), so a missing feature is visible in the log, not a mystery skip.
	for f in "${frags[@]}"; do
		grep -E '^CONFIG_[A-Z0-9_]+=[ym]' "$f" | while IFS='=' read -r opt val; do
			grep -q -x "$opt=$val" "$cfgdir/.config" || msg "# build: $opt=$val not set (this kernel lacks it or its dependencies)"
		done
	done
	# A debug line without KASAN would pass as one while catching nothing more than build:.
	[ "$debug" != 1 ] || grep -q -x 'CONFIG_KASAN=y' "$cfgdir/.config" ||
		die 3 "DEBUG=1: CONFIG_KASAN=y did not survive olddefconfig (this kernel or compiler lacks it): no debug kernel built"
}

# build DEST: image + modules, modules_install into a staging directory next to DEST, the
# kernel-dir files, then one rename: DEST is complete or absent, never half-written.
build() {
	local dest=$1 log kver t0 stage
	log=${obj:-$src}/.kvmcheck-build.log
	t0=$(date +%s)
	mkdir -p "$(dirname "$dest")"
	stage=$(mktemp -d "$(dirname "$dest")/.stage.XXXXXX")
	# shellcheck disable=SC2064 # the path is fixed now
	trap "rm -rf '$stage'; rmdir --ignore-fail-on-non-empty '$(dirname "$dest")'; finish_journal quiet" EXIT
	msg "# build: make -j$(nproc) $(target_name "$arch") modules ($arch, log: $log)"
	kmake -j"$(nproc)" "$(target_name "$arch")" modules >"$log" 2>&1 ||
		die 3 "build failed: $(grep -m1 -E ' error|Error ' "$log" | cut -c1-200); full log: $log"
	mkdir -p "$stage/modules"
	kmake INSTALL_MOD_PATH="$stage/modules" INSTALL_MOD_STRIP=1 modules_install >>"$log" 2>&1 ||
		die 3 "modules_install failed: see $log"
	kver=$(cat "${obj:-$src}/include/config/kernel.release")
	cp "${obj:-$src}/$(image_rel "$arch")" "$stage/$(image_name "$arch")"
	# Where Debian's packages keep it: the initramfs copies it, and tests read it to tell "not
	# built" from "broken" (a missing /sys/kernel/debug/vfio under CONFIG_VFIO_DEBUGFS=y).
	mkdir -p "$stage/modules/lib/modules/$kver"
	cp "${obj:-$src}/.config" "$stage/modules/lib/modules/$kver/config"
	echo "$kver" >"$stage/kver"
	echo "$arch" >"$stage/arch"
	echo custom >"$stage/suite"
	echo "$(($(date +%s) - t0))" >"$stage/build_s"
	echo "$kver" >"$stage/version"
	rm -rf "$dest"
	mv -T "$stage" "$dest"
	trap finish_journal_quiet EXIT
	msg "# build: $kver ($arch) in $(($(date +%s) - t0)) s"
}
# shellcheck disable=SC2317 # run from the EXIT traps above
finish_journal_quiet() { finish_journal quiet; }

# base_kernel: the kernel of the source as it is; prints its directory. Holds the tree's lock.
base_kernel() {
	local key dir suffix=$debug_suffix
	[ "$arch" = x86_64 ] || suffix=-$arch$suffix
	key=$srcid-$ver-$(frag_hash "$base")$suffix
	dir=$builds/$key
	if [ -f "$dir/k/version" ]; then
		msg "# build: $key (cached)"
		echo "$dir/k"
		return
	fi
	msg "# build: configuring $src ($arch: $base + $(fragments "$base" | xargs -n1 basename | tr '\n' ' '))"
	check_tools
	[ -z "$obj" ] || mkdir -p "$obj"
	configure
	build "$dir/k"
	echo "$dir/k"
}

# after_kernel PATCH_DIR: the base + the series; prints its directory.
after_kernel() {
	local pdir=$1 basek hash dir patches rc=0
	mapfile -t patches < <(find "$pdir" -maxdepth 1 -name '*.patch' -type f | sort)
	[ ${#patches[@]} -gt 0 ] || die 2 "--series $pdir holds no *.patch"
	basek=$(base_kernel) || exit $?
	hash=$(cat "${patches[@]}" | sha256sum | cut -c1-12)
	dir=$(dirname "$basek")-series-$hash
	if [ -f "$dir/k/version" ]; then
		msg "# build: after $hash ($arch, cached)"
		echo "$dir/k"
		return
	fi
	trap finish_journal_quiet EXIT
	apply_in_place "${patches[@]}" || rc=$?
	if [ "$rc" != 0 ]; then
		finish_journal quiet
		die 4 "the series in $pdir does not apply to $src"
	fi
	# Same object tree as the base: only what the series touched recompiles.
	build "$dir/k"
	finish_journal quiet
	msg "# build: series reverted in $src"
	echo "$basek" >"$dir/k/base"
	echo "$dir/k"
}

main() {
	local mode=build series="" spec
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) usage 0 ;;
		--arch)
			[ $# -ge 2 ] || die 2 "--arch needs a value"
			arch=$(kernel_arch "$2") || die 2 "--arch $2: x86_64 or riscv64"
			shift 2
			;;
		--source) mode=source; shift ;;
		--series)
			[ $# -ge 2 ] || die 2 "--series needs a directory"
			[ -d "$2" ] || die 2 "--series $2: no such directory"
			series=$(realpath "$2")
			shift 2
			;;
		--) shift; break ;;
		-*) die 2 "unknown option $1 (see --help)" ;;
		*) break ;;
		esac
	done
	[ $# = 1 ] || usage
	[ "$mode" = build ] || [ -z "$series" ] || die 2 "--source and --series exclude each other"
	spec=$1
	mkdir -p "$builds"
	resolve "$spec"
	# Whoever holds the tree reverts what an interrupted run left applied, before anything reads
	# or builds it.
	lock_tree
	finish_journal
	if [ "$mode" = source ]; then
		echo "$src"
		return
	fi
	[ "$spec" = debian ] || ver=$(tree_version)
	if [ -n "$series" ]; then
		after_kernel "$series"
	else
		base_kernel
	fi
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

# One line, so bash has read all it will run before it runs it: a build takes tens of minutes,
# and an edit of this file meanwhile (a git pull) must not be read half-way.
main "$@"; exit
