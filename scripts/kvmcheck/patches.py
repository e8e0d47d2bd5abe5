# SPDX-License-Identifier: GPL-2.0-only
"""Patches for review: split an mbox, `git format-patch` files, a directory of them or a
mailing-list digest into patches; read every test's metadata from the binaries themselves; match
patches to tests (subject, Revert "subject", Fixes, the cover letter of a series, the kernel
paths a test exercises); apply a series to copies of the files it touches."""
import dataclasses
import email
import email.policy
import fnmatch
import json
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kvmcheck import util
from kvmcheck.util import InputError, atomic_write, msg

# --- splitting ---------------------------------------------------------------------------------

DIGEST_SEP = re.compile(r"^-{40,}\s*$", re.M)
MBOX_FROM = re.compile(r"^From \S+ .*\d{4}\s*$|^From [0-9a-f]{40} ", re.M)
DIFF_START = re.compile(r"^(diff --git |--- (a/|/dev/null)|Index: )", re.M)
DIFFSTAT = re.compile(r"^ (\S+)\s+\|\s+(\d+|Bin)", re.M)
PATCH_TAG = re.compile(r"^\s*((re|fwd?)\s*:\s*)*(\[[^\]]*\]\s*)*", re.I)
SERIES_POS = re.compile(r"\[[^\]]*?\b(?:v(\d+)\s+)?(\d+)/(\d+)\]", re.I)


@dataclass
class Hit:
    """One test chosen for a patch, and how it was chosen (the table's 'by' column)."""
    test: str
    arch: str
    how: str


@dataclass
class Patch:
    index: int
    subject: str
    raw_subject: str
    author: str
    link: str | None
    fixes: list
    files: list
    has_diff: bool
    series: dict | None
    source: str
    kind: str = "unknown"          # kernel | qemu | unknown
    arch: str = "x86_64"
    file: str | None = None        # the split patch, an absolute path
    tests: list = field(default_factory=list)      # [Hit]
    apply: dict | None = None      # {"ok": bool, "reason": str}
    text: str = field(default="", repr=False)       # what is written to .file
    diff: str = field(default="", repr=False)

    def to_json(self):
        d = dataclasses.asdict(self)
        del d["text"], d["diff"]
        return d


def norm_subject(s):
    """'[PATCH v2 1/8] KVM: x86:  Foo' and 'kvm: x86: foo' compare equal."""
    s = s or ""
    if s.startswith("New:"):
        s = s[4:]
    s = PATCH_TAG.sub("", s)
    return " ".join(s.split()).lower().rstrip(".")


def reverted_subject(s):
    m = re.match(r'revert\s+"(.*)"\s*$', norm_subject(s))
    return m.group(1) if m else None


def diff_files(text):
    """Files a unified diff writes (the +++ side; the --- side for a deletion), -p1 paths."""
    files = []
    for m in re.finditer(r"^\+\+\+ (\S+)|^--- (\S+)", text, re.M):
        path = m.group(1) or m.group(2)
        if path == "/dev/null":
            continue
        path = path.split("/", 1)[1] if "/" in path else path
        if path not in files:
            files.append(path)
    return files


def trailers(body, tag):
    return [m.group(1).strip() for m in re.finditer(rf"^{tag}:\s*(.+)$", body, re.M | re.I)]


def make_patch(subject, author, body, diff, source, msgid=None):
    links = trailers(body, "Link") + trailers(body, "Closes")
    if not links and msgid:
        links = ["https://lore.kernel.org/r/" + msgid.strip("<> ")]
    files = diff_files(diff) if diff else [m.group(1) for m in DIFFSTAT.finditer(body)]
    pos = SERIES_POS.search(subject or "")
    p = Patch(index=0, subject=PATCH_TAG.sub("", subject or "").strip(),
              raw_subject=(subject or "").strip(), author=(author or "").strip(),
              link=links[0] if links else None, fixes=trailers(body, "Fixes"), files=files,
              has_diff=bool(diff),
              series={"version": int(pos.group(1) or 1), "n": int(pos.group(2)),
                      "total": int(pos.group(3))} if pos else None,
              source=source, text=body, diff=diff)
    p.kind = classify(p)
    p.arch = patch_arch(p)
    return p


