#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench [BENCH_ARGS="--target qemu:sid"]: benchmarks as name=value lines, target named.
#   host:  exit floor, ucall round trip and ratio, VM creation (bench/ucall_bench_*), suite wall
#   qemu:  the same inside the booted kernel, plus boot to first verdict and the suite's wall
# Numbers only: nothing here passes or fails on time.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
arch=${ARCH:-$(uname -m)}
build=build/$arch
target=""
while [ $# -gt 0 ]; do
	case $1 in
	--target) target=$2; shift 2 ;;
	--target=*) target=${1#*=}; shift ;;
	*) echo "run_bench.sh: unknown option $1 (use --target host|qemu[:KERNEL])" >&2; exit 2 ;;
	esac
done
if [ -z "$target" ]; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then target=host; else target=qemu:sid; fi
fi

now_ms() { date +%s%3N; }

# A build dir whose tests.list names the benchmark binaries only, for the runner.
bench_dir=$(mktemp -d)
trap 'rm -rf "$bench_dir"' EXIT
mkdir -p "$bench_dir/bench"
cp "$build/kvmcheck-run" "$bench_dir/"
for b in "$build"/bench/*; do
	cp "$b" "$bench_dir/bench/"
	echo "bench/$(basename "$b")" >>"$bench_dir/tests.list"
done

echo "target=$target"
# The benchmark binaries, through the same target: their name=value lines, de-indented.
./run_tests.sh --target "$target" --build-dir "$bench_dir" 2>&1 |
	sed -n 's/^[[:space:]]*\([a-z_]*=[0-9.]*\)$/\1/p'

# The whole suite, timed; under QEMU also from the start to its first verdict line.
t0=$(now_ms)
first=""
while IFS= read -r line; do
	if [ -z "$first" ] && [[ $line =~ ^(not\ )?ok\ [0-9] ]]; then
		first=$(now_ms)
	fi
done < <(./run_tests.sh --target "$target" -j 2 2>&1)
t1=$(now_ms)
case $target in
qemu*) echo "boot_to_first_verdict_ms=$((${first:-$t1} - t0))" ;;
esac
echo "suite_wall_ms=$((t1 - t0))"
