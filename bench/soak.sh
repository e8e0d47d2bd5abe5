#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# soak.sh [--host N] [--qemu M] [--build-dir DIR] [--keep DIR] [--run-timeout S]
#
# The suite N times on this kernel (default 50), then M times on Debian sid's kernel under QEMU
# (default 10), one after the other, each run judged against expect/host.txt and expect/sid.txt.
# Prints name=value lines: runs, unexpected verdicts, wall time per run, the tests that flaked.
# The work is scripts/kvmcheck/soak.py; --help prints its options and exit statuses.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"
need python3 python3
PYTHONPATH=$top/scripts${PYTHONPATH:+:$PYTHONPATH} exec python3 -m kvmcheck.soak "$@"
