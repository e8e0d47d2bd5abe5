#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# review.sh [--out DIR] [--base BASE] FILE|DIR    what a patch series does to kvmcheck's verdicts
#
# FILE: an mbox, a `git format-patch` file, a mailing-list digest (like the seed) or a directory
# of patches. Each patch is mapped to the tests whose metadata names it (subject, normalized;
# Revert "subject"; Fixes tag; the rest of its series). Kernel patches with a diff are applied
# to BASE, the kernel is built before and after (scripts/review-kbuild.sh: riscv64 when the
# patches write only under arch/riscv, x86_64 otherwise), both are booted under QEMU, and the
# matched tests run on both. One line per patch and test: applies or not (rejected hunks
# named), build, verdict before and after, and what changed: "proven" (FAIL/SKIP -> PASS),
# "regressed" (PASS -> FAIL), "no behaviour change seen", or why nothing ran.
#
#   --base BASE   debian (default, or $BASE): Debian's linux-source as kernel-build.sh fetches
#                 it; DIR: a kernel tree; DIR@REF: a git ref of it
#   --out DIR     results (default results/): review.txt, review.json, review-junit.xml,
#                 review/ (the split patches, run logs)
#
# Hook for tests without a compiler: a file KVMCHECK_KERNEL at the top of a BASE tree names the
# kernel to boot instead of building one (bookworm, trixie, sid or IMAGE[:MODULES], as for
# bisect-step.sh); the after kernel is the one KVMCHECK_KERNEL names once the series is applied.
# "BUILD-FAIL reason" there stands for a build that fails.
#
# Exit status: 0 reviewed, nothing regressed; 1 a patch regressed a test; 2 bad usage or no
# patch in FILE.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$top/scripts
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit "${1:-2}"
}

out=results base=${BASE:-debian} input=""
rs=(python3 "$here/review_series.py")
say() { printf 'review: %s\n' "$*" >&2; }
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }
# The last line of a log that is not a '# ' progress line: the reason a step failed.
last_reason() { grep -v -E '^(# |\s*$)' "$1" 2>/dev/null | tail -n1 | cut -c1-220; }

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) usage 0 ;;
		--out | --base)
			[ $# -ge 2 ] || die 2 "$1 needs a value"
			case $1 in --out) out=$2 ;; --base) base=$2 ;; esac
			shift
			;;
		--out=* | --base=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
		-*) die 2 "unknown option $1 (see --help)" ;;
		*) [ -z "$input" ] || die 2 "one FILE or DIR only"; input=$1 ;;
		esac
		shift
	done
	[ -n "$input" ] || usage
	[ -e "$input" ] || die 2 "$input: no such file or directory"
}

# --- the kernels -----------------------------------------------------------------------------

# hook_spec FILE: the kernel a KVMCHECK_KERNEL file names (first line that is not a comment).
hook_spec() { grep -v -E '^\s*(#|$)' "$1" | head -n1 | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

# build_side ARCH SIDE: the kernel of one side, built (or named by the hook). Records
# kernel/build/build_s/cached in the series; prints the qemu: target spec, or nothing on failure.
build_side() {
	local arch=$1 side=$2 log=$work/build-$1-$2.log spec kdir t0 rc=0
	if [ -n "$hook" ]; then
		if [ "$side" = before ]; then spec=$(hook_spec "$hook"); else spec=$(hook_spec "$work/scratch/KVMCHECK_KERNEL"); fi
		case $spec in
		BUILD-FAIL*)
			"${rs[@]}" set "$series" "$arch" "$side" build=failed status=NOT-BUILT \
				"reason=build failed: ${spec#BUILD-FAIL}" kernel="(hook) $spec"
			return 0
			;;
		esac
		"${rs[@]}" set "$series" "$arch" "$side" build=ok build_s=0 cached=1 kernel="(hook) $spec"
		echo "$spec"
		return 0
	fi
	t0=$EPOCHREALTIME
	if [ "$side" = before ]; then
		kdir=$(BASE=$base "$here/review-kbuild.sh" --arch "$arch" base 2>"$log") || rc=$?
	else
		kdir=$(BASE=$base "$here/review-kbuild.sh" --arch "$arch" after "$work/kpatches" 2>"$log") || rc=$?
	fi
	if [ "$rc" != 0 ] || [ ! -f "$kdir/version" ]; then
		"${rs[@]}" set "$series" "$arch" "$side" build=failed status=NOT-BUILT \
			"reason=build failed (exit $rc): $(last_reason "$log")"
		say "$arch $side: build failed: $(last_reason "$log")"
		return 0
	fi
	local cached=0 pat
	# Only this side's own line: the after build's log also says the base was cached.
	case $side in
	before) pat='^# (build: debian-.*|review-kbuild: base .*)\(cached\)' ;;
	after) pat='^# review-kbuild: after .*\(cached\)' ;;
	esac
	grep -q -E "$pat" "$log" && cached=1
	"${rs[@]}" set "$series" "$arch" "$side" build=ok "build_s=$(cat "$kdir/build_s" 2>/dev/null || echo)" \
		"cached=$cached" "kernel=$kdir" "wall_s=$(elapsed "$t0")"
	say "$arch $side: $kdir ($(elapsed "$t0") s)"
	local img=vmlinuz
	[ -f "$kdir/Image" ] && img=Image
	echo "$kdir/$img:$kdir/modules"
}

