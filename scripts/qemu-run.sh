#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# qemu-run.sh [options] KERNEL_DIR INITRD
#
# Boots KERNEL_DIR (from kernel-fetch.sh) with INITRD (from initramfs.sh) in QEMU, streams the
# guest's TAP output live to stdout, and exits with the runner's status from the
# "# kvmcheck-exit: RC" line. Without that line it says on stderr what went wrong (QEMU did not
# start, the kernel did not boot, it panicked, the guest had no /dev/kvm, the time bound hit)
# and exits 3, so a caller tells "the tests failed" (1) from "nothing was tested" (3).
# A kernel that crashes (panic, or an oops: the guest runs with oops=panic) makes QEMU exit:
# the console log says where; telling which test it hit is the caller's job (kvmcheck/suite.py).
#
#   --timeout S     bound on the whole boot and run (default 900)
#   --boot-silence S  stop with a boot failure when neither the console nor the TAP stream got
#                   a byte for S seconds before the TAP stream began (default 60, or
#                   KVMCHECK_BOOT_SILENCE; 0 turns it off): a corrupt image or a kernel hung
#                   early prints nothing, and waiting out --timeout for it wastes half an hour.
#                   Debian's kernels print their first line within a second and reach /init
#                   in 10-15 s under TCG on a 2-core machine, so 60 s is 4x that with margin.
#   --tap FILE      also write the TAP stream (no \r) to FILE
#   --logdir DIR    keep console.log (kernel console), tap.raw and qemu.err there
#                   (default: a temporary directory, always removed; the messages then
#                   quote the console's last lines instead of pointing at files)
#   --accel A       auto (default), kvm or tcg
#   --quiet         do not copy the stream to stdout
#   --append ARGS   extra kernel command line
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

# The header comment above, up to its first non-comment line, is the help.
help() {
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"
	exit 0
}
usage() {
	msg "usage: ${0##*/} [--timeout S] [--boot-silence S] [--tap FILE] [--logdir DIR] [--accel auto|kvm|tcg] [--quiet] [--append ARGS] KERNEL_DIR INITRD (see --help)"
	exit 2
}

bound=900 tap="" logdir="" accel=auto quiet=0 append="" silence=${KVMCHECK_BOOT_SILENCE:-60}
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) [ $# -ge 2 ] || usage; bound=$2; shift 2 ;;
	--boot-silence) [ $# -ge 2 ] || usage; silence=$2; shift 2 ;;
	--tap) [ $# -ge 2 ] || usage; tap=$2; shift 2 ;;
	--logdir) [ $# -ge 2 ] || usage; logdir=$2; shift 2 ;;
	--accel) [ $# -ge 2 ] || usage; accel=$2; shift 2 ;;
	--append) [ $# -ge 2 ] || usage; append=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	-h | --help) help ;;
	--) shift; break ;;
	-*) die 2 "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# = 2 ] || usage
kdir=$1 initrd=$2
{ [[ $bound =~ ^[0-9]+$ ]] && [ "$bound" -gt 0 ]; } || die 2 "--timeout wants a number of seconds, not $bound"
[[ $silence =~ ^[0-9]+$ ]] || die 2 "--boot-silence wants a number of seconds, not $silence"
case $accel in auto | kvm | tcg) ;; *) die 2 "--accel wants auto, kvm or tcg, not $accel" ;; esac
[ -f "$kdir/arch" ] || die 2 "$kdir is not a kernel dir from kernel-fetch.sh"
[ -f "$initrd" ] || die 2 "initrd $initrd: no such file"
arch=$(cat "$kdir/arch")
image=$kdir/vmlinuz
[ "$arch" = riscv64 ] && image=$kdir/Image
[ -f "$image" ] || die 2 "$kdir has no kernel image ${image##*/}"

keep=1
if [ -z "$logdir" ]; then
	logdir=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-qemu.XXXXXX")
	keep=0
