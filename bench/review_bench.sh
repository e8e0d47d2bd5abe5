#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# review_bench.sh [x86_64|riscv64]...   what `make review` costs, as name=value lines
#
# Reviews the fixture series of each architecture (default: x86_64, and riscv64 once its base
# kernel is cached: a first riscv build is tens of minutes on a 2-core machine, so it is never
# started from here) after dropping that architecture's cached after-builds, so the
# incremental build (the series applied in the base's source and object trees) is measured
# each time. The base build is whatever the cache holds: its first build time is printed
# from the kernel directory it left (build_s), marked cached.
#   review_ARCH_base_build_s         the base kernel's own build time (when it was built)
#   review_ARCH_base_cached          1 when this run reused it
#   review_ARCH_incremental_build_s  the after build (apply, make, modules_install, revert)
#   review_ARCH_boot_run_s           boot + chosen tests, before and after
#   review_ARCH_wall_s               the whole review.sh run
#   review_ARCH_exit                 review.sh's exit status (1 for the x86_64 fixture: it regresses)
#   review_ARCH_verdict              the fixture's result (regressed for x86_64, proven for riscv64)
# Numbers only: nothing here passes or fails on time.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kvmcheck/builds

fixture() {
	case $1 in
	x86_64) echo "$top/review/fixtures/x86-directed-eoi-regression" ;;
	riscv64) echo "$top/review/fixtures/riscv-mp-state-suspended" ;;
	*) echo "review_bench.sh: $1: x86_64 or riscv64" >&2; exit 2 ;;
	esac
}

# A riscv base kernel in the cache (kernel-build.sh --arch riscv64 debian), or nothing.
riscv_base_cached() { compgen -G "$cache/debian-*-riscv64/k/version" >/dev/null; }

bench_arch() {
	local arch=$1 out rc=0
	out=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-review-bench.XXXXXX")
	# Drop this arch's after-builds only (KEY-series-HASH): the base and its object tree stay.
	if [ "$arch" = riscv64 ]; then
		rm -rf "$cache"/debian-*-riscv64-series-*
	else
		find "$cache" -maxdepth 1 -name 'debian-*-series-*' ! -name '*-riscv64-series-*' -exec rm -rf {} +
	fi
	"$top/scripts/review.sh" --out "$out" "$(fixture "$arch")" >"$out/stdout" 2>"$out/stderr" || rc=$?
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
k = d.get("kernels", {}).get(arch, {})
b, a = k.get("before", {}), k.get("after", {})
boot = sum(float(x.get("boot_s") or 0) for x in (b, a))
print(f"review_{arch}_base_build_s={b.get('build_s')}")
print(f"review_{arch}_base_cached={int(bool(b.get('cached')))}")
print(f"review_{arch}_incremental_build_s={a.get('build_s')}")
print(f"review_{arch}_boot_run_s={boot:.1f}")
print(f"review_{arch}_wall_s={d.get('wall_s')}")
print(f"review_{arch}_verdict={'; '.join(p['status'] for p in d['patches'])}")
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
