#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# matrix.sh [options] [LINE...]    the suite on several kernels: a kernel x test table
# matrix.sh --merge FILE...         join per-job files (results/matrix-LINE.json) into one table
#
# LINE (default: bookworm trixie sid, sid-riscv64 when build/riscv64 exists, host when /dev/kvm
# is usable):
#   bookworm | trixie | sid          Debian's current amd64 kernel of that suite, under QEMU
#   sid-riscv64 (or riscv64)         Debian sid's riscv64 kernel (needs make ARCH=riscv64 ...)
#   host                             the running kernel
#   build:debian | build:TREE        a kernel built by scripts/kernel-build.sh (KASAN=1 honoured)
#   IMAGE[:MODULES_DIR]              your own kernel; NAME=IMAGE[:MODULES_DIR] names its line
# Options:
#   --out DIR       results directory (default results/)
#   --expect DIR    expectations (default expect/): expect/LINE.txt
#   -t PATTERN      only these tests (repeatable, passed to the runner)
#   -j N            tests in parallel inside each kernel (default 2)
#   --line-timeout S  bound on one kernel's boot and run (default 1200)
#
# Writes OUT/matrix-LINE.json per line (the shard a CI job keeps), OUT/matrix.json,
# OUT/matrix-junit.xml, and per-line logs under OUT/matrix/LINE/. Exit status: 0 every verdict as
# expect/ says, 1 some verdict (or a kernel that did not boot) was not, 2 bad usage or bad input
# (named, before anything boots).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$top/scripts
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,27s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit "${1:-2}"
}

out=results expect=$top/expect jobs=2 line_timeout=1200
tests=() lines=() merge=0
report=(python3 "$here/matrix_report.py")

# Progress goes to stderr with a fixed prefix, so CI logs can grep one kernel's story.
say() { printf 'matrix: %s\n' "$*" >&2; }
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) usage 0 ;;
		--merge) merge=1 ;;
		--out | --expect | -t | -j | --line-timeout)
			[ $# -ge 2 ] || die 2 "$1 needs a value"
			case $1 in
			--out) out=$2 ;;
			--expect) expect=$2 ;;
			-t) tests+=(-t "$2") ;;
			-j) jobs=$2 ;;
			--line-timeout) line_timeout=$2 ;;
			esac
			shift
			;;
		--out=* | --expect=* | --line-timeout=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
		-*) die 2 "unknown option $1 (see --help)" ;;
		*) lines+=("$1") ;;
		esac
		shift
	done
	[[ $jobs =~ ^[1-9][0-9]*$ ]] || die 2 "-j wants a positive number, not '$jobs'"
	[[ $line_timeout =~ ^[1-9][0-9]*$ ]] || die 2 "--line-timeout wants seconds, not '$line_timeout'"
	[ -d "$expect" ] || die 2 "expectations directory $expect: no such directory"
}

host_usable() { [ -e /dev/kvm ] && (: <>/dev/kvm) 2>/dev/null; }

default_lines() {
	lines=(bookworm trixie sid)
	[ -f "$top/build/riscv64/tests.list" ] && lines+=(sid-riscv64)
	host_usable && lines+=(host)
	return 0
}

