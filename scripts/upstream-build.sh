#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# upstream-build.sh [OPTIONS] SUITE|TREE    build the kernel's own KVM selftests, statically
#
#   SUITE         bookworm, trixie or sid: that Debian suite's linux-source package (the
#                 linux-source meta package's dependency, e.g. linux-source-6.12), fetched
#                 through a private apt state like kernel-build.sh's, unpacked once per source
#                 version (the parts the selftests and headers_install need)
#   TREE          a kernel source tree (build: lines, review, bisect); never written: headers
#                 and objects go to the output directory
#
#   --arch ARCH   x86_64 (default) or riscv64 (Debian's gcc-riscv64-linux-gnu)
#   --tests LIST  build only these (space separated, names as upstream's Makefile has them:
#                 x86/xapic_state_test guest_memfd_test riscv/ebreak_test); default every test
#                 of the arch. A name this source does not have is listed in absent.list.
#                 Before 6.12 the x86 tests lived in x86_64/: they are built from there and
#                 named x86/ in the output, so one name means one test on every line.
#   --out DIR     write here instead of the cache (required for a TREE: a tree's contents are
#                 not a cache key)
#
# Prints the output directory on stdout:
#   bin/REL        the static test binaries (REL as upstream names them)
#   built.list     the tests built, one a line
#   failed.tsv     REL<TAB>the compiler's first error: a test that did not build is a row
#   all.list       every test of the arch in upstream's Makefile (built or not)
#   absent.list    the --tests names this source does not have
#   settings       upstream's kselftest settings file (timeout=120)
#   source         one line: "linux-source-7.2 7.2.13-1" or "tree PATH DESCRIBE"
#   build.log      make's output
# Debian sources are cached under ~/.cache/kvmcheck/upstream/ by package, version, arch and
# test selection: a second call builds nothing. One flock per source version.
#
# Exit status: 0 built (some tests may have failed to build: failed.tsv), 2 bad usage or not a
# kernel tree, 3 fetch, headers or library build failed (nothing built; the reason on stderr).
set -euo pipefail
# set -e ends the script on a command nobody expected to fail: say where, never exit silently.
trap 'rc=$?; printf "%s: line %s: unexpected failure (exit %s)\n" "${0##*/}" "$LINENO" "$rc" >&2; exit 3' ERR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

usage() { usage_header "${BASH_SOURCE[0]}"; exit "${1:-2}"; }

arch=x86_64 tests="" out=""
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage 0 ;;
	--arch)
		[ $# -ge 2 ] || die 2 "--arch needs a value"
		arch=$(kernel_arch "$2") || die 2 "--arch $2: x86_64 or riscv64"
		shift 2
		;;
	--tests)
		[ $# -ge 2 ] || die 2 "--tests needs a list"
		tests=$2
		shift 2
		;;
	--out)
		[ $# -ge 2 ] || die 2 "--out needs a directory"
		out=$2
		shift 2
		;;
	--) shift; break ;;
	-*) die 2 "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
