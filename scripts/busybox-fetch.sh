#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# busybox-fetch.sh ARCH: prints the path of a static busybox for ARCH (riscv64), taken from
# Debian sid's busybox-static package and cached in ~/.cache/kvmcheck/busybox/ARCH/. The host's
# busybox-static serves the host's own architecture; this is for the foreign guest's /init.
#
# The .deb is checked against the SHA256 of sid's Packages index; the binary's sha256 is
# recorded next to it and checked at every use (a damaged one is fetched again). Runs side by
# side share one download: it is made under a lock and renamed into place.
#
# Exit status: 0 the path printed, 2 bad usage, 3 it could not be fetched (the reason on stderr).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

case ${1:-} in -h | --help) usage_header "$0"; exit 0 ;; esac
[ $# = 1 ] || { usage_header "$0"; exit 2; }
darch=$(deb_arch "$1") || die 2 "unknown architecture $1: use riscv64 or x86_64"
dir="$(kvmcheck_cache)/busybox/$darch"
mkdir -p "$dir"

# good: the cached binary is there and has the hash recorded when it was unpacked.
good() {
	[ -x "$dir/busybox" ] && [ -s "$dir/busybox.sha256" ] &&
		(cd "$dir" && sha256sum -c --quiet --strict busybox.sha256 >/dev/null 2>&1)
}

exec 9>>"$dir/.lock"
lock_wait 9 "$dir/.lock" "busybox for $darch"
# Writers hold the lock while these exist: any seen now is from a killed run.
find "$dir" -mindepth 1 -maxdepth 1 -name '.*.??????' ! -name .lock -exec rm -rf {} +
if good; then
	echo "$dir/busybox"
	exit 0
fi
[ ! -e "$dir/busybox" ] || msg "# busybox: cached $dir/busybox does not match its recorded sha256: fetching it again"
[ "${KVMCHECK_OFFLINE:-0}" = 1 ] && die 3 "KVMCHECK_OFFLINE=1 and no usable cached busybox for $darch"
need dpkg-deb dpkg
apt_setup "$dir/apt" sid "$darch"
msg "# busybox: fetching busybox-static:$darch"
apt_private apt-get update >"$dir/apt/update.log" 2>&1 ||
	die 3 "cannot fetch the sid package list for $darch (no network?): $(grep -m1 -E '^(W|E):' "$dir/apt/update.log")"
tmp=$(mktemp -d "$dir/.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
(cd "$tmp" && apt_private apt-get download busybox-static >"$dir/apt/download.log" 2>&1) ||
	die 3 "download of busybox-static:$darch failed: $(grep -m1 -E '^(W|E):' "$dir/apt/download.log")"
deb=$(find "$tmp" -maxdepth 1 -name 'busybox-static_*.deb' | head -n1)
[ -n "$deb" ] || die 3 "apt-get download left no busybox-static .deb"
want=$(apt_private apt-cache show --no-all-versions busybox-static 2>/dev/null | sed -n 's/^SHA256: //p' | head -n1)
got=$(sha256sum <"$deb" | cut -d' ' -f1)
if [ -z "$want" ] || [ "$got" != "$want" ]; then
	die 3 "${deb##*/}: sha256 $got, but sid's Packages index says ${want:-nothing}"
fi
dpkg-deb -x "$deb" "$tmp/root"
for b in "$tmp/root/usr/bin/busybox" "$tmp/root/bin/busybox"; do
	[ -f "$b" ] && break
done
[ -f "$b" ] || die 3 "no busybox in busybox-static:$darch"
# The binary first, its hash last: a hash file always describes the binary beside it.
rm -f "$dir/busybox.sha256"
mv -f "$b" "$dir/busybox"
(cd "$dir" && sha256sum busybox) | write_atomic "$dir/busybox.sha256"
echo "$dir/busybox"
