#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mutants_bench.sh [--build-dir DIR] [GLOB...]   what `make mutants` costs and scores, as name=value
#
# Runs kvmcheck.mutants on the mutants GLOB selects (default: one cheap mutant per behaviour that
# has a test running under QEMU TCG) on the cached Debian base, in a private output directory,
# and prints from its mutants.json:
#   mutants_selected, mutants_counted      selected; killed or survived (equivalent, 'Needs:' not)
#   mutants_killed, mutants_survived, mutants_not_built
#   mutants_score_BEHAVIOUR                killed/counted per behaviour
#   mutants_build_s_mean, mutants_run_s_mean   per mutant: incremental build; boot and tests
#   mutants_NAME_build_s, mutants_NAME_run_s, mutants_NAME_status
#   mutants_wall_s, mutants_exit           the whole run and its exit status
# Numbers only: nothing here passes or fails on time. The base kernel must be in the cache
# (scripts/kernel-build.sh debian): a first build is an hour on a 2-core machine, so it is never
# started from here.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kvmcheck/builds
build=$top/build/x86_64
if [ "${1:-}" = --build-dir ]; then
	[ $# -ge 2 ] || { echo "mutants_bench.sh: --build-dir needs a directory" >&2; exit 2; }
	build=$2
	shift 2
fi
[ $# -gt 0 ] || set -- 'deoi-10-*' 'uret-01-*' 'pmem-02-*' 'vfio-01-*' 'cvm-04-*' 'rt-13-*'

if ! compgen -G "$cache/debian-*-[0-9a-f]*[0-9a-f]/k/version" >/dev/null; then
	echo "mutants_error=no cached Debian base kernel in $cache (scripts/kernel-build.sh debian first)"
	exit 0
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-mutants-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT
rc=0
PYTHONPATH=$top/scripts python3 -m kvmcheck.mutants --build-dir "$build" --out "$out" \
	--select "$*" >"$out/stdout" 2>"$out/stderr" || rc=$?
echo "mutants_exit=$rc"
if [ ! -f "$out/mutants.json" ]; then
	echo "mutants_error=exit $rc: $(tail -n1 "$out/stderr")"
	exit 0
fi
python3 - "$out/mutants.json" <<'EOF'
import json
import sys

d = json.load(open(sys.argv[1]))
ms = d["mutants"]
counted = [m for m in ms if m["status"] in ("KILLED", "SURVIVED")]
print(f"mutants_selected={len(ms)}")
print(f"mutants_counted={len(counted)}")
print(f"mutants_killed={sum(m['status'] == 'KILLED' for m in counted)}")
print(f"mutants_survived={sum(m['status'] == 'SURVIVED' for m in counted)}")
print(f"mutants_not_built={sum(m['status'] in ('NOT-BUILT', 'BOOT-ERROR') for m in ms)}")
for b, s in sorted(d["scores"]["behaviour"].items()):
    print(f"mutants_score_{b}={s['killed']}/{s['counted']}")
for key in ("build_s", "run_s"):
    xs = [m[key] for m in ms if m.get(key) is not None]
    print(f"mutants_{key}_mean={round(sum(xs) / len(xs), 1) if xs else '-'}")
for m in ms:
    n = m["name"].replace("-", "_")
    print(f"mutants_{n}_status={m['status']}")
    print(f"mutants_{n}_build_s={m.get('build_s')}")
    print(f"mutants_{n}_run_s={m.get('run_s')}")
print(f"mutants_wall_s={d.get('wall_s')}")
EOF
