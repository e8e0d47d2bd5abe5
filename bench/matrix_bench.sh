#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/matrix_bench.sh [--warm] [--build-dir DIR] [LINE...]    what one matrix column costs
#
# Prints name=value lines (seconds) per LINE (default: bookworm sid):
#   matrix.LINE.download_s      kernel packages fetched and unpacked into an empty cache
#   matrix.LINE.initramfs_s     the initramfs built from scratch (modules decompressed)
#   matrix.LINE.boot_s          QEMU start to the guest's first line (kernel booted, KVM loaded)
#   matrix.LINE.first_test_s    QEMU start to the first verdict
#   matrix.LINE.column_s        the whole column: boot, every test, power off
# The first-time numbers come from a private, empty cache (XDG_CACHE_HOME in a temp dir, removed
# afterwards), so they need the network; --warm uses the normal cache instead and reports the
# cached download time. --build-dir DIR: the x86_64 make O= tree to run (default build/x86_64).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"

warm=0
lines=()
build=()
while [ $# -gt 0 ]; do
	case $1 in
	--warm) warm=1 ;;
	--build-dir)
		[ $# -ge 2 ] || die 2 "--build-dir needs a directory"
		[ -x "$2/kvmcheck-run" ] || die 2 "--build-dir $2: no kvmcheck-run there (make O=$2)"
		build=(--build-dir "$2")
		shift
		;;
	-h | --help) sed -n '4,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
	-*) die 2 "unknown option $1" ;;
	*) lines+=("$1") ;;
	esac
	shift
done
[ ${#lines[@]} -gt 0 ] || lines=(bookworm sid)

work=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-matrix-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ "$warm" = 0 ]; then
	export XDG_CACHE_HOME=$work/cache
	# The package lists are part of a first download, so they are not borrowed either.
	export KVMCHECK_KERNEL_TTL=0
fi

# field FILE KEY: one timing from a matrix shard.
field() {
	python3 -c 'import json,sys
k=json.load(open(sys.argv[1]))["kernels"][0]
v=k.get("timings",{}).get(sys.argv[2])
print("nan" if v is None else v)' "$1" "$2"
}

for line in "${lines[@]}"; do
	rc=0
	"$top/scripts/matrix.sh" --out "$work/out" "${build[@]}" "$line" >"$work/$line.table" 2>"$work/$line.log" || rc=$?
	[ "$rc" -le 1 ] || { cat "$work/$line.log" >&2; die 3 "matrix.sh $line failed (exit $rc)"; }
	id=$(sed -n 's/^matrix: kernel lines: //p' "$work/$line.log")
	shard=$work/out/matrix-$id.json
	[ -f "$shard" ] || die 3 "no result for $line"
	status=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernels"][0]["status"])' "$shard")
	[ "$status" = ok ] || die 3 "$line did not run: $(grep -m1 'BOOT-ERROR\|NOT-RUN' "$work/$line.log")"
	# initramfs.sh's line on the run's stderr; none when the cached base was used (--warm).
	init=$(sed -n 's/^.*# initramfs: .* built in \([0-9.]*\) s$/\1/p' "$work/$line.log" | tail -n1)
	echo "matrix.$id.download_s=$(field "$shard" fetch_s)"
	echo "matrix.$id.initramfs_s=${init:-nan}"
	echo "matrix.$id.boot_s=$(field "$shard" boot_s)"
	echo "matrix.$id.first_test_s=$(field "$shard" first_test_s)"
	echo "matrix.$id.column_s=$(field "$shard" column_s)"
done
