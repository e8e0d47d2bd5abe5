#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kselftest-fetch.sh [SELFTESTS_DIR]
#
# Prints a directory holding the kernel's own kselftest runner: run_kselftest.sh and
# kselftest/{runner.sh,ktap_helpers.sh,prefix.pl,module.sh,ksft.py}, the files `make install` of
# tools/testing/selftests puts at the top of an install tree. kvmcheck ships none of them: a
# kselftest job must run kvmcheck with the runner it runs every other kselftest with.
#
# SELFTESTS_DIR: a kernel tree's tools/testing/selftests (or the tree itself) to copy them from.
# Without it they come from Debian sid's linux-source package, downloaded through the same
# private apt state as kernel-build.sh (the machine's apt is untouched), only those members
# extracted, and cached under ~/.cache/kvmcheck/kselftest/<version>/ (written once, under a
# lock, renamed into place). KVMCHECK_OFFLINE=1 uses only the cache.
#
# Exit status: 0 the directory is printed, 2 SELFTESTS_DIR holds no kselftest runner, 3 the
# package could not be fetched.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

case ${1:-} in -h | --help) usage_header "$0"; exit 0 ;; esac
[ $# -le 1 ] || { usage_header "$0"; exit 2; }

FILES="run_kselftest.sh kselftest/runner.sh kselftest/ktap_helpers.sh kselftest/prefix.pl
	kselftest/module.sh kselftest/ksft.py"
# The two a run cannot do without; the others are copied when the source has them.
REQUIRED="run_kselftest.sh kselftest/runner.sh kselftest/ktap_helpers.sh"

# complete DIR: whether DIR holds the files a run needs.
complete() {
	local f
	for f in $REQUIRED; do [ -f "$1/$f" ] || return 1; done
}

if [ $# = 1 ]; then
	src=$1
	[ -f "$src/tools/testing/selftests/run_kselftest.sh" ] && src=$src/tools/testing/selftests
	complete "$src" || die 2 "$1: no kselftest runner there (want tools/testing/selftests/{run_kselftest.sh,kselftest/runner.sh,kselftest/ktap_helpers.sh})"
	realpath "$src"
	exit 0
fi

cache=$(kvmcheck_cache)/kselftest
mkdir -p "$cache"
newest() { find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' -printf '%f\n' | sort -V | tail -n1; }
if [ "${KVMCHECK_OFFLINE:-0}" = 1 ]; then
	v=$(newest)
	{ [ -n "$v" ] && complete "$cache/$v"; } || die 3 "KVMCHECK_OFFLINE=1 and no kselftest runner in $cache"
	echo "$cache/$v"
	exit 0
fi

need apt-get apt
need dpkg-deb dpkg
need xz xz-utils
apt_setup "$cache/apt-sid" sid amd64
# shellcheck disable=SC2154 # apt_setup sets aptdir
log=$aptdir/update.log
exec 9>>"$cache/.lock"
lock_wait 9 "$cache/.lock" "the kselftest runner cache"
if [ ! -f "$aptdir/checked" ] ||
	[ $(($(date +%s) - $(stat -c %Y "$aptdir/checked"))) -ge "${KVMCHECK_KERNEL_TTL:-86400}" ]; then
	if apt_private apt-get update >"$log" 2>&1 && ! grep -q -E '^(W: Failed|E: )' "$log"; then
		touch "$aptdir/checked"
	elif [ ! -f "$aptdir/checked" ]; then
		v=$(newest)
		if [ -n "$v" ] && complete "$cache/$v"; then
			msg "# kselftest: cannot reach $(mirror_uri) (no network?): using the cached $v"
			echo "$cache/$v"
			exit 0
		fi
		die 3 "cannot reach $(mirror_uri) for sid's package list (no network?)"
	fi
fi
pkg=$(apt_private apt-cache show --no-all-versions linux-source 2>/dev/null |
	sed -n 's/^Depends: \(linux-source-[0-9.]*\).*/\1/p' | head -n1)
[ -n "$pkg" ] || die 3 "sid has no linux-source package"
ver=$(apt_private apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
[ -n "$ver" ] || die 3 "no version of $pkg in sid's package list"
dest=$cache/$pkg-$ver
if complete "$dest"; then
	echo "$dest"
	exit 0
fi

tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
msg "# kselftest: downloading $pkg $ver for its tools/testing/selftests runner"
(cd "$tmp" && apt_private apt-get download "$pkg" >"$tmp/download.log" 2>&1) ||
	die 3 "download of $pkg failed: $(grep -m1 -E '^(W|E):' "$tmp/download.log" | cut -c1-160)"
dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards '*.tar.xz'
tarball=$(find "$tmp" -name 'linux-source-*.tar.xz' | head -n1)
[ -n "$tarball" ] || die 3 "$pkg holds no linux-source tarball"
members=()
for f in $FILES; do members+=("*/tools/testing/selftests/$f"); done
mkdir -p "$tmp/x"
# Only these members: tar still reads the whole stream, but writes a handful of files.
tar -xJf "$tarball" -C "$tmp/x" --wildcards --no-wildcards-match-slash "${members[@]}" 2>"$tmp/tar.err" || true
got=$(find "$tmp/x" -path '*/tools/testing/selftests/run_kselftest.sh' | head -n1)
[ -n "$got" ] || die 3 "$(basename "$tarball") has no tools/testing/selftests/run_kselftest.sh: $(head -c 200 "$tmp/tar.err")"
mv -T "$(dirname "$got")" "$tmp/runner"
complete "$tmp/runner" || die 3 "$(basename "$tarball"): the kselftest runner is incomplete"
echo "$ver" >"$tmp/runner/VERSION.linux-source"
rm -rf "$dest"
mv -T "$tmp/runner" "$dest"
echo "$dest"
