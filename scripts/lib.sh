# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Helpers shared by the scripts/ programs; sourced, never run. Kept small on purpose: each
# script does one job and only needs to print, fail, and find its tools.

# Everything for humans goes to stderr: stdout of these scripts is data (a path, a TAP stream).
msg() { printf '%s\n' "$*" >&2; }
# One line, no shell trace, a distinct status: callers tell usage (2) from infrastructure (3).
die() { local rc=$1; shift; printf '%s: %s\n' "${0##*/}" "$*" >&2; exit "$rc"; }

kvmcheck_cache() { printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/kvmcheck"; }

# usage_header FILE: FILE's header comment, from after the #! and SPDX lines to the first line
# that is not a comment, on stderr. The header is the one description of a script's usage; a
# line range copied into sed goes stale as soon as the header grows.
usage_header() {
	awk 'NR == 1 && /^#!/ { next }
	     /^# SPDX-License-Identifier/ { next }
	     !/^#/ { exit }
	     { sub(/^# ?/, "") }
	     !started && $0 == "" { next }
	     { started = 1; print }' "$1" >&2
}

# write_atomic FILE: stdin into FILE, whole or not at all: a unique temporary next to FILE, then
# renamed over it, so a reader (another run, or this one after a crash) never sees half a file.
write_atomic() {
	local f=$1 t
	t=$(mktemp "$(dirname "$f")/.${f##*/}.XXXXXX") || return 1
	if cat >"$t" && chmod 644 "$t" && mv -f "$t" "$f"; then
		return 0
	fi
	rm -f "$t"
	return 1
}

# lock_wait FD FILE WHAT: an exclusive flock on FD (the caller opened FILE on it), waiting at
# most KVMCHECK_LOCK_WAIT seconds (default 1800: a kernel download on a slow mirror) for the other
# writer of WHAT. The lock dies with the process, so it is never stale.
lock_wait() {
	flock -w "${KVMCHECK_LOCK_WAIT:-1800}" "$1" ||
		die 3 "waited ${KVMCHECK_LOCK_WAIT:-1800} s for another kvmcheck run writing $3 ($2); giving up"
}

# need CMD PACKAGE: a fresh machine lacks qemu, busybox-static, cpio … Install the Debian package
# when we are root and apt-get exists; otherwise say exactly which package is missing.
need() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		msg "# installing $pkg (for $cmd)"
		# Two runs side by side may install at once: wait for dpkg's lock instead of failing.
		local lock=(-o DPkg::Lock::Timeout=600)
		# The package lists may be stale or absent on a fresh machine: update once, then retry.
		if ! DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -q \
			--no-install-recommends "$pkg" >/dev/null 2>&1; then
			apt-get "${lock[@]}" update -q >/dev/null 2>&1 || true
			DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -q \
				--no-install-recommends "$pkg" >/dev/null 2>&1 ||
				die 3 "could not install $pkg (needed for $cmd)"
		fi
		command -v "$cmd" >/dev/null 2>&1 || die 3 "$pkg installed but $cmd is still missing"
		return 0
	fi
	die 3 "missing $cmd: install the Debian package $pkg (apt-get install $pkg)"
}

# Debian names architectures amd64/riscv64, the kernel and our build tree x86_64/riscv64.
deb_arch() {
	case $1 in
	x86_64 | amd64) echo amd64 ;;
	riscv64) echo riscv64 ;;
	*) return 1 ;;
	esac
}
kernel_arch() {
	case $1 in
	x86_64 | amd64) echo x86_64 ;;
	riscv64) echo riscv64 ;;
	*) return 1 ;;
	esac
}

# The Debian mirror this machine already uses, read from apt itself (not the files: they come in
# two syntaxes). The security and updates archives do not carry every suite, so skip them.
mirror_uri() {
	if [ -n "${KVMCHECK_MIRROR:-}" ]; then
		echo "${KVMCHECK_MIRROR%/}/"
		return
	fi
	local uri
	# shellcheck disable=SC2016 # $(…) is apt's format syntax, not the shell's
	uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk '$2 !~ /-(security|updates|backports)$/ && $1 !~ /security/ { print $1; exit }')
	[ -n "$uri" ] || die 3 "no Debian mirror in this machine's apt configuration; set KVMCHECK_MIRROR=<Debian archive URI>"
	echo "$uri"
}

# apt with every piece of state private to $aptdir (and $arch, a Debian arch): the machine's own apt lists, cache and
# architecture stay untouched, and no root is needed.
apt_private() {
	local tool=$1
	shift
	local opts=(-q -o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=-
		-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
		-o Dir::State::status=/dev/null -o "APT::Architecture=$arch"
		-o "APT::Architectures=$arch" -o Acquire::Languages=none
		-o Debug::NoLocking=1 -o Acquire::http::Timeout=15 -o Acquire::Retries=1)
	# As root, apt drops to the _apt user to download, which cannot write our private dirs.
	[ "$(id -u)" = 0 ] && opts+=(-o APT::Sandbox::User=root)
	"$tool" "${opts[@]}" "$@"
}

# apt_setup DIR SUITE ARCH: a private apt state in DIR for one suite and arch, pointed at the
# machine's mirror and verified with its archive keyring (or the trusted.gpg.d keys).
apt_setup() {
	aptdir=$1
	arch=$3
	local keyring signed=""
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	for keyring in /usr/share/keyrings/debian-archive-keyring.gpg ""; do
		[ -z "$keyring" ] || [ -f "$keyring" ] && break
	done
	[ -n "$keyring" ] && signed=" [signed-by=$keyring]"
	echo "deb$signed $(mirror_uri) $2 main" >"$aptdir/sources.list"
}
