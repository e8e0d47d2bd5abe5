#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# busybox-fetch.sh ARCH: prints the path of a static busybox for ARCH (riscv64), taken from
# Debian sid's busybox-static package and cached in ~/.cache/kvmcheck/busybox/ARCH/. The host's
# busybox-static serves the host's own architecture; this is for the foreign guest's /init.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

[ $# = 1 ] || { msg "usage: ${0##*/} riscv64|x86_64"; exit 2; }
darch=$(deb_arch "$1") || die 2 "unknown architecture $1: use riscv64 or x86_64"
dir="$(kvmcheck_cache)/busybox/$darch"
if [ -x "$dir/busybox" ]; then
	echo "$dir/busybox"
	exit 0
fi
[ "${KVMCHECK_OFFLINE:-0}" = 1 ] && die 3 "KVMCHECK_OFFLINE=1 and no cached busybox for $darch"
need dpkg-deb dpkg
mkdir -p "$dir"
apt_setup "$dir/apt" sid "$darch"
msg "# busybox: fetching busybox-static:$darch"
apt_private apt-get update >"$dir/apt/update.log" 2>&1 ||
	die 3 "cannot fetch the sid package list for $darch (no network?): $(grep -m1 -E '^(W|E):' "$dir/apt/update.log")"
tmp=$(mktemp -d "$dir/.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt_private apt-get download busybox-static >"$dir/apt/download.log" 2>&1) ||
	die 3 "download of busybox-static:$darch failed: $(grep -m1 -E '^(W|E):' "$dir/apt/download.log")"
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/root"
for b in "$tmp/root/usr/bin/busybox" "$tmp/root/bin/busybox"; do
	[ -f "$b" ] && break
done
[ -f "$b" ] || die 3 "no busybox in busybox-static:$darch"
mv "$b" "$dir/busybox"
echo "$dir/busybox"
