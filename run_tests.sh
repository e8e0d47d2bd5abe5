#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run_tests.sh: run the kvmcheck suite against a kernel.
#
#   ./run_tests.sh                         the running kernel when /dev/kvm is usable,
#                                          else Debian sid's kernel under QEMU
#   ./run_tests.sh --target qemu:bookworm -t 'x86/*'
#   ./run_tests.sh --target qemu:~/linux/arch/x86/boot/bzImage:/tmp/mods
#
# Options (the runner's own are passed through; see docs/PROTOCOL.md):
#   --target host|qemu[:KERNEL]  KERNEL: sid (default), trixie, bookworm, or IMAGE[:MODULES_DIR]
#   --arch x86_64|riscv64        (default: this machine's)
#   --build-dir DIR              the make O= tree (default build/ARCH; built when missing)
#   -j N  -t PATTERN  -g GROUP  -l  --timeout S  --junit FILE  --json FILE  --results DIR
#   --repeat N                   run each test N times: FAIL 'flaky: F:N runs failed' when some fail
#   --kcidb FILE                 the results as KCIDB I/O schema v5 JSON too (KernelCI's database)
#   --review FILE                what a patch series does to the verdicts (scripts/review.sh; BASE= picks the base)
#   --suite WORDS                kvmcheck (default), upstream (the kernel's own KVM selftests, quick
#                                set, as upstream/NAME), upstream-full, or both: "kvmcheck upstream";
#                                default $SUITES (make run_tests SUITES=upstream)
#
# The QEMU target is scripts/kvmcheck/suite.py: bad options, output paths and -t/-g that select
# nothing are refused before a boot; a kernel crash or hang during a test is that test's CRASH,
# and the guest is booted again for the tests left. Environment: KVMCHECK_QEMU_TIMEOUT (bound on
# the whole run, default 1800 s), KVMCHECK_BOOT_SILENCE (no console output for that long while
# booting is a boot failure, default 60 s), KVMCHECK_MAX_BOOTS (default 6), KVMCHECK_LOGDIR.
#
# Exit status: 0 something was tested and nothing failed, 1 a test failed, timed out or crashed
# the kernel, 2 bad usage or input (before anything boots), 3 the kernel under test could not be
# fetched or booted or had no /dev/kvm (nothing was tested), 130 interrupted.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"

# The header comment, up to its first non-comment line, is the help.
usage() {
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}" >&2
	exit "${1:-2}"
}
bad() { die 2 "$* (see --help)"; }

target="" arch="" build="" kcidb="" json="" suites=${SUITES:-kvmcheck} stage=""
guest_args=() # run where the tests run (in the guest for qemu)
host_args=()  # files written where the user is: --json, --junit, --results
list=0
while [ $# -gt 0 ]; do
	opt=$1
	# Options that take a value accept both "--opt VALUE" and "--opt=VALUE".
	case $opt in
	--*=*) val=${opt#*=}; opt=${opt%%=*}; set -- "$opt" "$val" "${@:2}" ;;
	esac
	case $opt in
	-h | --help) usage 0 ;;
	-l | --list) list=1; guest_args+=(-l); shift; continue ;;
	--review)
		[ $# -ge 2 ] || bad "--review needs a FILE (mbox, format-patch file or directory, digest)"
		exec "$top/scripts/review.sh" "$2" ;;
	--target | --arch | --build-dir | -j | -t | -g | --timeout | --junit | --json | --results | --kcidb | --suite | --repeat)
		[ $# -ge 2 ] || bad "$opt needs a value"
		val=$2
		shift 2
		;;
	*) bad "unknown option $opt" ;;
	esac
	case $opt in
	--target)
		case $val in host | qemu | qemu:?*) target=$val ;;
		*) bad "--target wants host, qemu or qemu:KERNEL, not '$val'" ;; esac ;;
	--arch)
		case $val in x86_64 | amd64) arch=x86_64 ;; riscv64) arch=riscv64 ;;
		*) bad "--arch wants x86_64 or riscv64, not '$val'" ;; esac ;;
	--build-dir) build=$val ;;
	--suite) suites=$val ;;
	-j | --timeout | --repeat)
		[[ $val =~ ^[1-9][0-9]*$ ]] || bad "$opt wants a positive number, not '$val'"
		guest_args+=("$opt" "$val") ;;
	-t | -g) guest_args+=("$opt" "$val") ;;
	--junit | --json | --results) host_args+=("$opt" "$val") ;;
	esac
	case $opt in --json) json=$val ;; --kcidb) kcidb=$val ;; esac
done
if [ -n "$kcidb" ]; then
	# Refused before anything boots; the file is written from the run's JSON once it ends.
	[ "$list" = 0 ] || bad "-l runs nothing: --kcidb has nothing to write"
	if [ -d "$kcidb" ] || ! [ -w "$(dirname "$kcidb")" ] || { [ -e "$kcidb" ] && ! [ -w "$kcidb" ]; }; then
		bad "--kcidb $kcidb: cannot write it"
	fi
	if [ -z "$json" ]; then
		kcidb_tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-kcidb.XXXXXX")
		trap 'rm -rf "$kcidb_tmp"' EXIT
		json=$kcidb_tmp/run.json
		host_args+=(--json "$json")
	fi
