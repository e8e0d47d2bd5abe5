#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# review.sh [--out DIR] [--base BASE] [--build-dir DIR] FILE|DIR    what a patch series does to
# kvmcheck's verdicts: scripts/kvmcheck/review.py (its --help says all).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHONPATH=$top/scripts${PYTHONPATH:+:$PYTHONPATH} exec python3 -m kvmcheck.review "$@"
