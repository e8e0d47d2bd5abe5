#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bisect-step.sh [--find-fix] [--skip-is-bad] TEST[:SUBTEST]    one step of `git bisect run`
#
# Exits 0 good, 1 bad, 125 cannot say, 255 bad usage. The work is scripts/kvmcheck/bisect.py;
# --help prints the whole contract and the KVMCHECK_KERNEL hook.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Without python3 no step can say good or bad: 255 stops the bisect instead of skipping.
command -v python3 >/dev/null || { echo "bisect-step: python3 is missing: apt-get install python3" >&2; exit 255; }
PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} exec python3 -m kvmcheck.bisect "$@"
