#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: the project's own tests, then the suite itself.
#   1. unit tests of the host-side pieces (runner options, TAP, JSON, JUnit, harness), the
#      fault-injection suite (tests/faults) and the linters (tests/lint.sh)
#   2. the suite under QEMU on Debian sid's kernel (works on every machine, /dev/kvm or not)
#   3. the suite on the running kernel, where /dev/kvm is usable
#   4. the riscv64 suite, cross-built, under QEMU on Debian sid's riscv64 kernel
# Each stage ends with 'N passed, N failed, N skipped'; the last line adds them up.
# Results (TAP logs, JSON, JUnit) go to results/check/.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 2
out=results/check
mkdir -p "$out"

# A fresh Debian machine may lack python3: the unit tests need it.
if ! command -v python3 >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && apt-get install -y -qq python3 >/dev/null
	else
		echo "make check: python3 is missing: apt-get install python3" >&2
		exit 2
	fi
fi

total_p=0 total_f=0 total_s=0 status=0

# Run one stage, show its output, and add its summary line to the totals.
stage() {
	local name=$1 log="$out/$1.log" rc line
	shift
	echo "### $name: $*"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "### $name: no summary line (exit status $rc): counted as one failure"
		line="0 passed, 1 failed, 0 skipped"
	fi
	read -r p _ f _ s _ <<<"$line"
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	total_s=$((total_s + ${s:-0}))
	[ "$rc" = 0 ] || status=1
	echo "### $name: exit status $rc"
}

stage unit python3 tests/unit_main.py
# The same unit tests against the runner built with ASan and UBSan.
make -s sanitize >/dev/null
stage unit-asan env KVMCHECK_RUNNER="$top/build/sanitize-x86_64/kvmcheck-run" \
	python3 tests/unit_main.py 'test_runner*.py'
# Every way a verdict path was seen to lie, reproduced (tests/faults), and the static checks.
stage faults python3 tests/faults_main.py
stage lint ./tests/lint.sh
# The HTML report from tests/report/'s samples in a real headless browser: Debian's chromium,
# installed here as root; without it the check skips every step and says why.
if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null; then
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends chromium >/dev/null; } ||
		echo "### report-browser: apt-get install chromium failed: the check will skip"
fi
stage report-browser python3 tests/browser/check_report.py --out "$out"
stage qemu-sid ./run_tests.sh --target qemu:sid -j 2 --results "$out/qemu-sid" \
	--json "$out/qemu-sid.json" --junit "$out/qemu-sid-junit.xml"
# The matrix as CI shards it: one job per kernel line (bookworm, sid), then the merge of their
# files into one table, JSON and JUnit, judged against expect/; the summary counts subtests as
# expected (passed/skipped) or not (failed).
# shellcheck disable=SC2016 # expanded by the inner bash
stage matrix bash -c 'o=$1/matrix; mkdir -p "$o"
	for k in bookworm sid; do ./scripts/matrix.sh --out "$o" "$k" >"$o/table-$k.txt" || true; done
	./scripts/matrix.sh --out "$o" --merge "$o/matrix-bookworm.json" "$o/matrix-sid.json"' _ "$out"
# The upstream KVM selftests' flow (build from sid's source, bridge, runner, expect/) on three of them.
stage upstream env KVMCHECK_UPSTREAM_TESTS="x86/xapic_state_test x86/userspace_io_test guest_print_test" ./scripts/matrix.sh --suite upstream --out "$out/upstream" sid
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	stage host ./run_tests.sh --target host -j 2 --results "$out/host" \
		--json "$out/host.json" --junit "$out/host-junit.xml"
	# Library and guest code built with UBSan in trap mode (make sanitize).
	stage host-ubsan ./run_tests.sh --target host -j 2 --build-dir build/ubsan-x86_64
else
	echo "### host: skipped: no usable /dev/kvm on this machine"
fi

# The riscv64 cross toolchain and static libc (libc6-dev-riscv64-cross is only a Recommends of
# the compiler) and qemu-system-riscv64.
# shellcheck disable=SC2317 # called through stage()
riscv_suite() {
	local pkgs=()

	command -v riscv64-linux-gnu-gcc >/dev/null || pkgs+=(gcc-riscv64-linux-gnu)
	[ -e /usr/riscv64-linux-gnu/lib/libc.a ] || pkgs+=(libc6-dev-riscv64-cross)
	command -v qemu-system-riscv64 >/dev/null || pkgs+=(qemu-system-misc)
	if [ ${#pkgs[@]} -gt 0 ]; then
		if [ "$(id -u)" != 0 ]; then
			echo "riscv64: missing ${pkgs[*]}: apt-get install ${pkgs[*]}"
			return 1
		fi
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${pkgs[@]}" >/dev/null || return 1
	fi
	make -s ARCH=riscv64 CROSS_COMPILE=riscv64-linux-gnu- || return 1
	./run_tests.sh --arch riscv64 --build-dir build/riscv64 --target qemu:sid -j 2 \
		--results "$out/qemu-sid-riscv64" --json "$out/qemu-sid-riscv64.json" \
		--junit "$out/qemu-sid-riscv64-junit.xml"
}
stage qemu-sid-riscv64 riscv_suite

echo "$total_p passed, $total_f failed, $total_s skipped"
exit $status
