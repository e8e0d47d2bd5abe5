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
#   kver, arch, version                   plain-text facts for the other scripts
#
# Debian kernels land in ${XDG_CACHE_HOME:-~/.cache}/kvmcheck/kernels/<suite>-<arch>/<version>/.
# Suites move (sid gets a new kernel every few weeks), so the metapackage is resolved, never a
# pinned version; the answer is reused for KVMCHECK_KERNEL_TTL seconds (default one day) so a
# second call needs no network. KVMCHECK_OFFLINE=1 never touches the network. KVMCHECK_MIRROR
# overrides the Debian mirror, which otherwise comes from this machine's apt configuration.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

usage() {
	msg "usage: ${0##*/} bookworm|trixie|sid [amd64|riscv64]"
	msg "       ${0##*/} /path/to/bzImage[:MODULES_DIR]"
	exit 2
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

# A kernel dir is complete once the 'version' file exists: it is written last.
valid_dir() { [ -n "$1" ] && [ -f "$1/version" ] && { [ -f "$1/vmlinuz" ] || [ -f "$1/Image" ]; }; }

debian_kernel() {
	suite=$1
	arch=$(deb_arch "${2:-amd64}") || die 2 "unknown architecture ${2:-}: use amd64 or riscv64"
	case $suite in
	bookworm | trixie | sid) ;;
	unstable) suite=sid ;;
	*) die 2 "unknown suite $suite: use bookworm, trixie, sid or a path to a kernel image" ;;
	esac
	[ "$suite/$arch" = bookworm/riscv64 ] && die 2 "bookworm has no riscv64 kernel: use trixie or sid"

	local base ttl now checked=0 cur="" dir
	base="$(kvmcheck_cache)/kernels/$suite-$arch"
	aptdir=$base/apt
	mkdir -p "$aptdir"
	# Two runs fetching the same suite would trample each other's apt state.
	exec 9>"$base/.lock"
	flock 9

	[ -f "$base/current" ] && cur=$base/$(cat "$base/current")
	valid_dir "$cur" || cur=""
	[ -f "$base/checked" ] && checked=$(stat -c %Y "$base/checked")
	now=$(date +%s)
	ttl=${KVMCHECK_KERNEL_TTL:-86400}
	if [ -n "$cur" ] && { [ "${KVMCHECK_OFFLINE:-0}" = 1 ] || [ $((now - checked)) -lt "$ttl" ]; }; then
		msg "# kernel: $suite $arch $(cat "$cur/version") (cached; checked $(((now - checked) / 60)) min ago)"
		echo "$cur"
		return
	fi
	if [ "${KVMCHECK_OFFLINE:-0}" = 1 ]; then
		die 3 "KVMCHECK_OFFLINE=1 and no cached $suite $arch kernel"
	fi

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
	if valid_dir "$dir"; then
		echo "$version" >"$base/current"
		touch "$base/checked"
		msg "# kernel: $suite $arch $version (cached, still current)"
		echo "$dir"
		return
	fi

	msg "# kernel: downloading ${pkgs[*]}"
	local tmp t0
	t0=$(date +%s)
	tmp=$(mktemp -d "$base/.new.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/debs" "$tmp/root"
	(cd "$tmp/debs" && apt_private apt-get download "${pkgs[@]}" >"$log" 2>&1) ||
		die 3 "download of ${pkgs[*]} failed (no network?): $(grep -m1 -E '^(W|E):' "$log" | cut -c1-160)"
	local deb
	for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
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
	depmod -b "$tmp/k/modules" "$kver"
	echo "$kver" >"$tmp/k/kver"
	kernel_arch "$arch" >"$tmp/k/arch"
	echo "$suite" >"$tmp/k/suite"
	echo "$version" >"$tmp/k/version"
	rm -rf "$dir"
	mv "$tmp/k" "$dir"
	rm -rf "$tmp"
	trap - EXIT
	echo "$version" >"$base/current"
	touch "$base/checked"
	# Keep the previous kernel (a run in flight may use it), drop older ones: each is ~120 MB.
	find "$base" -mindepth 1 -maxdepth 1 -type d ! -name apt ! -name '.*' -printf '%T@ %p\n' |
		sort -rn | tail -n +3 | cut -d' ' -f2- | while read -r old; do rm -rf "$old"; done
	msg "# kernel: $suite $arch $version ($kver) in $(($(date +%s) - t0)) s"
	echo "$dir"
}

{ [ $# -ge 1 ] && [ $# -le 2 ]; } || usage
case $1 in
-h | --help) usage ;;
esac
# A path (it has a slash or names an existing file) is a user's kernel; a bare word a suite.
if [ -e "${1%%:*}" ] || [[ $1 == */* ]]; then
	[ $# = 1 ] || usage
	# One reader of a user's image (boot header, size, release, modules) for every caller.
	PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} exec python3 -m kvmcheck.kernels materialize "$1"
else
	debian_kernel "$@"
fi
