#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# review_bench.sh [x86_64|riscv64|proof]...   what `make review` costs, as name=value lines
#
# Reviews the fixture series of each architecture (default: x86_64, and riscv64 once its base
# kernel is cached: a first riscv build is tens of minutes on a 2-core machine, so it is never
# started from here); when the fixture's own after-build was cached, that entry is dropped and
# the review runs again, so the incremental build (the series applied in the base's source and
# object trees) is measured each time. The base build is whatever the cache holds: its first build time is printed
# from the kernel directory it left (build_s), marked cached.
#   review_ARCH_base_build_s         the base kernel's own build time (when it was built)
#   review_ARCH_base_cached          1 when this run reused it
#   review_ARCH_incremental_build_s  the after build (apply, make, modules_install, revert)
#   review_ARCH_boot_run_s           boot + chosen tests, before and after
#   review_ARCH_wall_s               the whole review.sh run
#   review_ARCH_exit                 review.sh's exit status (1 for the x86_64 fixture: it regresses)
#   review_ARCH_verdict              the fixture's result (regressed for x86_64, proven for riscv64)
# proof (never by default: two kernel builds and an upstream build) reviews the reviewer-mode
# proof, review/fixtures/x86-cpuid-regs-selftest on BASE_SERIES=mutants/rt-11-..., with
# --suite "kvmcheck upstream"; both of its kernels are incremental builds, so it prints
#   review_proof_before_build_s, review_proof_after_build_s   base + base series, + the series
#   review_proof_upstream_build_s    the series' own and the by-path upstream tests, after tree
#   review_proof_row_N               TEST BEFORE->AFTER CHANGE, one per row of the table
# Numbers only: nothing here passes or fails on time.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kvmcheck/builds

fixture() {
	case $1 in
	x86_64) echo "$top/review/fixtures/x86-directed-eoi-regression" ;;
	riscv64) echo "$top/review/fixtures/riscv-mp-state-suspended" ;;
	proof) echo "$top/review/fixtures/x86-cpuid-regs-selftest" ;;
	*) echo "review_bench.sh: $1: x86_64, riscv64 or proof" >&2; exit 2 ;;
	esac
}

# The options a fixture needs beyond its patches.
fixture_args() {
	case $1 in
	proof) printf '%s\n' --base-series "$top/mutants/rt-11-cpuid-ecx-edx-swapped.patch" \
		--suite "kvmcheck upstream" ;;
	esac
}

# A riscv base kernel in the cache (kernel-build.sh --arch riscv64 debian), or nothing.
riscv_base_cached() { compgen -G "$cache/debian-*-riscv64/k/version" >/dev/null; }

# run_review ARCH OUT: the fixture's review, its output in OUT; prints review.sh's exit status.
run_review() {
	local args rc=0
	mapfile -t args < <(fixture_args "$1")
	"$top/scripts/review.sh" --out "$2" "${args[@]}" "$(fixture "$1")" >"$2/stdout" 2>"$2/stderr" || rc=$?
	echo "$rc"
}

# cached_series_builds JSON: the KEY-series-HASH cache entries a review found already built.
cached_series_builds() {
	python3 - "$1" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
for sides in d.get("kernels", {}).values():
    for s in sides.values():
        entry = os.path.dirname(s.get("kernel") or "")
        if s.get("cached") and "-series-" in os.path.basename(entry):
            print(entry)
EOF
}

bench_arch() {
	local arch=$1 out rc stale
	out=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-review-bench.XXXXXX")
	rc=$(run_review "$arch" "$out")
	# The incremental builds are what is measured: when this fixture's own series builds were
	# cached, they are dropped and the review runs again. Only those: other entries (a mutant
	# another run is building right now) are not this script's to delete. The base stays.
	if [ -f "$out/review.json" ]; then
		mapfile -t stale < <(cached_series_builds "$out/review.json")
		if [ ${#stale[@]} -gt 0 ]; then
			rm -rf "${stale[@]}"
			rc=$(run_review "$arch" "$out")
		fi
	fi
	echo "review_${arch}_exit=$rc"
	if [ ! -f "$out/review.json" ]; then
		echo "review_${arch}_error=review.sh exit $rc: $(tail -n1 "$out/stderr")"
		rm -rf "$out"
		return
	fi
	python3 - "$out/review.json" "$arch" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
arch = sys.argv[2]
karch = "x86_64" if arch == "proof" else arch
k = d.get("kernels", {}).get(karch, {})
b, a = k.get("before", {}), k.get("after", {})
boot = sum(float(x.get("boot_s") or 0) for x in (b, a))
if d.get("base_series"):
    print(f"review_{arch}_base_series={d['base_series']['path']}")
    print(f"review_{arch}_before_build_s={b.get('build_s')}")
    print(f"review_{arch}_after_build_s={a.get('build_s')}")
    print(f"review_{arch}_upstream_build_s={d.get('upstream', {}).get(karch, {}).get('build_s')}")
    print(f"review_{arch}_before_run_s={b.get('boot_s')}")
    print(f"review_{arch}_after_run_s={a.get('boot_s')}")
else:
    print(f"review_{arch}_base_build_s={b.get('build_s')}")
    print(f"review_{arch}_base_cached={int(bool(b.get('cached')))}")
    print(f"review_{arch}_incremental_build_s={a.get('build_s')}")
    print(f"review_{arch}_boot_run_s={boot:.1f}")
print(f"review_{arch}_wall_s={d.get('wall_s')}")
print(f"review_{arch}_verdict={'; '.join(p['status'] for p in d['patches'])}")
n = 0
for p in d["patches"] if d.get("base_series") else []:
    for r in p["rows"]:
        n += 1
        print(f"review_{arch}_row_{n}=[{p['index']}] {r['test']} {r['before']}->{r['after']} {r['change']}")
EOF
	rm -rf "$out"
}

main() {
	local arches=("$@") a
	if [ ${#arches[@]} = 0 ]; then
		arches=(x86_64)
		riscv_base_cached && arches+=(riscv64)
	fi
	for a in "${arches[@]}"; do
		if [ "$a" = riscv64 ] && ! riscv_base_cached; then
			echo "review_riscv64_skipped=no cached riscv64 base kernel (scripts/kernel-build.sh --arch riscv64 debian)"
			continue
		fi
		bench_arch "$a"
	done
}

main "$@"
