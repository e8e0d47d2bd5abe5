#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bisect-step.sh [--find-fix] [--skip-is-bad] TEST[:SUBTEST]    one step of `git bisect run`
#
# Run inside a kernel tree: builds it (its .config + olddefconfig + scripts/config/kvmcheck.config,
# via kernel-build.sh), boots it under QEMU, runs one kvmcheck test (or subtest), and exits
#   0    good: the test passed
#   1    bad:  the test failed, timed out or crashed
#   125  cannot say: the test skipped or did not run, the build failed, the kernel did not boot
#   255  bad usage (git bisect stops rather than take it for a verdict)
# --find-fix      look for the commit that fixed (or added) a behaviour: PASS is bad (1) and
#                 FAIL good (0); use with `git bisect start --term-old=broken --term-new=fixed`
# --skip-is-bad   a SKIP is a verdict, not 125: it counts as FAIL (with --find-fix: the feature
#                 is absent in the old commits, so they are good/broken)
#
# Hook: a file KVMCHECK_KERNEL at the top of the tree names a kernel to boot instead of building
# one: bookworm, trixie, sid, or IMAGE[:MODULES_DIR]. It lets a history whose commits only say
# which kernel to use (as tests/unit/test_bisect.py builds) or a set of prebuilt kernels be bisected
# without a compiler.
#
# KVMCHECK_TOP (default: this script's checkout) is the kvmcheck tree whose tests run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=${KVMCHECK_TOP:-$(dirname "$here")}
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 255
}

find_fix=0 skip_bad=0 test=""
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage ;;
	--find-fix) find_fix=1 ;;
	--skip-is-bad) skip_bad=1 ;;
	-*) msg "bisect-step: unknown option $1"; usage ;;
	*) [ -z "$test" ] || { msg "bisect-step: one TEST only"; usage; }; test=$1 ;;
	esac
	shift
done
[ -n "$test" ] || usage
[[ $test =~ ^[A-Za-z0-9_./-]+(:[A-Za-z0-9_.-]+)?$ ]] || { msg "bisect-step: '$test' is not TEST or TEST:SUBTEST"; usage; }

# A test name that matches nothing would make every step 125 and the bisect end in "cannot
# tell": stop at once instead. The static runner lists without a guest.
runner=$top/build/x86_64/kvmcheck-run
[ -x "$runner" ] || make -C "$top" -s O="$top/build/x86_64" >&2 || { msg "bisect-step: cannot build kvmcheck in $top"; exit 255; }
if ! "$runner" -l -t "$test" >/dev/null 2>"${TMPDIR:-/tmp}/kvmcheck-bisect-list.$$"; then
	msg "bisect-step: $(cat "${TMPDIR:-/tmp}/kvmcheck-bisect-list.$$")"
	rm -f "${TMPDIR:-/tmp}/kvmcheck-bisect-list.$$"
	exit 255
fi
rm -f "${TMPDIR:-/tmp}/kvmcheck-bisect-list.$$"

tree=$(pwd)
commit=$(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo "(no git)")
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-bisect.XXXXXX")
trap 'rm -rf "$work"' EXIT

# verdict EXIT WHY: say what this step decided, in one line git bisect's log keeps.
verdict() {
	msg "bisect-step: $commit: $test: $2 -> exit $1"
	exit "$1"
}

# --- the kernel: named by the hook, or built from this tree ---------------------------------
if [ -f "$tree/KVMCHECK_KERNEL" ]; then
	kernel=$(grep -v -E '^\s*(#|$)' "$tree/KVMCHECK_KERNEL" | head -n1 | tr -d '[:space:]')
	[ -n "$kernel" ] || verdict 125 "KVMCHECK_KERNEL is empty"
	# A suite name or an image path: run_tests.sh's qemu: target takes both.
	target=qemu:$kernel
else
	if [ ! -f "$tree/Makefile" ] || [ ! -f "$tree/Kconfig" ]; then
		msg "bisect-step: $tree is not a kernel tree and has no KVMCHECK_KERNEL"
		exit 255
	fi
	if ! kdir=$("$here/kernel-build.sh" "$tree" 2>"$work/build.log"); then
		verdict 125 "build failed: $(grep -v '^# ' "$work/build.log" | tail -n1 | cut -c1-200)"
	fi
	target=qemu:$kdir/vmlinuz:$kdir/modules
fi

# --- one test, one boot ------------------------------------------------------------------------
rc=0
KVMCHECK_LOGDIR=$work/qemu "$top/run_tests.sh" --target "$target" -t "$test" --json "$work/r.json" \
	>"$work/tap.log" 2>"$work/run.err" || rc=$?
if [ "$rc" -ge 2 ] || [ ! -s "$work/r.json" ]; then
	verdict 125 "no result from $target (run_tests.sh exit $rc: $(grep -v '^# ' "$work/run.err" | tail -n1 | cut -c1-200))"
fi
read -r v why < <(python3 "$here/matrix_report.py" verdict "$work/r.json" "$test")
kver=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("kernel",""))' "$work/r.json")
what="$v on $kver${why:+ ($why)}"
case $v in
PASS) good=1 ;;
FAIL | TIMEOUT | CRASH) good=0 ;;
SKIP) [ "$skip_bad" = 1 ] || verdict 125 "$what"; good=0 ;;
*) verdict 125 "$what" ;;
esac
# Regression hunt: PASS is good (old). Fix hunt: the old commits are the broken ones.
if [ "$find_fix" = 1 ]; then
	if [ "$good" = 1 ]; then verdict 1 "$what: fixed/new"; fi
	verdict 0 "$what: broken/old"
fi
if [ "$good" = 1 ]; then verdict 0 "$what: good"; fi
verdict 1 "$what: bad"