def split_digest(text, source):
    """The mailing-list digest (the seed): '------' separated entries, '[PATCH ...] subject',
    'Author:', the commit message, '---', a diffstat; diffs only when someone pasted them."""
    out = []
    for chunk in DIGEST_SEP.split(text):
        m = re.search(r"^(\[PATCH[^\]]*\].*)$", chunk, re.M) or re.search(r"^New:\s+(.*)$", chunk, re.M)
        if not m:
            continue
        author = re.search(r"^Author:\s*(.*)$", chunk, re.M)
        dm = DIFF_START.search(chunk)
        out.append(make_patch(m.group(1), author.group(1) if author else "", chunk,
                              chunk[dm.start():] if dm else "", source))
    return out


def split_message(msg_text, source):
    m = email.message_from_string(msg_text, policy=email.policy.default)
    subject = str(m.get("Subject") or "")
    if not m.keys() or not subject:
        dm = DIFF_START.search(msg_text)
        if not dm:
            return None
        # A bare diff: no headers to read a subject from.
        return make_patch(os.path.basename(source), "", msg_text, msg_text[dm.start():], source)
    part = m.get_body(preferencelist=("plain",)) if m.is_multipart() else m
    try:
        body = part.get_content() if part is not None else ""
    except (LookupError, KeyError):
        body = part.get_payload(decode=True).decode("utf-8", "replace") if part is not None else ""
    dm = DIFF_START.search(body)
    diff = body[dm.start():] if dm else ""
    return make_patch(" ".join(subject.split()), str(m.get("From") or ""), body, diff, source,
                      str(m.get("Message-ID") or "") or None)


def split_text(text, source):
    if "===== Patch Commit Messages" in text or re.search(r"^New:\s+\S", text, re.M):
        return split_digest(text, source)
    starts = [m.start() for m in MBOX_FROM.finditer(text)]
    chunks = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])] if starts else [text]
    out = []
    for c in chunks:
        if starts:
            c = c.split("\n", 1)[1] if "\n" in c else ""  # the mbox From_ line is not a header
        p = split_message(c, source)
        if p:
            out.append(p)
    return out


def split_input(path):
    """Every patch of FILE or DIR, in order, numbered from 1. InputError when it cannot be read."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
    elif p.is_file():
        files = [p]
    else:
        raise InputError(f"{path}: no such file or directory")
    out = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise InputError(f"{f}: {e.strerror}") from e
        out.extend(split_text(text, str(f)))
    for i, patch in enumerate(out, 1):
        patch.index = i
    return out


def write_patches(patches, outdir):
    """Each patch with a diff as OUTDIR/NNNN.patch; .file is absolute, so `patch -d TREE -i` and
    a build in another directory open the same file whatever the caller's working directory."""
    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    for p in patches:
        if p.has_diff:
            p.file = os.path.join(outdir, f"{p.index:04d}.patch")
            atomic_write(p.file, p.text if p.text.find(p.diff) >= 0 else p.diff)


# --- what a patch is for -----------------------------------------------------------------------

KERNEL_DIRS = {"arch", "drivers", "kernel", "virt", "mm", "fs", "Documentation", "tools", "security",
               "sound", "init", "ipc", "lib", "usr", "certs", "samples", "rust", "io_uring", "net",
               "block", "crypto", "MAINTAINERS", "Kconfig", "Makefile", "KVMCHECK_KERNEL"}
QEMU_DIRS = {"accel", "target", "qapi", "hw", "qom", "tcg", "system", "softmmu", "migration",
             "linux-user", "bsd-user", "qga", "ui", "chardev", "monitor", "linux-headers", "stubs",
             "util", "audio", "backends", "docs", "gdbstub", "hmp-commands.hx", "qemu-options.hx",
             "meson.build", "configure", "pc-bios", "subprojects", "trace-events"}
KERNEL_INCLUDE = ("include/linux/", "include/uapi/", "include/asm-generic/", "include/kvm/",
                  "include/trace/", "include/net/", "include/clocksource/", "include/xen/")
QEMU_INCLUDE = ("include/hw/", "include/system/", "include/sysemu/", "include/qemu/",
                "include/exec/", "include/qapi/", "include/migration/", "include/accel/")
QEMU_SUBJECT = re.compile(r"^(target/|accel/|hw/|qapi|i386/|migration|qom|system/)", re.I)


def classify(p):
    """kernel, qemu or unknown, by the paths it writes (the subject's prefix when no path)."""
    k = q = 0
    for f in p.files:
        top = f.split("/", 1)[0]
        if f.startswith(KERNEL_INCLUDE) or top in KERNEL_DIRS:
            k += 1
        elif f.startswith(QEMU_INCLUDE) or top in QEMU_DIRS:
            q += 1
    if k or q:
        return "kernel" if k >= q else "qemu"
    return "qemu" if QEMU_SUBJECT.match(p.subject) else "unknown"


