#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the kvmcheck initramfs (busybox sh). Loads the KVM modules, runs
# /kvmcheck/kvmcheck-run with the arguments in /kvmcheck/args (one per line), sends its output
# to the TAP tty and powers off. The TAP tty is ttyS1 on x86 (the console is ttyS0); the kernel
# command line may name another with kvmcheck.tty=NAME (riscv virt: hvc0). See docs/PROTOCOL.md.
#
# Whatever fails, this script must end in a power-off: as PID 1, exiting would panic the kernel
# (panic=-1 then ends QEMU too, but with a panic instead of a verdict in the logs).
export PATH=/bin
# This script mounts over /proc, /tmp and /dev/shm, writes the guest marker and powers off: run
# anywhere but as the guest's PID 1 it would hide the host's /tmp and mark the host kernel as a
# disposable guest. Refuse.
if [ "$$" != 1 ]; then
	echo "guest-init.sh is the kvmcheck initramfs's /init: it runs as PID 1 in the QEMU guest, never on a host" >&2
	exit 2
fi
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# The kernel opened no console for us when the initramfs had no /dev/console node.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
# The marker that says "this is the kvmcheck QEMU guest, a disposable kernel": tests that may
# crash an unfixed kernel (vhost/vhost_task_lifetime) run here without an opt-in.
# include/kvmcheck/host_kernel.h (KC_GUEST_MARKER) names the file.
mkdir -p /run
uname -r >/run/kvmcheck-guest

# shellcheck disable=SC2317 # called through the EXIT trap
off() {
	sync
	poweroff -f
	# poweroff -f only fails without ACPI/SBI power-off; the sysrq path needs nothing.
	echo o >/proc/sysrq-trigger
	sleep 5
}
trap off EXIT

tty=ttyS1
# shellcheck disable=SC2013 # the command line is one line of words
for w in $(cat /proc/cmdline); do
	case $w in kvmcheck.tty=*) tty=${w#kvmcheck.tty=} ;; esac
done
# A virtio console appears a moment after init starts; a serial port is there at once.
i=0
while [ ! -c "/dev/$tty" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -c "/dev/$tty" ]; then
	echo "kvmcheck-guest: no /dev/$tty for the TAP stream; powering off"
	exit 1
fi
# Raw output: no \r before each \n, nothing the line discipline would rewrite.
stty -F "/dev/$tty" raw -echo -onlcr 2>/dev/null

# Load in the order initramfs.sh wrote (dependencies first). A module that does not fit this
# CPU (kvm_intel on AMD, or both on a CPU without SVM/VMX) fails: keep its message for the
# explanation below.
kver=$(uname -r)
failed=""
# MODULE.PARAM=VALUE words of the kernel command line (a matrix line such as sid+kvm_amd.npt=0):
# busybox insmod, unlike modprobe, does not read them from there itself.
modparams=""
# shellcheck disable=SC2013 # the command line is one line of words
for w in $(cat /proc/cmdline); do
	case $w in *=*) ;; *) continue ;; esac
	case ${w%%=*} in kvmcheck.*) ;; [a-z]*.[a-z]*) modparams="$modparams $w" ;; esac
done
while read -r m; do
	[ -n "$m" ] || continue
	name=${m##*/}
	name=${name%.ko}
	# Each refused load costs a second of TCG time: skip the vendor module this CPU lacks.
	case $name in
	kvm-intel) grep -q -w vmx /proc/cpuinfo || continue ;;
	kvm-amd) grep -q -w svm /proc/cpuinfo || continue ;;
	esac
	mod=$(echo "$name" | tr - _)
	args=""
	for w in $modparams; do
		[ "$(echo "${w%%.*}" | tr - _)" = "$mod" ] && args="$args ${w#*.}"
	done
	# shellcheck disable=SC2086 # one word per parameter
	if ! err=$(insmod "/lib/modules/$kver/$m" $args 2>&1); then
		case $err in *"File exists"*) continue ;; esac
		failed="$failed $name(${err##*: })"
	fi
done </etc/kvmcheck-modules
echo "kvmcheck-guest: modules loaded; failures:${failed:- none}"
# A parameter asked for and not in effect would make every verdict a lie about that
# configuration: it is the run's Bail out!, naming it.
applied="" unapplied=""
for w in $modparams; do
	mod=$(echo "${w%%.*}" | tr - _)
	p=${w#*.}
	p=${p%%=*}
	if [ -r "/sys/module/$mod/parameters/$p" ]; then
		applied="$applied $w($(cat "/sys/module/$mod/parameters/$p"))"
	else
		unapplied="$unapplied $w"
	fi
done

{
	[ -z "$modparams" ] || echo "# kvmcheck-guest: module parameters:${applied:- none applied}"
	if [ -n "$unapplied" ]; then
		echo "Bail out! module parameters not in effect:$unapplied (module not loaded, or no such parameter; failures:${failed:- none})"
	elif [ -c /dev/kvm ]; then
		echo "# kvmcheck-guest: kernel $kver, /dev/kvm present"
	else
		why="no kvm module loaded"
		[ -n "$failed" ] && why="failed:$failed"
		[ -d /sys/module/kvm ] && why="kvm loaded but no /dev/kvm ($why)"
		echo "# kvmcheck-guest: kernel $kver, /dev/kvm absent ($why)"
		echo "# dmesg tail:"
		dmesg | grep -i -E 'kvm|svm|vmx|virtualiz' | tail -n 8 | sed 's/^/#   /'
		echo "Bail out! no /dev/kvm in the guest kernel: $why"
	fi
} >"/dev/$tty" 2>&1

# Without /dev/kvm the Bail out! line is the verdict: no exit line, so the host reports an
# infrastructure error (exit 3) rather than the runner's status.
[ -c /dev/kvm ] && [ -z "$unapplied" ] || exit 0

# One argument per line in args: no word splitting, no globbing of patterns like x86/*.
set -f
IFS='
'
# shellcheck disable=SC2046
set -- $(cat /kvmcheck/args 2>/dev/null)
unset IFS
set +f
cd /kvmcheck || exit 1
/kvmcheck/kvmcheck-run "$@" >"/dev/$tty" 2>&1 </dev/null
rc=$?
echo "# kvmcheck-exit: $rc" >"/dev/$tty"
# The host reads until this line; make sure it left the UART before the power goes. stty sets
# the attributes with TCSADRAIN, which waits for the output queue (and the 8250 transmitter) to
# empty; the sleep covers a driver that drains without waiting for its FIFO.
stty -F "/dev/$tty" raw 2>/dev/null
sleep 0.1
exit 0
