#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# lava/prepare.sh OUT [BUILD_DIR]
#
# Everything lava/kvmcheck-kselftest.yaml needs, in OUT: Debian sid's kernel (kernel-fetch.sh),
# a ramdisk (initramfs.sh: busybox, guest-init.sh, the KVM modules, and lava/kvmcheck-run.lava
# giving LAVA a shell on the console), the kselftest tarball of BUILD_DIR (make gen_tar; default
# build/x86_64), the shell overlay, and OUT/job.yaml with their file:// URLs. Then:
#   lava-run --device lava/qemu-device.yaml --job-id 1 --output-dir OUT/lava OUT/job.yaml
# Exit status: 0 written, 2 bad usage, 3 a kernel, the ramdisk or the tarball could not be made.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"

case ${1:-} in -h | --help | "") usage_header "$0"; exit "$([ -n "${1:-}" ] && echo 0 || echo 2)" ;; esac
[ $# -le 2 ] || { usage_header "$0"; exit 2; }
mkdir -p "$1" || die 2 "cannot create $1"
out=$(cd "$1" && pwd)
build=$(realpath -m "${2:-$top/build/x86_64}")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcheck-lava.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

kdir=$("$top/scripts/kernel-fetch.sh" sid) || die 3 "no Debian sid kernel"
mkdir -p "$tmp/shell"
cp "$here/kvmcheck-run.lava" "$tmp/shell/kvmcheck-run"
"$top/scripts/initramfs.sh" "$kdir" "$tmp/shell" "$out/ramdisk.cpio.gz" ||
	die 3 "initramfs.sh failed"
tar -C "$tmp/shell" -cf "$tmp/shell.tar" kvmcheck-run
mv -f "$tmp/shell.tar" "$out/shell.tar"
make -C "$top" -s O="$build" gen_tar INSTALL_PATH="$out/kselftest" ||
	die 3 "make gen_tar O=$build failed"

job=$(<"$here/kvmcheck-kselftest.yaml")
job=${job//@KERNEL_URL@/file://$kdir/vmlinuz}
job=${job//@RAMDISK_URL@/file://$out/ramdisk.cpio.gz}
job=${job//@KSELFTEST_URL@/file://$out/kselftest/kselftest-packages/kselftest.tar.gz}
job=${job//@SHELL_URL@/file://$out/shell.tar}
printf '%s\n' "$job" | write_atomic "$out/job.yaml"
echo "$out/job.yaml"