# run_side ARCH SIDE SPEC TESTS...: boot SPEC, run the tests, record the runner JSON or why not.
run_side() {
	local arch=$1 side=$2 spec=$3 json=$work/run-$1-$2.json log=$work/run-$1-$2.err rc=0 t0 targs=()
	shift 3
	local t
	for t in "$@"; do targs+=(-t "$t"); done
	t0=$EPOCHREALTIME
	rm -f "$json"
	KVMCHECK_LOGDIR=$work/qemu-$arch-$side timeout "${KVMCHECK_REVIEW_RUN_TIMEOUT:-1500}" \
		"$top/run_tests.sh" --arch "$arch" --build-dir "$top/build/$arch" --target "qemu:$spec" \
		"${targs[@]}" --json "$json" </dev/null >"$work/run-$arch-$side.tap" 2>"$log" || rc=$?
	if [ "$rc" -le 1 ] && [ -s "$json" ]; then
		"${rs[@]}" set "$series" "$arch" "$side" status=ok "json=$json" "boot_s=$(elapsed "$t0")" reason=
	else
		local why
		why=$(last_reason "$log")
		[ "$rc" = 124 ] && why="no result within ${KVMCHECK_REVIEW_RUN_TIMEOUT:-1500} s"
		"${rs[@]}" set "$series" "$arch" "$side" status=BOOT-ERROR "reason=did not boot or run (exit $rc): $why"
	fi
	say "$arch $side: tests ran in $(elapsed "$t0") s (run_tests.sh exit $rc)"
}

# review_arch ARCH TESTS...: both kernels of one architecture.
review_arch() {
	local arch=$1 side spec
	shift
	for side in before after; do
		spec=$(build_side "$arch" "$side")
		if [ -z "$spec" ]; then
			continue
		elif [ $# = 0 ]; then
			"${rs[@]}" set "$series" "$arch" "$side" status=NOT-RUN "reason=no test names these patches"
		else
			run_side "$arch" "$side" "$spec" "$@"
		fi
	done
}

# find_hook: a BASE tree (not DIR@REF) with a KVMCHECK_KERNEL file names its kernels.
find_hook() {
	if [ "$base" != debian ] && [ "${base%@*}" = "$base" ] && [ -f "$base/KVMCHECK_KERNEL" ]; then
		realpath "$base/KVMCHECK_KERNEL"
	fi
}

# base_source: the tree the series is checked against.
base_source() {
	local dir=${base%@*}
	if [ -n "$hook" ]; then
		dirname "$hook"
		return
	fi
	# A BASE that is not a kernel tree still gets a line per patch saying so: check does that.
	BASE=$base "$here/review-kbuild.sh" src 2>"$work/src.log" || realpath "$dir" 2>/dev/null || echo "$dir"
}

main() {
	parse_args "$@"
	local t0=$EPOCHREALTIME n src arch tests
	work=$out/review
	series=$work/series.json
	hook=""
	rm -rf "$work"
	mkdir -p "$work"
	n=$("${rs[@]}" split "$input" "$work") || die 2 "cannot read $input"
	[ "$n" -gt 0 ] || say "$input: no patch found (no digest entry, mail or diff)"
	[ -x "$top/build/x86_64/kvmcheck-run" ] || make -C "$top" -s >&2 || die 2 "make failed"
	"${rs[@]}" meta "$top" "$work/meta.json"
	"${rs[@]}" match "$series" "$work/meta.json"
	if python3 -c 'import json,sys; sys.exit(0 if any(p["kind"]=="kernel" and p["has_diff"] for p in json.load(open(sys.argv[1]))["patches"]) else 1)' "$series"; then
		hook=$(find_hook)
		src=$(base_source)
		say "base: $base ($src)"
		if [ "$("${rs[@]}" check "$series" "$src" "$work/scratch")" = yes ]; then
			mkdir -p "$work/kpatches"
			python3 -c 'import json,sys,shutil
for p in json.load(open(sys.argv[1]))["patches"]:
    if p["kind"] == "kernel" and p["has_diff"]:
        shutil.copy(p["file"], sys.argv[2])' "$series" "$work/kpatches"
			# fd 3: QEMU and the builds must not read the list from stdin.
			while read -r arch tests <&3; do
				# shellcheck disable=SC2086 # test names have no spaces
				review_arch "$arch" $tests </dev/null
			done 3< <("${rs[@]}" query "$series")
		fi
	fi
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["wall_s"]=float(sys.argv[2]); d["base"]=sys.argv[3]
json.dump(d, open(sys.argv[1],"w"), indent=1)' "$series" "$(elapsed "$t0")" "$base"
	local rc=0
	"${rs[@]}" report "$series" "$out" || rc=$?
	say "review wall time $(elapsed "$t0") s; $out/review.txt, $out/review.json, $out/review-junit.xml"
	[ "$n" -gt 0 ] || exit 2
	exit "$rc"
}

main "$@"
