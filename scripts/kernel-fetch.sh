#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kernel-fetch.sh SUITE [ARCH]           Debian's current kernel of SUITE (bookworm|trixie|sid),
#                                        ARCH amd64 (default) or riscv64
# kernel-fetch.sh IMAGE[:MODULES_DIR]    a kernel you built: bzImage/Image, and optionally a
#                                        directory holding lib/modules/<kver> (or that dir itself)
#
# Prints one kernel directory on stdout; progress goes to stderr. The directory holds
#   vmlinuz (x86_64) or Image (riscv64)   the kernel
#   modules/lib/modules/<kver>/           its modules (absent when none were given)
#   kver, arch, version, suite            plain-text facts for the other scripts
#   debs.sha256, manifest                 (Debian's) the packages' hashes; every file's
#                                         sha256, size and mtime at unpack time
# A user's kernel directory holds symlinks to the image and the modules tree, which may be the
# install root (X/lib/modules/<kver>, X/usr/lib/modules/<kver>), <kver> itself, or a kernel
# directory's modules/; a tree without modules.dep is fine (initramfs.sh runs depmod aside).
#
# Debian kernels land in ${XDG_CACHE_HOME:-~/.cache}/kvmcheck/kernels/<suite>-<arch>/<version>/.
# Suites move (sid gets a new kernel every few weeks), so the metapackage is resolved, never a
# pinned version; the answer is reused for KVMCHECK_KERNEL_TTL seconds (default one day) so a
# second call needs no network. KVMCHECK_OFFLINE=1 never touches the network. KVMCHECK_MIRROR
# overrides the Debian mirror, which otherwise comes from this machine's apt configuration.
#
# A Debian kernel is verified, never trusted: each .deb against the SHA256 of the suite's
# Packages index at download; the unpacked files' sha256, size and mtime go to the directory's
# 'manifest', written last (a directory without one is incomplete). Every use compares sizes and
# mtimes of all files and hashes the image and the metadata (KVMCHECK_VERIFY=full hashes the
# modules too); a mismatch is named and the kernel fetched again. A user's image is checked by
# its boot header (python3 -m kvmcheck.kernels). Two runs at once share one download: every
# write is under a lock, to a temporary, renamed into place.
#
# Exit status: 0 a kernel directory printed, 2 bad usage or a bad image (named), 3 the kernel
# could not be fetched or verified (the reason on stderr).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

usage() {
	usage_header "$0"
	exit "${1:-2}"
}

# --- Debian's kernels ------------------------------------------------------------------------

