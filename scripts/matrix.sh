#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# matrix.sh [options] [LINE...]    the suite on several kernels: a kernel x test table
# matrix.sh --merge FILE...         join per-job files (results/matrix-LINE.json) into one table
#
# The work is scripts/kvmcheck/matrix.py; --help prints its lines, options and exit statuses.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
need python3 python3
PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} exec python3 -m kvmcheck.matrix "$@"
