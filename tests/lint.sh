#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# lint.sh: the static checks make check runs, one verdict per file: shellcheck on every shell
# script, pyflakes (Debian's pyflakes3) on every Python file, cppcheck on the C tree.
# Missing checkers are installed with apt-get as root, else named. Ends with the plain
# 'N passed, N failed, N skipped' line; exit 1 when a file has findings.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 2
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

need shellcheck shellcheck
need pyflakes3 pyflakes3
need cppcheck cppcheck

pass=0 fail=0
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'lint: %s:\n%s\n' "$what" "$out"
	fi
}

mapfile -t shells < <(git ls-files | while read -r f; do
	[ -f "$f" ] || continue
	case $f in *.sh) echo "$f"; continue ;; esac
	head -n1 "$f" | grep -q -E '^#!.*(ba)?sh' && echo "$f"
done)
for f in "${shells[@]}"; do check "$f" shellcheck -x "$f"; done

mapfile -t pys < <(git ls-files | while read -r f; do
	[ -f "$f" ] || continue
	case $f in *.py) echo "$f"; continue ;; esac
	head -n1 "$f" | grep -q -E '^#!.*python' && echo "$f"
done)
for f in "${pys[@]}"; do check "$f" pyflakes3 "$f"; done

check cppcheck make -s cppcheck

echo "lint: ${#shells[@]} shell scripts, ${#pys[@]} Python files, the C tree"
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" = 0 ]