# The kernel packages under the metapackage, one "name version" per line. Old kernels are one
# linux-image-<kver> package; newer ones split into linux-image (empty), linux-binary (the
# image), linux-modules and linux-base (modules.order/builtin, which depmod needs). Follow
# Depends (first alternatives), one apt-cache call per level: each call parses the whole
# Packages file, about a second.
resolve_packages() {
	local level=("$1") seen=" "
	while [ ${#level[@]} -gt 0 ]; do
		local next=() name ver deps d
		while IFS=$'\t' read -r name ver deps; do
			[ "$name" = "$1" ] || echo "$name $ver"
			for d in $(printf '%s\n' "$deps" | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/:.*//; s/ //g'); do
				case $d in
				linux-image-[0-9]* | linux-binary-[0-9]* | linux-modules-[0-9]* | linux-base-[0-9]*)
					case $seen in *" $d "*) continue ;; esac
					seen="$seen$d "
					next+=("$d")
					;;
				esac
			done
		done < <(apt_private apt-cache show --no-all-versions "${level[@]}" 2>/dev/null |
			awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Depends: /{sub(/^Depends: */,""); d=$0}
			     /^$/{ if (p != "") print p "\t" v "\t" d; p=v=d="" }
			     END{ if (p != "") print p "\t" v "\t" d }')
		level=("${next[@]}")
	done
}

# --- the manifest: what a kernel directory held when it was unpacked -------------------------

# files DIR: every file of a kernel directory but the manifest, sorted; module paths hold no
# blanks, which the manifest's space-separated fields rely on.
files() { (cd "$1" && find . -type f ! -name manifest -printf '%P\n' | LC_ALL=C sort); }

# Lines "SHA256 SIZE MTIME PATH", sorted by PATH, for every file in the directory.
write_manifest() {
	local d=$1
	files "$d" >"$tmp/files"
	(cd "$d" && paste -d' ' <(xargs -r -d '\n' sha256sum -- <"$tmp/files" | cut -d' ' -f1) \
		<(xargs -r -d '\n' stat -c '%s %.9Y %n' -- <"$tmp/files")) | write_atomic "$d/manifest"
}

# verify_dir DIR: silent when DIR is as its manifest says; otherwise prints why (one line) and
# fails. Sizes and mtimes of every file, and the hash of everything outside the modules' kernel/
# tree (the image, kver/arch/version, modules.dep …); KVMCHECK_VERIFY=full hashes all.
verify_dir() {
	local d=$1 first side f bad
	[ -s "$d/manifest" ] || { echo "no manifest (incomplete, or written by an older kvmcheck)"; return 1; }
	first=$(diff <(awk '{ print $2, $3, $4 }' "$d/manifest") \
		<(files "$d" | (cd "$d" && xargs -r -d '\n' stat -c '%s %.9Y %n' --)) |
		awk '/^[<>]/ { print $1, $4; exit }')
	if [ -n "$first" ]; then
		side=${first%% *} f=${first#* }
		if [ "$side" = '<' ] && [ ! -e "$d/$f" ]; then
			echo "$d/$f is missing"
		elif [ "$side" = '>' ] && ! awk -v f="$f" '$4 == f { found = 1 } END { exit !found }' "$d/manifest"; then
			echo "$d/$f was not there when it was unpacked"
		else
			echo "$d/$f changed since it was unpacked (size or mtime differs)"
		fi
		return 1
	fi
	if ! bad=$(cd "$d" && awk -v full="${KVMCHECK_VERIFY:-}" \
		'full == "full" || $4 !~ /^modules\/lib\/modules\/[^\/]*\/kernel\// { print $1 "  " $4 }' manifest |
		sha256sum -c --quiet --strict 2>/dev/null); then
		f=$(printf '%s\n' "$bad" | sed -n 's/: FAILED.*//p' | head -n1)
		echo "$d/${f:-?}: sha256 differs from the one recorded when it was unpacked"
		return 1
	fi
}

# --- fetching --------------------------------------------------------------------------------

# set_current VERSION: the suite's current version and the time it was checked, each replaced
# whole: a reader in another run sees the old or the new file, never an empty one.
set_current() {
	printf '%s\n' "$1" | write_atomic "$base/current"
	date +%s | write_atomic "$base/checked"
}

debian_kernel() {
	suite=$1
	arch=$(deb_arch "${2:-amd64}") || die 2 "unknown architecture ${2:-}: use amd64 or riscv64"
	case $suite in
	bookworm | trixie | sid) ;;
	unstable) suite=sid ;;
	*) die 2 "unknown suite $suite: use bookworm, trixie, sid or a path to a kernel image" ;;
	esac
	[ "$suite/$arch" = bookworm/riscv64 ] && die 2 "bookworm has no riscv64 kernel: use trixie or sid"

	local ttl now checked=0 cur="" bad="" dir why="" t0
	t0=$EPOCHREALTIME
	base="$(kvmcheck_cache)/kernels/$suite-$arch"
	aptdir=$base/apt
	mkdir -p "$aptdir"
	# Two runs fetching the same suite would trample each other's apt state and downloads; a
	# reader waits too, so it never verifies a directory being replaced.
	exec 9>>"$base/.lock"
	lock_wait 9 "$base/.lock" "the $suite $arch kernel"
	# Writers hold the lock while these exist: any seen now is from a killed run.
	find "$base" -mindepth 1 -maxdepth 1 \( -name '.new.*' -o -name '.old.*' -o -name '.current.*' \
		-o -name '.checked.*' \) -exec rm -rf {} +

	[ -s "$base/current" ] && cur=$(cat "$base/current")
	# A version name, nothing else: a damaged 'current' must not point outside $base.
	[[ $cur =~ ^[A-Za-z0-9][A-Za-z0-9.+~:-]*$ ]] && cur=$base/$cur || cur=""
	if [ -n "$cur" ] && [ -d "$cur" ]; then
		if ! why=$(verify_dir "$cur"); then
			msg "# kernel: the cached $suite $arch kernel is damaged: $why"
			bad=$cur cur=""
		fi
	else
		cur=""
	fi
	[ -f "$base/checked" ] && checked=$(stat -c %Y "$base/checked")
	now=$(date +%s)
	ttl=${KVMCHECK_KERNEL_TTL:-86400}
	if [ -n "$cur" ] && { [ "${KVMCHECK_OFFLINE:-0}" = 1 ] || [ $((now - checked)) -lt "$ttl" ]; }; then
		msg "# kernel: $suite $arch $(cat "$cur/version") (cached, verified in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s; checked $(((now - checked) / 60)) min ago)"
		echo "$cur"
		return
	fi
	[ "${KVMCHECK_OFFLINE:-0}" != 1 ] || die 3 "KVMCHECK_OFFLINE=1 and no usable cached $suite $arch kernel${why:+ (${why})}: run once without KVMCHECK_OFFLINE to fetch it"

	need apt-get apt
	need dpkg-deb dpkg
	need depmod kmod
	local log uri
	apt_setup "$aptdir" "$suite" "$arch"
	uri=$(mirror_uri)

	msg "# kernel: resolving linux-image-$arch in $suite ($uri)"
	log=$aptdir/update.log
	if ! apt_private apt-get update >"$log" 2>&1 ||
		grep -q -E '^(W: Failed|E: )' "$log"; then
		if [ -n "$cur" ]; then
			msg "# kernel: no network ($(grep -m1 -E '^(W|E):' "$log" | cut -c1-120)); using cached $suite $arch $(cat "$cur/version")"
			echo "$cur"
			return
		fi
		die 3 "cannot reach $uri for the $suite package list (no network?): $(grep -m1 -E '^(W|E):' "$log" | cut -c1-160)"
	fi

	local meta=linux-image-$arch resolved pkgs version image_pkg
	resolved=$(resolve_packages "$meta")
	mapfile -t pkgs < <(printf '%s\n' "$resolved" | cut -d' ' -f1)
	image_pkg=$(printf '%s\n' "$resolved" | grep -m1 '^linux-image-' || true)
	[ -n "$image_pkg" ] || die 3 "$suite has no $meta that depends on a linux-image package"
	version=${image_pkg#* }
	image_pkg=${image_pkg%% *}
	dir=$base/$version
	if [ -d "$dir" ] && [ "$dir" != "$bad" ]; then
		if why=$(verify_dir "$dir"); then
			set_current "$version"
			msg "# kernel: $suite $arch $version (cached, still current)"
			echo "$dir"
			return
		fi
		msg "# kernel: the cached $suite $arch kernel is damaged: $why: fetching it again"
	fi

	msg "# kernel: downloading ${pkgs[*]}"
	local tmp t1
	t1=$(date +%s)
	tmp=$(mktemp -d "$base/.new.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM HUP
	mkdir -p "$tmp/debs" "$tmp/root"
	(cd "$tmp/debs" && apt_private apt-get download "${pkgs[@]}" >"$log" 2>&1) ||
		die 3 "download of ${pkgs[*]} failed (no network?): $(grep -m1 -E '^(W|E):' "$log" | cut -c1-160)"
	# apt checks the index's hashes too; this check is ours, and its record stays with the kernel.
	local deb p want got
	for p in "${pkgs[@]}"; do
		deb=$(find "$tmp/debs" -maxdepth 1 -name "${p}_*.deb" | head -n1)
		[ -n "$deb" ] || die 3 "apt-get download left no .deb for $p"
		want=$(apt_private apt-cache show --no-all-versions "$p" 2>/dev/null | sed -n 's/^SHA256: //p' | head -n1)
		[ -n "$want" ] || die 3 "the $suite Packages index has no SHA256 for $p"
		got=$(sha256sum <"$deb" | cut -d' ' -f1)
		[ "$got" = "$want" ] || die 3 "${deb##*/}: sha256 $got, but the $suite Packages index says $want (a broken mirror or download)"
		printf '%s  %s\n' "$got" "${deb##*/}" >>"$tmp/debs.sha256"
	done
	for deb in "$tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tmp/root" || die 3 "dpkg-deb -x ${deb##*/} failed (disk full?)"
	done
	rm -rf "$tmp/debs"

	# usr-merged packages put everything under usr/lib/modules/<kver> (the image too); older
	# ones use lib/modules/<kver> and boot/vmlinuz-<kver>.
	local mroot kver img=""
	for mroot in "$tmp/root/usr/lib/modules" "$tmp/root/lib/modules"; do
		[ -d "$mroot" ] && break
	done
	[ -d "$mroot" ] || die 3 "$image_pkg has no lib/modules directory"
	kver=$(find "$mroot" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -n1)
	for img in "$mroot/$kver/vmlinuz" "$mroot/$kver/vmlinux" "$mroot/$kver/Image" \
		"$tmp/root/boot/vmlinuz-$kver" "$tmp/root/boot/vmlinux-$kver" ""; do
		[ -z "$img" ] || [ -f "$img" ] && break
	done
	[ -n "$img" ] || die 3 "no kernel image in ${pkgs[*]}"
	mkdir -p "$tmp/k/modules/lib/modules"
	if [ "$arch" = riscv64 ]; then mv "$img" "$tmp/k/Image"; else mv "$img" "$tmp/k/vmlinuz"; fi
	mv "$mroot/$kver" "$tmp/k/modules/lib/modules/$kver"
	# Debian generates modules.dep in postinst, which we never run.
	depmod -b "$tmp/k/modules" "$kver" || die 3 "depmod on the unpacked $kver failed"
	mv "$tmp/debs.sha256" "$tmp/k/debs.sha256"
	echo "$kver" >"$tmp/k/kver"
	kernel_arch "$arch" >"$tmp/k/arch"
	echo "$suite" >"$tmp/k/suite"
	echo "$version" >"$tmp/k/version"
	write_manifest "$tmp/k" # last: marks the directory complete
	if [ -e "$dir" ]; then
		# Renamed aside before removal: the directory is either the old or the new one, whole.
		local old
		old=$(mktemp -d "$base/.old.XXXXXX")
		mv "$dir" "$old/"
		rm -rf "$old"
	fi
	mv "$tmp/k" "$dir"
	rm -rf "$tmp"
	trap - EXIT INT TERM HUP
	set_current "$version"
	# Keep the previous kernel (a run in flight may use it), drop older ones: each is ~120 MB.
	find "$base" -mindepth 1 -maxdepth 1 -type d ! -name apt ! -name '.*' -printf '%T@ %p\n' |
		sort -rn | tail -n +3 | cut -d' ' -f2- | while read -r old; do rm -rf "$old"; done
	msg "# kernel: $suite $arch $version ($kver) in $(($(date +%s) - t1)) s"
	echo "$dir"
}

{ [ $# -ge 1 ] && [ $# -le 2 ]; } || usage
case $1 in
-h | --help) usage 0 ;;
esac
# A path (it has a slash or names an existing file) is a user's kernel; a bare word a suite.
if [ -e "${1%%:*}" ] || [[ $1 == */* ]]; then
	[ $# = 1 ] || usage
	# One reader of a user's image (boot header, size, release, modules) for every caller.
	PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} exec python3 -m kvmcheck.kernels --prog "${0##*/}" materialize "$1"
else
	debian_kernel "$@"
fi