# --- one kernel line: what it is -------------------------------------------------------------
# resolve LINE sets: id (column name, expect/ID.txt), kind (debian|host|build|custom), spec
# (what kernel-fetch/kernel-build take) and arch. Bad input dies here, before anything boots.
resolve() {
	local line=$1 name=""
	arch=x86_64
	# NAME=SPEC names a user's kernel; '=' never appears in a suite name.
	if [[ $line == *=* ]]; then
		name=${line%%=*}
		line=${line#*=}
		[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die 2 "kernel line name '$name' must be letters, digits, . _ -"
	fi
	case $line in
	bookworm | trixie | sid | unstable)
		kind=debian spec=${line/unstable/sid} id=${name:-$spec} ;;
	riscv64 | sid-riscv64 | trixie-riscv64 | unstable-riscv64)
		kind=debian arch=riscv64 spec=${line%-riscv64}
		[ "$spec" = riscv64 ] || [ "$spec" = unstable ] && spec=sid
		id=${name:-$spec-riscv64} ;;
	bookworm-riscv64) die 2 "kernel line $line: bookworm has no riscv64 kernel (use sid-riscv64)" ;;
	host)
		kind=host spec=host id=${name:-host}
		host_usable || die 2 "kernel line host: no usable /dev/kvm on this machine (drop 'host' or run where /dev/kvm opens read-write)" ;;
	build:*)
		kind=build spec=${line#build:}
		[ -n "$spec" ] || die 2 "kernel line $line: build: wants 'debian' or a kernel tree"
		if [ "$spec" = debian ]; then
			id=${name:-build-debian}
		else
			{ [ -f "$spec/Makefile" ] && [ -f "$spec/Kconfig" ]; } ||
				die 2 "kernel line $line: $spec is not a kernel tree (no Makefile and Kconfig)"
			id=${name:-build-$(basename "$(realpath "$spec")")}
		fi
		if [ "${KASAN:-0}" = 1 ]; then id=$id-kasan; fi
		;;
	*)
		if [ -e "${line%%:*}" ] || [[ $line == */* ]]; then
			kind=custom spec=$line
			check_user_kernel "$line"
			id=${name:-custom-$(basename "${line%%:*}")}
		else
			die 2 "unknown kernel line '$line': use bookworm, trixie, sid, sid-riscv64, host, build:debian, build:TREE or IMAGE[:MODULES_DIR]"
		fi
		;;
	esac
	return 0
}

# A user's kernel is checked before the first boot: a missing or corrupt image, or a modules
# directory built for another kernel, would otherwise surface as a confusing boot failure.
check_user_kernel() {
	local line=$1 kdir err
	err=$(mktemp)
	if ! kdir=$("$here/kernel-fetch.sh" "$line" 2>"$err"); then
		say "kernel line $line: $(grep -v '^#' "$err" | tail -n1)"
		rm -f "$err"
		exit 2
	fi
	rm -f "$err"
	arch=$(cat "$kdir/arch")
}

# --- one kernel line: running it ---------------------------------------------------------------

# column STATUS REASON: write this line's shard (the runner JSON when it booted).
column() {
	local timings=() t
	for t in fetch_s boot_s first_test_s column_s; do
		[ -z "${tm[$t]:-}" ] || timings+=(--timing "$t=${tm[$t]}")
	done
	"${report[@]}" column --line "$id" --target "$target" --status "$1" ${2:+--reason "$2"} \
		--runner "$ldir/runner.json" ${kver:+--kernel "$kver"} ${version:+--version "$version"} \
		"${timings[@]}" --out "$out/matrix-$id.json"
	shards+=("$out/matrix-$id.json")
}

# The last line of a log that says why, without the '# ' progress lines of the scripts.
why() { grep -v -E '^(# |$)' "$1" | tail -n1 | cut -c1-300; }

# fetch: the kernel dir for this line (download or build), or a BOOT-ERROR column.
fetch() {
	local t0=$EPOCHREALTIME rc=0
	case $kind in
	debian) say "$id: fetching Debian $spec $(deb_arch "$arch") kernel"
		kdir=$("$here/kernel-fetch.sh" "$spec" "$arch" 2>"$ldir/fetch.log") || rc=$? ;;
	build) say "$id: building $spec (first build: tens of minutes; log under ~/.cache/kvmcheck/builds/)"
		kdir=$("$here/kernel-build.sh" "$spec" 2>"$ldir/fetch.log") || rc=$? ;;
	custom) kdir=$("$here/kernel-fetch.sh" "$spec" 2>"$ldir/fetch.log") || rc=$? ;;
	esac
	tm[fetch_s]=$(elapsed "$t0")
	if [ "$rc" != 0 ]; then
		say "$id: BOOT-ERROR: kernel not available: $(why "$ldir/fetch.log")"
		column BOOT-ERROR "kernel not available: $(why "$ldir/fetch.log")"
		return 1
	fi
	kver=$(cat "$kdir/kver")
	version=$(cat "$kdir/version")
	say "$id: kernel $version ($kver) ready in ${tm[fetch_s]} s"
}

# run_line LINE: one column, start to end. Never fails: whatever happens becomes the column.
run_line() {
	resolve "$1"
	ldir=$out/matrix/$id
	rm -rf "$ldir"
	mkdir -p "$ldir"
	declare -gA tm=()
	kdir="" kver="" version=""
	case $kind in
	debian) target=qemu:$spec ;;
	host) target=host ;;
	*) target="" ;;
	esac
	if [ "$arch" != x86_64 ] && [ ! -f "$top/build/$arch/tests.list" ]; then
		local r="no $arch build (make ARCH=$arch CROSS_COMPILE=$arch-linux-gnu-)"
		say "$id: NOT-RUN: $r"
		column NOT-RUN "$r"
		return
	fi
	if [ "$kind" != host ]; then
		fetch || return 0
		if [ "$kind" != debian ]; then
			# The normalised kernel dir, so a build: kernel and a user's boot the same way.
			target=qemu:$kdir/vmlinuz
			[ "$arch" != riscv64 ] || target=qemu:$kdir/Image
			[ ! -d "$kdir/modules" ] || target=$target:$kdir/modules
		fi
	fi
	say "$id: booting ($target)"
	local t0=$EPOCHREALTIME rc=0 args=(--target "$target" --arch "$arch" -j "$jobs" "${tests[@]}"
		--json "$ldir/runner.json" --results "$ldir/results")
	# The TAP stream goes to a log, read line by line to time the boot (the guest's first
	# line) and the first verdict. A bound on the whole line: the run goes on after a hang.
	set +e
	KVMCHECK_LOGDIR=$ldir/qemu KVMCHECK_QEMU_TIMEOUT=$line_timeout \
		timeout -k 10 $((line_timeout + 60)) "$top/run_tests.sh" "${args[@]}" 2>"$ldir/run.err" |
		while IFS= read -r l; do
			printf '%s\n' "$l"
			case $l in
			"# kvmcheck-guest:"* | "TAP version"*) [ -f "$ldir/.boot" ] || echo "$EPOCHREALTIME" >"$ldir/.boot" ;;
			"ok "* | "not ok "* | "    ok "* | "    not ok "*) [ -f "$ldir/.first" ] || echo "$EPOCHREALTIME" >"$ldir/.first" ;;
			esac
		done >"$ldir/tap.log"
	rc=${PIPESTATUS[0]}
	set -e
	tm[column_s]=$(elapsed "$t0")
	[ ! -f "$ldir/.boot" ] || tm[boot_s]=$(elapsed "$t0" "$(cat "$ldir/.boot")")
	[ ! -f "$ldir/.first" ] || tm[first_test_s]=$(elapsed "$t0" "$(cat "$ldir/.first")")
	rm -f "$ldir/.boot" "$ldir/.first"
	if { [ "$rc" = 0 ] || [ "$rc" = 1 ]; } && [ -s "$ldir/runner.json" ]; then
		column ok
		say "$id: $("${report[@]}" summary "$ldir/runner.json")" \
			"(boot ${tm[boot_s]:-?} s, column ${tm[column_s]} s)"
	else
		local r
		case $rc in
		124 | 137) r="no result within $((line_timeout + 60)) s (matrix bound)" ;;
		*) r=$(why "$ldir/run.err") ;;
		esac
		[ -n "$r" ] || r="run_tests.sh exited $rc without saying why"
		say "$id: BOOT-ERROR: $r (logs: $ldir/)"
		column BOOT-ERROR "$r"
	fi
}

main() {
	parse_args "$@"
	need python3 python3
	mkdir -p "$out"
	if [ "$merge" = 1 ]; then
		[ ${#lines[@]} -gt 0 ] || die 2 "--merge wants the per-job files (results/matrix-LINE.json ...)"
		exec "${report[@]}" report --expect "$expect" --out-dir "$out" "${lines[@]}"
	fi
	[ ${#lines[@]} -gt 0 ] || default_lines
	# Resolve every line first (in a subshell: resolve sets globals): bad input is reported
	# before the first boot, and never as a partial table.
	local l seen=" "
	for l in "${lines[@]}"; do
		# shellcheck disable=SC2030,SC2031 # the subshell only validates
		( resolve "$l" ) || die 2 "kernel line $l: cannot be resolved"
		case $seen in *" $l "*) die 2 "kernel line $l given twice" ;; esac
		seen="$seen$l "
	done
	say "kernel lines: ${lines[*]}"
	shards=()
	local n=0
	for l in "${lines[@]}"; do
		n=$((n + 1))
		say "[$n/${#lines[@]}] $l"
		run_line "$l"
	done
	"${report[@]}" report --expect "$expect" --out-dir "$out" "${shards[@]}"
}

main "$@"