def patch_arch(p):
    """riscv64 when the patch writes under arch/riscv (and no other arch), else x86_64."""
    arches = {f.split("/")[1] for f in p.files if f.startswith("arch/") and f.count("/") >= 2}
    return "riscv64" if arches == {"riscv"} else "x86_64"


# --- test metadata -----------------------------------------------------------------------------

@dataclass
class TestMeta:
    name: str
    arch: str
    patch: dict | None
    paths: list           # kernel source paths the test exercises: files, directories, globs
    subtests: list


def emulator(arch):
    """The argv prefix that runs a static binary of ARCH here: nothing when native, else
    qemu-user (a riscv64 build's --meta is read from the binaries, never from C source)."""
    if arch == platform.machine():
        return []
    for attempt in (0, 1):
        for cand in (f"qemu-{arch}-static", f"qemu-{arch}"):
            path = shutil.which(cand)
            if path:
                return [path]
        # As the scripts do for their tools (lib.sh's need): install it when we can.
        if attempt or os.geteuid() != 0 or not shutil.which("apt-get"):
            break
        msg(f"# installing qemu-user-static (to read the {arch} tests' --meta)")
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "qemu-user-static"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), timeout=900, check=False)
    raise InputError(f"reading the {arch} tests' --meta needs qemu-user: "
                     "apt-get install qemu-user-static (or qemu-user)")


def collect_meta(build_dir, arch):
    """Every test of BUILD_DIR/tests.list, from each binary's own --meta (the runner's listing
    drops fields; this is the schema the tests print)."""
    build = Path(build_dir)
    listing = build / "tests.list"
    if not listing.is_file():
        raise InputError(f"{listing}: missing (build the tests first: make)")
    prefix = emulator(arch)
    out = []
    for name in listing.read_text(encoding="utf-8").split():
        argv = [*prefix, str(build / name), "--meta"]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                               stdin=subprocess.DEVNULL, check=False)
            meta = json.loads(r.stdout.splitlines()[0])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError) as e:
            msg(f"review: {build / name} --meta: unreadable ({e}); the test is left out")
            continue
        out.append(TestMeta(name=meta.get("name", name), arch=meta.get("arch", arch),
                            patch=meta.get("patch"), paths=list(meta.get("paths") or []),
                            subtests=list(meta.get("subtests") or [])))
    return out


# --- matching ----------------------------------------------------------------------------------

def fixes_parts(tag):
    """'61bb28279623 ("KVM: TDX: ...")' -> ('61bb28279623', normalized subject)."""
    m = re.match(r'\s*([0-9a-f]{7,40})\b(?:\s*\("(.*)"\))?', tag or "", re.I)
    return (m.group(1).lower(), norm_subject(m.group(2)) if m.group(2) else None) if m else (None, None)


def named_by(p, t):
    """How patch P names test T's patch, or None."""
    tp = t.patch or {}
    tsubj = norm_subject(tp.get("subject"))
    tsha, _ = fixes_parts(tp.get("fixes"))
    fixes = [fixes_parts(f) for f in p.fixes]
    if tsubj and tsubj == norm_subject(p.subject):
        return "subject"
    if tsubj and reverted_subject(p.subject) == tsubj:
        return "reverts the patch it verifies"
    if tsubj and any(fs == tsubj for _, fs in fixes):
        return "Fixes: the patch it verifies"
    if tsha and any(sha and (sha.startswith(tsha) or tsha.startswith(sha)) for sha, _ in fixes):
        return "Fixes tag"
    return None


def path_hit(files, paths):
    """The first file of a patch that one of a test's kernel paths covers: the file itself, a
    directory above it ('arch/x86/kvm/' or 'arch/x86/kvm') or a glob ('arch/*/kvm/lapic.c')."""
    for f in files:
        for p in paths:
            d = p.rstrip("/")
            if f == d or f.startswith(d + "/") or fnmatch.fnmatchcase(f, p):
                return f
    return None


def series_key(p):
    s = p.series
    return (p.author.lower(), s["version"], s["total"]) if s and s["total"] > 1 else None