fi
mkdir -p "$logdir"
console=$logdir/console.log raw=$logdir/tap.raw qerr=$logdir/qemu.err
: >"$console"
: >"$raw"
: >"$qerr"
[ -n "$tap" ] || tap=$logdir/tap.log

# Nested virtualisation under KVM is only worth it when the host CPU offers SVM/VMX to us;
# kvm_pvm and most cloud hosts do not, and then TCG with an SVM-capable EPYC model is the way.
host_nested() {
	[ "$arch" = x86_64 ] && [ "$(uname -m)" = x86_64 ] &&
		(: <>/dev/kvm) 2>/dev/null && grep -q -w -E 'svm|vmx' /proc/cpuinfo
}
if [ "$accel" = auto ]; then
	if host_nested; then accel=kvm; else accel=tcg; fi
fi

# oops=panic: an oops leaves a half-dead kernel that may run on for minutes; as a panic it ends
# QEMU (panic=-1 with -no-reboot) at once, with the splat at the end of the console log.
cmdline="console=ttyS0 panic=-1 oops=panic $append"
# Test switches (--model-..., --self-check-...) reach the tests in the guest as /init's environment: the kernel
# hands unknown name=value parameters to init. Commas, since the command line splits on spaces.
if [ -n "${KVMCHECK_TEST_OPTIONS:-}" ]; then
	cmdline+=" KVMCHECK_TEST_OPTIONS=$(printf '%s' "$KVMCHECK_TEST_OPTIONS" | tr ' ' ',')"
fi
case $arch in
x86_64)
	need qemu-system-x86_64 qemu-system-x86
	# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
	if [ "$accel" = kvm ]; then cpu=(-accel kvm -cpu host); else cpu=(-accel tcg,thread=single -cpu EPYC,+svm); fi
	# Two 16550s on the ISA bus: ttyS0 the console, ttyS1 the TAP stream (docs/PROTOCOL.md).
	qemu=(qemu-system-x86_64 -M q35 "${cpu[@]}" -m 2048 -smp 2
		-kernel "$image" -initrd "$initrd"
		-serial "file:$console" -serial "file:$raw")
	;;
riscv64)
	need qemu-system-riscv64 qemu-system-misc
	[ "$accel" = kvm ] && die 2 "--accel kvm: riscv64 guests run under TCG here"
	# virt has one UART; the TAP stream goes to a virtio console (hvc0, built into Debian's
	# kernel) so the two streams stay apart exactly as on x86 (docs/PROTOCOL.md).
	# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
	qemu=(qemu-system-riscv64 -M virt -cpu rv64,h=true -m 1024 -smp 2
		-kernel "$image" -initrd "$initrd"
		-serial "file:$console"
		-device virtio-serial-pci -chardev "file,id=tap,path=$raw"
		-device virtconsole,chardev=tap)
	cmdline="$cmdline kvmcheck.tty=hvc0"
	;;
*) die 2 "unsupported arch $arch in $kdir" ;;
esac
# Not -nographic: that puts the terminal in raw mode and hands Ctrl-C to the guest. No
# monitor, no default NIC or VGA (-nodefaults): nothing to wait for, nothing listening.
qemu+=(-nodefaults -display none -monitor none -no-reboot -append "$cmdline")
need timeout coreutils
need pkill procps

qpid="" tpid=""
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	# Kill only what we started: timeout (which passes the signal to QEMU), then QEMU's own
	# process should timeout already be gone, then the reader.
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		pkill -P "$qpid" 2>/dev/null || true
		# timeout -k 5 bounds this: QEMU is gone when we are.
		wait "$qpid" 2>/dev/null || true
	fi
	[ -z "$tpid" ] || kill "$tpid" 2>/dev/null || true
	[ "$keep" = 1 ] || rm -rf "$logdir"
}
trap cleanup EXIT
trap 'msg "qemu-run.sh: interrupted"; exit 130' INT TERM HUP