[ $# = 1 ] || usage
spec=$1
for t in $tests; do
	case $t in
	*[!A-Za-z0-9_/.-]* | /* | *..*) die 2 "--tests: '$t' is not a test name" ;;
	esac
done

cache=$(kvmcheck_cache)/upstream
case $arch in
x86_64) karch=x86_64 cross="" ;;	# the selftests' Makefile takes x86_64 in 6.1 and 7.x
riscv64) karch=riscv cross=riscv64-linux-gnu- ;;
esac
if [ -n "$cross" ]; then
	need "${cross}gcc" gcc-riscv64-linux-gnu
	[ -f /usr/riscv64-linux-gnu/lib/libc.a ] ||
		die 3 "the static riscv64 build needs libc6-dev-riscv64-cross (apt-get install libc6-dev-riscv64-cross)"
fi
need make make
need rsync rsync	# headers_install copies with it
need gcc gcc

# fetch_source SUITE: unpack the suite's linux-source once; sets src and srcid.
fetch_source() {
	# arch is local: apt_setup sets it to the Debian arch of the package lists.
	local suite=$1 arch pkg ver log tmp tarball top
	need apt-get apt
	need dpkg-deb dpkg
	need xz xz-utils
	mkdir -p "$cache"
	apt_setup "$cache/apt-$suite" "$suite" amd64
	# shellcheck disable=SC2154 # apt_setup sets aptdir
	log=$aptdir/update.log
	if [ ! -f "$aptdir/checked" ] ||
		[ $(($(date +%s) - $(stat -c %Y "$aptdir/checked"))) -ge "${KVMCHECK_KERNEL_TTL:-86400}" ]; then
		if [ "${KVMCHECK_OFFLINE:-0}" != 1 ] && apt_private apt-get update >"$log" 2>&1 &&
			! grep -q -E '^(W: Failed|E: )' "$log"; then
			touch "$aptdir/checked"
		elif [ ! -f "$aptdir/checked" ]; then
			die 3 "$suite: cannot read $suite's package list from $(mirror_uri) (no network?)"
		fi
	fi
	pkg=$(apt_private apt-cache show --no-all-versions linux-source 2>/dev/null |
		sed -n 's/^Depends: \(linux-source-[0-9.]*\).*/\1/p' | head -n1)
	[ -n "$pkg" ] || die 3 "$suite has no linux-source package"
	ver=$(apt_private apt-cache show --no-all-versions "$pkg" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n1)
	srcid="$pkg $ver"
	src=$cache/src/$pkg-$ver
	[ -f "$src/.kvmcheck-complete" ] && return 0
	mkdir -p "$cache/src"
	exec 7>"$cache/src/.fetch-lock"
	lock_wait 7 "$cache/src/.fetch-lock" "$pkg"
	if [ ! -f "$src/.kvmcheck-complete" ]; then
		msg "# upstream: downloading $pkg $ver"
		tmp=$(mktemp -d "$cache/src/.unpack.XXXXXX")
		# shellcheck disable=SC2064 # the path is fixed now
		trap "rm -rf '$tmp'" EXIT
		(cd "$tmp" && apt_private apt-get download "$pkg" >"$tmp/download.log" 2>&1) ||
			die 3 "download of $pkg failed: $(grep -m1 -E '^(W|E):' "$tmp/download.log" | cut -c1-160)"
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards '*.tar.xz'
		tarball=$(find "$tmp" -name 'linux-source-*.tar.xz' | head -n1)
		[ -n "$tarball" ] || die 3 "$pkg holds no linux-source tarball"
		msg "# upstream: unpacking what the selftests need from $(basename "$tarball")"
		top=$(basename "$tarball" .tar.xz)
		mkdir -p "$tmp/src"
		# The driver, filesystem and network code is most of the tarball and none of
		# headers_install's or the selftests' inputs.
		tar -xJf "$tarball" -C "$tmp/src" --strip-components=1 --anchored \
			--exclude="$top/drivers" --exclude="$top/Documentation" --exclude="$top/sound" \
			--exclude="$top/fs" --exclude="$top/net" --exclude="$top/firmware" \
			--exclude="$top/crypto" --exclude="$top/block" --exclude="$top/samples" \
			--exclude="$top/rust" --exclude="$top/LICENSES"
		rm -f "$tarball" "$tmp"/*.deb
		touch "$tmp/src/.kvmcheck-complete"
		rm -rf "$src"
		mv -T "$tmp/src" "$src"
		rm -rf "$tmp"
		trap - EXIT
	fi
	exec 7>&-
}

case $spec in
bookworm | trixie | sid)
	fetch_source "$spec"
	# No --tests (every test) has no names: grep's status 1 is no failure here.
	key=$( (printf '%s\n' "$arch"; printf '%s\n' "$tests" | tr ' ' '\n' | { grep -v '^$' || :; } |
		LC_ALL=C sort -u) | sha256sum | cut -c1-12)
	[ -n "$out" ] || out=$cache/${srcid// /-}-$arch-$key
	;;
*)
	[ -d "$spec" ] || die 2 "$spec: no such directory (a kernel tree or bookworm|trixie|sid)"
	src=$(realpath "$spec")
	[ -f "$src/tools/testing/selftests/kvm/Makefile" ] ||
		die 2 "$spec: not a kernel tree with tools/testing/selftests/kvm"
	[ -n "$out" ] || die 2 "a TREE needs --out DIR (a tree's contents are no cache key)"
	srcid="tree $src $(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)"
	;;
esac
[ "$out" != / ] || die 2 "--out /: refusing"
[ -f "$out/.kvmcheck-complete" ] && { echo "$out"; exit 0; }

mkdir -p "$(dirname "$out")"
exec 8>"$out.lock"
lock_wait 8 "$out.lock" "$out"
[ -f "$out/.kvmcheck-complete" ] && { echo "$out"; exit 0; }
work=$(mktemp -d "$(dirname "$out")/.upstream-build.XXXXXX")
# shellcheck disable=SC2064 # the path is fixed now
trap "rm -rf '$work'" EXIT
log=$work/build.log
jobs=$(nproc)

kvm=$src/tools/testing/selftests/kvm
mk=(make -C "$kvm" -k -j"$jobs" ARCH="$karch" CROSS_COMPILE="$cross" OUTPUT="$work/obj"
	KHDR_INCLUDES="-isystem $work/hdr/include" INSTALL_HDR_PATH="$work/hdr"
	LINUX_HDR_PATH="$work/hdr/include/" EXTRA_CFLAGS=-static)
# Every test of the arch, as upstream's Makefile lists them (its own variable, printed by a
# one-rule makefile read after it).
# shellcheck disable=SC2016 # make's $(…), not the shell's
printf 'kvmcheck-print-tests:\n\t@printf "%%s\\n" $(TEST_GEN_PROGS)\n' >"$work/print.mk"
"${mk[@]}" -s --no-print-directory -f Makefile -f "$work/print.mk" kvmcheck-print-tests \
	2>>"$log" | sed "s|^$work/obj/||; s|^x86_64/|x86/|" | LC_ALL=C sort -u >"$work/all.list"
[ -s "$work/all.list" ] || { cat "$log" >&2; die 3 "upstream's Makefile lists no $arch tests"; }
xdir=x86
[ -d "$kvm/x86_64" ] && [ ! -d "$kvm/x86" ] && xdir=x86_64
: >"$work/absent.list"
if [ -n "$tests" ]; then
	want=""
	for t in $(printf '%s\n' "$tests" | tr ' ' '\n' | grep -v '^$' | LC_ALL=C sort -u); do
		if grep -qxF "$t" "$work/all.list"; then
			want+="$t"$'\n'
		else
			echo "$t" >>"$work/absent.list"
		fi
	done
	want=${want%$'\n'}
	[ -n "$want" ] || die 2 "--tests: $srcid has no $arch test named $(tr '\n' ' ' <"$work/absent.list")"
else
	want=$(cat "$work/all.list")
fi
# The listing needs no headers: a selection this source lacks is refused before this.
msg "# upstream: headers_install of $srcid ($karch)"
# A tree built in place (bisect builds there) refuses an O= object tree: its own objects are
# already there, and headers_install adds nothing to it but the installed copy.
hdrobj=(O="$work/hdrobj")
[ -f "$src/.config" ] && hdrobj=()
if ! make -C "$src" -s ARCH="$karch" "${hdrobj[@]}" INSTALL_HDR_PATH="$work/hdr" \
	headers_install >"$work/headers.log" 2>&1; then
	cat "$work/headers.log" >&2
	die 3 "headers_install of $srcid failed (above)"
fi
rm -rf "$work/hdrobj"

msg "# upstream: building $(printf '%s\n' "$want" | wc -l) $arch tests of $srcid"
targets=()
while read -r t; do [ -z "$t" ] || targets+=("$work/obj/$xdir/$t"); done <<<"$(sed -n 's|^x86/||p' <<<"$want")"
while read -r t; do [ -z "$t" ] || targets+=("$work/obj/$t"); done <<<"$(grep -v '^x86/' <<<"$want")"
# -k: one test that does not build with this compiler must not hide the others.
"${mk[@]}" "${targets[@]}" >>"$log" 2>&1 || true

mkdir -p "$work/out/bin"
: >"$work/out/built.list"
: >"$work/out/failed.tsv"
while read -r t; do
	o=$work/obj/$t
	case $t in x86/*) o=$work/obj/$xdir/${t#x86/} ;; esac
	if [ -x "$o" ]; then
		mkdir -p "$work/out/bin/$(dirname "$t")"
		mv "$o" "$work/out/bin/$t"
		# Symbols stay for backtraces; the DWARF would triple the initramfs.
		"${cross}strip" --strip-debug "$work/out/bin/$t"
		echo "$t" >>"$work/out/built.list"
	else
		# The compiler's first complaint about this test's own source, else about the
		# library it links (then every test shows it), else the log's first error.
		err=$(grep -m1 -E "(^|/)${o#"$work/obj/"}\.c:[0-9]+:[0-9]+: (fatal )?error:" "$log" ||
			grep -m1 -E ': (fatal )?error:|undefined reference|Error [0-9]' "$log" ||
			echo "no binary and no error in build.log")
		printf '%s\t%s\n' "$t" "$(printf '%s' "$err" | sed "s|$kvm/||g; s|$work/obj/||g" |
			tr '\t' ' ' | cut -c1-300)" >>"$work/out/failed.tsv"
	fi
done <<<"$want"
if [ ! -s "$work/out/built.list" ]; then
	tail -n 20 "$log" >&2
	die 3 "none of the $arch tests of $srcid built (build.log above)"
fi
mv "$work/all.list" "$work/absent.list" "$log" "$work/out/"
cp "$kvm/settings" "$work/out/settings" 2>/dev/null || echo timeout=120 >"$work/out/settings"
echo "$srcid" >"$work/out/source"
touch "$work/out/.kvmcheck-complete"
rm -rf "$out"
mv -T "$work/out" "$out"
rm -rf "$work"
trap - EXIT
msg "# upstream: $(wc -l <"$out/built.list") built, $(wc -l <"$out/failed.tsv") failed to build ($out)"
echo "$out"
