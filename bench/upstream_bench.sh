#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# upstream_bench.sh [LINE...]    the upstream KVM selftests per kernel line, as name=value lines
#
# Runs `scripts/matrix.sh --suite upstream LINE` for each line (default: bookworm trixie sid
# sid-riscv64), one at a time, into a temporary results directory, and prints from each line's
# shard (scripts/kvmcheck/upstream.py summary):
#   upstream_LINE_source           the linux-source package and version the tests were built from
#   upstream_LINE_built            tests built (the quick set; SUITES=upstream-full: every one)
#   upstream_LINE_build_failed     tests that did not build with this machine's compiler
#   upstream_LINE_run              tests run, and of them _passing, _skipping, _failing
#   upstream_LINE_skip_N           COUNT REASON, the skips grouped by reason, most first
#   upstream_LINE_fail_TEST        VERDICT: REASON of each failing test
#   upstream_LINE_upstream_build_s the selftests' build (a cached build: the look-up)
#   upstream_LINE_fetch_s, _boot_s, _column_s   the kernel fetch, the boot, the whole column
#   upstream_LINE_exit             matrix.sh's exit status (1: a verdict not as expect/ says)
# Environment: BUILD_X86_64, BUILD_RISCV64 (kvmcheck builds, default build/ARCH), SUITES
# (default upstream), XDG_CACHE_HOME as for every kvmcheck run. Numbers only: nothing here
# passes or fails on time.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -gt 0 ] || set -- bookworm trixie sid sid-riscv64
out=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-upstream-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT
for line in "$@"; do
	rc=0
	"$top/scripts/matrix.sh" --suite "${SUITES:-upstream}" --out "$out/$line" \
		--build-dir "x86_64=${BUILD_X86_64:-$top/build/x86_64}" \
		--build-dir "riscv64=${BUILD_RISCV64:-$top/build/riscv64}" "$line" \
		>"$out/$line.txt" 2>"$out/$line.err" || rc=$?
	shard=$(find "$out/$line" -maxdepth 1 -name 'matrix-*.json' | head -n1)
	if [ -n "$shard" ]; then
		PYTHONPATH=$top/scripts python3 -m kvmcheck.upstream summary "$shard"
	fi
	echo "upstream_${line//-/_}_exit=$rc"
done
