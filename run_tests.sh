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
#   --review FILE                what a patch series does to the verdicts (scripts/review.sh; BASE= picks the base)
#
# Exit status: the runner's (0 nothing failed, 1 something failed), 2 bad usage, 3 the kernel
# under test could not be booted or had no /dev/kvm (nothing was tested).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"

usage() {
	sed -n '4,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit "${1:-2}"
}
bad() { die 2 "$* (see --help)"; }

target="" arch="" build=""
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
	--target | --arch | --build-dir | -j | -t | -g | --timeout | --junit | --json | --results)
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
	-j | --timeout)
		[[ $val =~ ^[1-9][0-9]*$ ]] || bad "$opt wants a positive number, not '$val'"
		guest_args+=("$opt" "$val") ;;
	-t | -g) guest_args+=("$opt" "$val") ;;
	--junit | --json | --results) host_args+=("$opt" "$val") ;;
	esac
done

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
	msg "# building into $build"
	make -C "$top" -s ARCH="$arch" O="$build" ${cross:+CROSS_COMPILE=$cross} >&2 ||
		die 3 "make ARCH=$arch O=$build failed"
fi
runner=$build/kvmcheck-run

if [ "$target" = host ]; then
	KVMCHECK_TARGET="host $(uname -r)"
	export KVMCHECK_TARGET
	exec "$runner" "${guest_args[@]}" "${host_args[@]}"
fi

# --- QEMU target ------------------------------------------------------------------------------
# The binaries are static: listing needs no guest when they run here.
if [ "$list" = 1 ] && [ "$arch" = "$host_arch" ]; then
	exec "$runner" "${guest_args[@]}"
fi

spec=${target#qemu:}
case $spec in
bookworm | trixie | sid | unstable) kdir=$("$top/scripts/kernel-fetch.sh" "$spec" "$arch") || exit $? ;;
*) kdir=$("$top/scripts/kernel-fetch.sh" "$spec") || exit $? ;;
esac
karch=$(cat "$kdir/arch")
[ "$karch" = "$arch" ] || die 2 "$spec is a $karch kernel but the build is $arch: pass --arch $karch"
label="${spec##*/}"
label=${label%%:*}
version=$(cat "$kdir/version")
# Debian's package revision (7.2.13-1) says nothing about the kernel; a user's kver stays whole.
[ "$(cat "$kdir/suite" 2>/dev/null)" = custom ] || version=${version%-*}

# Logs sit next to the build tree, not in it: the build tree is copied into the guest. Each run
# has its own directory, so runs on the same kernel at the same time (matrix shards on one
# machine) never share a TAP file; "$label" points at the newest.
if [ -n "${KVMCHECK_LOGDIR:-}" ]; then
	logdir=$KVMCHECK_LOGDIR
	mkdir -p "$logdir"
else
	mkdir -p "$build.qemu"
	logdir=$(mktemp -d "$build.qemu/$label.XXXXXX")
	ln -sfn "${logdir##*/}" "$build.qemu/$label.latest"
	# Keep the newest few runs per kernel.
	# shellcheck disable=SC2012 # mktemp's names: ls -t orders them by age, nothing odd in them
	ls -dt "$build.qemu/$label".?????? 2>/dev/null | tail -n +6 | xargs -r rm -rf
fi
t0=$EPOCHREALTIME
"$top/scripts/initramfs.sh" "$kdir" "$build" "$logdir/initrd.gz" -- "${guest_args[@]}"
msg "# initramfs: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"

# In the background with a trap, so a SIGTERM to this script alone (a CI job cancelled) still
# reaches qemu-run.sh, which stops QEMU; a foreground child would delay the trap until its end.
qrc=0 qpid=""
trap '[ -z "$qpid" ] || kill "$qpid" 2>/dev/null; wait 2>/dev/null; exit 130' INT TERM HUP
"$top/scripts/qemu-run.sh" --timeout "${KVMCHECK_QEMU_TIMEOUT:-1800}" --logdir "$logdir" \
	--tap "$logdir/tap.log" "$kdir" "$logdir/initrd.gz" &
qpid=$!
wait "$qpid" || qrc=$?
qpid=""
trap - INT TERM HUP
# 3: nothing was tested, and qemu-run.sh said why; 130: interrupted.
if [ "$qrc" -ge 2 ] || [ "$list" = 1 ]; then exit "$qrc"; fi

# The verdict, JSON, JUnit and per-test logs come from the same runner code as on the host,
# reading the stream the guest sent. It must run here: a riscv64 runner cannot.
importer=$runner
if [ "$arch" != "$host_arch" ]; then
	importer=$top/build/$host_arch/kvmcheck-run
	if [ ! -x "$importer" ]; then
		[ ${#host_args[@]} -eq 0 ] ||
			msg "# no $importer to write ${host_args[*]}: build it with make ARCH=$host_arch"
		exit "$qrc"
	fi
fi
irc=0
KVMCHECK_TARGET="$target $version" "$importer" --import-tap "$logdir/tap.log" "${host_args[@]}" \
	>"$logdir/import.out" 2>&1 || irc=$?
if [ "$irc" -le 1 ]; then
	# The stream was already shown live; the summary is what is new.
	tail -n1 "$logdir/import.out"
else
	cat "$logdir/import.out" >&2
	die 3 "kvmcheck-run --import-tap $logdir/tap.log failed (exit $irc)"
fi
[ "$irc" = "$qrc" ] || msg "# note: the guest runner exited $qrc, the import $irc"
exit "$irc"