def match(patches, meta):
    """Fill each patch's .tests: the tests that name it (subject, Revert, Fixes), else those
    its cover letter names, else the tests whose kernel paths it writes."""
    for p in patches:
        p.tests = one_per_test(p, [Hit(t.name, t.arch, how) for t in meta if (how := named_by(p, t))])
    # A series' patches share the cover letter's test (the seed's SEV series: 0/8 names the
    # test, 1/8 .. 8/8 do not).
    groups = {}
    for p in patches:
        k = series_key(p)
        if k:
            groups.setdefault(k, []).append(p)
    for members in groups.values():
        shared = {h.test: h for p in members if p.series["n"] == 0 for h in p.tests}
        for p in members:
            if not p.tests and shared:
                p.tests = [Hit(h.test, h.arch, "series") for h in shared.values()]
    # A refactor that breaks something names no test: the files it writes still say which
    # tests exercise that code.
    for p in patches:
        if p.tests or p.kind != "kernel":
            continue
        p.tests = one_per_test(p, [Hit(t.name, t.arch, f"paths: {f}") for t in meta
                                   if (f := path_hit(p.files, t.paths))])


def one_per_test(p, hits):
    """common/ucall, vhost/ and vfio/ tests exist for both architectures: one row per test,
    the one of the architecture the patch builds."""
    out = {}
    for h in hits:
        if h.test not in out or (h.arch == p.arch and out[h.test].arch != p.arch):
            out[h.test] = h
    return list(out.values())


# --- applying ----------------------------------------------------------------------------------

def is_kernel_tree(src):
    s = Path(src)
    return (s / "Makefile").is_file() and (s / "Kconfig").is_file() and (s / "arch").is_dir()


def patch_failures(out):
    """Rejected hunks and missing files, named, from GNU patch's output."""
    lines, cur = [], None
    for ln in out.splitlines():
        m = re.match(r"(?:patching|checking) file '?([^']+?)'?$", ln)
        if m:
            cur = m.group(1)
            continue
        m = re.match(r"Hunk #(\d+) FAILED at (\d+)", ln)
        if m:
            lines.append(f"{cur}: hunk #{m.group(1)} FAILED at line {m.group(2)}")
        elif "can't find file to patch" in ln or "No file to patch" in ln:
            lines.append(f"{cur or '?'}: no such file in the base")
        elif re.search(r"(malformed|garbage|Only garbage)", ln, re.I):
            lines.append(ln.strip())
        elif "Reversed (or previously applied) patch detected" in ln:
            lines.append(f"{cur}: already applied in the base")
    return lines


def kernel_patches(patches):
    return [p for p in patches if p.kind == "kernel" and p.has_diff]


def apply_one(patch_file, scratch):
    """PATCH_FILE applied (-p1) to the copies in SCRATCH: (True, None), or (False, why) with
    the rejected hunks named."""
    try:
        r = subprocess.run(["patch", "-p1", "-f", "-N", "--no-backup-if-mismatch", "-r", "-",
                            "-d", str(scratch), "-i", str(patch_file)], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return False, "patch ran past 60 s"
    if r.returncode == 0:
        return True, None
    out = (r.stdout + r.stderr).strip()
    fails = patch_failures(out) or [out.splitlines()[-1] if out else f"patch exit {r.returncode}"]
    return False, "; ".join(fails)


def apply_check(patches, src, scratch, base=(), on_base=None):
    """Apply each kernel patch in order to copies (in SCRATCH, which the caller owns and
    removes) of the files the series touches: a dry run of patch 2 alone would fail wherever it
    builds on patch 1, and the base is never written. BASE: patch files applied first (reviewer
    mode's base series, the tree the series was written against); when one of them does not
    apply, every kernel patch is "not tried" with the reason; ON_BASE(SCRATCH) is called once it
    applied. True when the whole series applies."""
    util.need("patch", "patch")
    src, scratch = Path(src), Path(scratch)
    todo = kernel_patches(patches)
    if not is_kernel_tree(src):
        for p in todo:
            p.apply = {"ok": False, "reason": f"base {src} is not a kernel tree (no Makefile, Kconfig, arch/)"}
        return False
    touched = {f for p in todo for f in p.files}
    for b in base:
        touched.update(diff_files(Path(b).read_text(encoding="utf-8", errors="replace")))
    for f in sorted(touched):
        if (src / f).is_file():
            (scratch / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / f, scratch / f)
    for b in base:
        ok, why = apply_one(b, scratch)
        if not ok:
            for p in todo:
                p.apply = {"ok": None, "reason": f"not tried: the base series does not apply: "
                                                 f"{Path(b).name}: {why}"}
            return False
    if on_base:
        on_base(scratch)
    broken = None
    for p in todo:
        if broken:
            p.apply = {"ok": False, "reason": f"not tried: patch {broken} of the series does not apply"}
            continue
        ok, why = apply_one(p.file, scratch)
        if ok:
            p.apply = {"ok": True, "reason": "applies cleanly"}
            continue
        p.apply = {"ok": False, "reason": "does not apply: " + why}
        broken = p.index
    return bool(todo) and broken is None