t0=$EPOCHREALTIME
timeout -k 5 "$bound" "${qemu[@]}" </dev/null >"$qerr" 2>&1 &
qpid=$!
# Stream ttyS1 as it arrives: tail follows the file QEMU writes and stops once QEMU is gone;
# sed -u, not tr, because tr holds its output in a 4 KiB buffer until QEMU ends.
if [ "$quiet" = 1 ]; then
	tail -s 0.1 -n +1 -f --pid="$qpid" "$raw" | sed -u 's/\r//g' >"$tap" &
else
	tail -s 0.1 -n +1 -f --pid="$qpid" "$raw" | sed -u 's/\r//g' | tee "$tap" &
fi
tpid=$!
# Wait for QEMU, watching the boot: before the TAP stream begins, the console must keep growing.
qrc=0 silent=0 seen=-1 since=$SECONDS
while kill -0 "$qpid" 2>/dev/null; do
	if [ "$silence" -gt 0 ] && [ ! -s "$raw" ]; then
		size=$(($(stat -c %s "$console")))
		if [ "$size" != "$seen" ]; then
			seen=$size since=$SECONDS
		elif [ $((SECONDS - since)) -ge "$silence" ]; then
			silent=1
			kill "$qpid" 2>/dev/null || true
			break
		fi
	fi
	sleep 0.5
done
wait "$qpid" || qrc=$?
qpid=""
wait "$tpid" || true
tpid=""
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

rc=$(sed -n 's/^# kvmcheck-exit: \([0-9][0-9]*\).*/\1/p' "$tap" | tail -n1)
if [ -n "$rc" ]; then
	msg "# qemu: $arch ($accel) $(cat "$kdir/version" 2>/dev/null) finished in $secs s, runner exit $rc"
	exit "$rc"
fi

# No verdict: explain why, most specific first; name the logs when they stay.
logs="" clog=""
if [ "$keep" = 1 ]; then logs=" (logs in $logdir)" clog=" (console log $console)"; fi
tail_console() { tr -d '\r' <"$console" | tail -n "${1:-15}" | sed 's/^/  | /' >&2; }
if [ "$silent" = 1 ]; then
	if [ -s "$console" ]; then
		msg "qemu-run.sh: boot failure: no console output for $silence s from kernel image $image, before the TAP stream began$clog"
		tail_console 5
	else
		msg "qemu-run.sh: boot failure: no console output for $silence s from kernel image $image: not a bootable kernel, or it hung before its console came up"
	fi
elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	msg "qemu-run.sh: time bound of $bound s hit; the guest was still running$logs"
	tail_console 10
elif grep -q 'Bail out! no /dev/kvm' "$tap"; then
	msg "qemu-run.sh: $(grep -m1 'Bail out!' "$tap" | sed 's/^Bail out! //')$logs"
elif grep -q 'Kernel panic' "$console"; then
	msg "qemu-run.sh: the guest kernel panicked: $(tr -d '\r' <"$console" | grep -m1 'Kernel panic' | sed 's/.*Kernel panic - //')$clog"
	tail_console 20
elif [ "$qrc" != 0 ] && [ ! -s "$console" ]; then
	# TCG's warnings about CPU features it lacks come first on every start: QEMU's reason is
	# the first line that is not one of them.
	why=$(grep -v -m3 ': warning: ' "$qerr" | tr '\n' ' ')
	[ -n "$why" ] || why=$(head -n3 "$qerr" | tr '\n' ' ')
	msg "qemu-run.sh: QEMU failed to start with kernel image $image (exit $qrc): ${why:-no message}"
elif [ ! -s "$tap" ]; then
	msg "qemu-run.sh: boot failure: the guest never reached /init's TAP stream in $secs s$clog"
	tail_console 15
else
	msg "qemu-run.sh: the guest stopped without a '# kvmcheck-exit:' line after $secs s: runner crashed or output lost$logs"
	tail_console 10
fi
exit 3