fi

# The target's command; with --kcidb, run (not exec'd) and its JSON converted afterwards. The
# exit status stays the run's; a run that left no JSON (bad input, nothing tested) writes none.
run_target() {
	[ -n "$kcidb" ] || [ -n "$stage" ] || exec "$@"
	local rc=0
	"$@" || rc=$?
	if [ -z "$kcidb" ]; then
		:
	elif { [ "$rc" -le 1 ] || [ "$rc" = 4 ]; } && [ -s "$json" ]; then
		PYTHONPATH=$top/scripts${PYTHONPATH:+:$PYTHONPATH} python3 -m kvmcheck.kcidb \
			-o "$kcidb" "$json" || rc=2
	else
		msg "run_tests.sh: --kcidb $kcidb not written: the run gave no results (exit $rc)"
	fi
	exit "$rc"
}

host_arch=$(uname -m)
arch=${arch:-$host_arch}
[ "$arch" = x86_64 ] || [ "$arch" = riscv64 ] || die 2 "this machine is $host_arch: pass --arch x86_64 or --arch riscv64"
build=${build:-$top/build/$arch}

# Why the host cannot be the target, or nothing when it can.
host_unusable() {
	if [ "$arch" != "$host_arch" ]; then
		echo "--arch $arch on a $host_arch machine"
	elif [ ! -e /dev/kvm ]; then
		echo "no /dev/kvm here"
	elif ! (: <>/dev/kvm) 2>/dev/null; then
		echo "/dev/kvm is not read-write for $(id -un) (join the kvm group or run as root)"
	fi
}

why=$(host_unusable)
if [ -z "$target" ]; then
	if [ -z "$why" ]; then
		target=host
		why="/dev/kvm usable, kernel $(uname -r)"
	else
		target=qemu:sid
	fi
elif [ "$target" = host ] && [ -n "$why" ]; then
	# A foreign build cannot run here at all. Without a usable /dev/kvm the run still goes
	# ahead: each test skips with the reason, which is the answer this user asked for.
	[ "$arch" = "$host_arch" ] || die 2 "--target host: $why"
	why="kernel $(uname -r): $why; the tests that need KVM skip with that reason"
elif [ "$target" != host ]; then
	why="asked for with --target"
fi
[ "$target" = qemu ] && target=qemu:sid
printf '# target: %s (%s)\n' "$target" "$why" >&2

# Build what is missing; a partial tree gets the same make as an empty one.
if [ ! -x "$build/kvmcheck-run" ] || [ ! -f "$build/tests.list" ]; then
	cross=""
	[ "$arch" != "$host_arch" ] && cross=${CROSS_COMPILE:-$arch-linux-gnu-}
	if [ -n "$cross" ] && ! command -v "${cross}gcc" >/dev/null 2>&1; then
		pkgs="a $arch cross compiler"
		[ "$arch" = riscv64 ] && pkgs="gcc-riscv64-linux-gnu libc6-dev-riscv64-cross"
		die 3 "no $arch build in $build, and no ${cross}gcc to make one: apt-get install $pkgs, then make ARCH=$arch CROSS_COMPILE=$cross O=$build"
	fi
	msg "# building into $build"
	make -C "$top" -s ARCH="$arch" O="$build" ${cross:+CROSS_COMPILE=$cross} >&2 ||
		die 3 "make ARCH=$arch O=$build failed"
fi
runner=$build/kvmcheck-run

# The upstream selftests run from a staged build dir (scripts/kvmcheck/upstream.py), removed on
# exit; under QEMU kvmcheck.suite stages them itself, from the target kernel's own source.
if [ "$suites" != kvmcheck ] && { [ "$target" = host ] || [ "$list" = 1 ]; }; then
	stage=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-upstream.XXXXXX")
	# shellcheck disable=SC2064 # the path is fixed now
	trap "rm -rf '$stage'" EXIT
	src=sid
	case $target in qemu:bookworm | qemu:trixie) src=${target#qemu:} ;; esac
	PYTHONPATH=$top/scripts${PYTHONPATH:+:$PYTHONPATH} python3 -m kvmcheck.upstream stage \
		--build-dir "$build" --arch "$arch" --source "$src" --suites "$suites" \
		--out "$stage/build" >/dev/null || exit
	# The stage holds every selected suite: what runs from it is "the build as it is".
	build=$stage/build runner=$stage/build/kvmcheck-run suites=kvmcheck
fi

if [ "$target" = host ]; then
	KVMCHECK_TARGET="host $(uname -r)"
	export KVMCHECK_TARGET
	run_target "$runner" "${guest_args[@]}" "${host_args[@]}"
fi

# --- QEMU target ------------------------------------------------------------------------------
# The binaries are static: listing needs no guest when they run here.
if [ "$list" = 1 ] && [ "$arch" = "$host_arch" ]; then
	run_target "$runner" "${guest_args[@]}"
fi

# Kernel fetch, boot, crash attribution and reboots, the import of the guest's stream.
export PYTHONPATH=$top/scripts${PYTHONPATH:+:$PYTHONPATH}
run_target python3 -m kvmcheck.suite --target "$target" --arch "$arch" --build-dir "$build" \
	--suite "$suites" "${host_args[@]}" -- "${guest_args[@]}"
