#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The data side of `make review` (scripts/review.sh does the builds and boots).

  review_series.py split FILE|DIR OUTDIR        patches -> OUTDIR/NNNN.patch + OUTDIR/series.json
  review_series.py meta TOP OUT.json            every test's patch metadata (x86 binaries' --meta,
                                                riscv sources' .subject = "...")
  review_series.py match SERIES META            tests per patch (subject, Revert "...", Fixes, series)
  review_series.py check SERIES SRC SCRATCH     apply the series, in order, to copies of the files it
                                                touches: clean, or the rejected hunks by name
  review_series.py report SERIES OUTDIR [--name review]   text table, OUTDIR/NAME.json, NAME-junit.xml

SERIES is series.json, updated in place by match, check and by review.sh (builds, runs). Standard
library only. Exit status: 0, 2 bad input (named on stderr), 1 (report) a patch regressed."""
import argparse
import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SCHEMA = "kvmcheck-review/1"

# --- splitting ---------------------------------------------------------------------------------

DIGEST_SEP = re.compile(r"^-{40,}\s*$", re.M)
MBOX_FROM = re.compile(r"^From \S+ .*\d{4}\s*$|^From [0-9a-f]{40} ", re.M)
DIFF_START = re.compile(r"^(diff --git |--- (a/|/dev/null)|Index: )", re.M)
DIFFSTAT = re.compile(r"^ (\S+)\s+\|\s+(\d+|Bin)", re.M)
PATCH_TAG = re.compile(r"^\s*((re|fwd?)\s*:\s*)*(\[[^\]]*\]\s*)*", re.I)
SERIES_POS = re.compile(r"\[[^\]]*?\b(?:v(\d+)\s+)?(\d+)/(\d+)\]", re.I)


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
    return {"subject": PATCH_TAG.sub("", subject or "").strip(), "raw_subject": (subject or "").strip(),
            "author": (author or "").strip(), "link": links[0] if links else None,
            "fixes": trailers(body, "Fixes"), "files": files, "has_diff": bool(diff),
            "series": {"version": int(pos.group(1) or 1), "n": int(pos.group(2)),
                       "total": int(pos.group(3))} if pos else None,
            "source": source, "_diff": diff, "_text": body}


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
    msg = email.message_from_string(msg_text, policy=email.policy.default)
    subject = str(msg.get("Subject") or "")
    if not msg.keys() or not subject:
        dm = DIFF_START.search(msg_text)
        if not dm:
            return None
        # A bare diff: no headers to read a subject from.
        return make_patch(os.path.basename(source), "", msg_text, msg_text[dm.start():], source)
    part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
    try:
        body = part.get_content() if part is not None else ""
    except (LookupError, KeyError):
        body = part.get_payload(decode=True).decode("utf-8", "replace") if part is not None else ""
    dm = DIFF_START.search(body)
    diff = body[dm.start():] if dm else ""
    return make_patch(" ".join(subject.split()), str(msg.get("From") or ""), body, diff, source,
                      str(msg.get("Message-ID") or "") or None)


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
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
    elif p.is_file():
        files = [p]
    else:
        raise InputError(f"{path}: no such file or directory")
    out = []
    for f in files:
        out.extend(split_text(f.read_text(encoding="utf-8", errors="replace"), str(f)))
    return out


# --- what a patch is for -----------------------------------------------------------------------

KERNEL_DIRS = {"arch", "drivers", "kernel", "virt", "mm", "fs", "Documentation", "tools", "security",
               "sound", "init", "ipc", "lib", "usr", "certs", "samples", "rust", "io_uring",
               "MAINTAINERS", "Kconfig", "Makefile", "KVMCHECK_KERNEL"}
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
    for f in p["files"]:
        top = f.split("/", 1)[0]
        if f.startswith(KERNEL_INCLUDE) or top in KERNEL_DIRS:
            k += 1
        elif f.startswith(QEMU_INCLUDE) or top in QEMU_DIRS:
            q += 1
    if k or q:
        return "kernel" if k >= q else "qemu"
    return "qemu" if QEMU_SUBJECT.match(p["subject"]) else "unknown"


def patch_arch(p):
    """riscv64 when the patch writes under arch/riscv (and no other arch), else x86_64."""
    arches = {f.split("/")[1] for f in p["files"] if f.startswith("arch/") and f.count("/") >= 2}
    return "riscv64" if arches == {"riscv"} else "x86_64"


def cmd_split(a):
    patches = split_input(a.input)
    out = Path(a.outdir)
    out.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(patches, 1):
        p["index"] = i
        p["kind"] = classify(p)
        p["arch"] = patch_arch(p)
        p["file"] = None
        if p["has_diff"]:
            f = out / f"{i:04d}.patch"
            f.write_text(p["_text"] if p["_text"].find(p["_diff"]) >= 0 else p["_diff"], encoding="utf-8")
            p["file"] = str(f)
        del p["_diff"], p["_text"]
    write_json({"schema": SCHEMA, "input": str(a.input), "patches": patches}, out / "series.json")
    print(len(patches))
    return 0


# --- test metadata -----------------------------------------------------------------------------

C_FIELD = r'\.{0}\s*=\s*"((?:[^"\\]|\\.)*)"'


def riscv_meta(top):
    """riscv64 binaries cannot run here: read name and patch from the source."""
    out = []
    for src in sorted((Path(top) / "riscv").glob("*.c")):
        text = src.read_text(encoding="utf-8", errors="replace")
        name = re.search(C_FIELD.format("name"), text)
        if not name:
            continue
        patch = {k: (m.group(1) if (m := re.search(C_FIELD.format(k), text)) else None)
                 for k in ("subject", "fixes", "link", "author")}
        out.append({"name": name.group(1), "arch": "riscv64",
                    "patch": patch if patch["subject"] else None})
    return out


def x86_meta(top):
    build = Path(top) / "build" / "x86_64"
    out = []
    listing = build / "tests.list"
    if not listing.exists():
        raise InputError(f"{listing} missing: run make first")
    for name in listing.read_text().split():
        try:
            r = subprocess.run([str(build / name), "--meta"], capture_output=True, text=True, timeout=20)
            meta = json.loads(r.stdout.splitlines()[0])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            continue
        out.append({"name": meta.get("name", name), "arch": "x86_64", "patch": meta.get("patch")})
    return out


def cmd_meta(a):
    write_json(x86_meta(a.top) + riscv_meta(a.top), a.out)
    return 0


# --- matching ----------------------------------------------------------------------------------

def fixes_parts(tag):
    """'61bb28279623 ("KVM: TDX: ...")' -> ('61bb28279623', normalized subject)."""
    m = re.match(r'\s*([0-9a-f]{7,40})\b(?:\s*\("(.*)"\))?', tag or "", re.I)
    return (m.group(1).lower(), norm_subject(m.group(2)) if m.group(2) else None) if m else (None, None)


def match_one(p, meta):
    subj = norm_subject(p["subject"])
    rev = reverted_subject(p["subject"])
    fixes = [fixes_parts(f) for f in p["fixes"]]
    hits = []
    for t in meta:
        tp = t.get("patch") or {}
        tsubj = norm_subject(tp.get("subject"))
        tsha, _ = fixes_parts(tp.get("fixes"))
        how = None
        if tsubj and tsubj == subj:
            how = "subject"
        elif tsubj and rev == tsubj:
            how = "reverts the patch it verifies"
        elif tsubj and any(fs == tsubj for _, fs in fixes):
            how = "Fixes: the patch it verifies"
        elif tsha and any(sha and (sha.startswith(tsha) or tsha.startswith(sha)) for sha, _ in fixes):
            how = "Fixes tag"
        if how:
            hits.append({"test": t["name"], "arch": t["arch"], "how": how})
    return hits


def series_key(p):
    s = p.get("series")
    return (p["author"].lower(), s["version"], s["total"]) if s and s["total"] > 1 else None


def cmd_match(a):
    series = read_json(a.series)
    meta = read_json(a.meta)
    for p in series["patches"]:
        p["tests"] = match_one(p, meta)
    # A series' patches share the cover letter's test (the seed's SEV series: 0/8 names the
    # test, 1/8 .. 8/8 do not), marked so a reader sees the match is by series.
    groups = {}
    for p in series["patches"]:
        k = series_key(p)
        if k:
            groups.setdefault(k, []).append(p)
    for members in groups.values():
        # Only the cover letter speaks for the whole series; a sibling's own match does not.
        shared = {h["test"]: h for p in members if p["series"]["n"] == 0 for h in p["tests"]}
        for p in members:
            if not p["tests"] and shared:
                p["tests"] = [dict(h, how="series") for h in shared.values()]
    write_json(series, a.series)
    return 0


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


def cmd_check(a):
    """Apply each kernel patch in order to copies of the files the series touches (a dry run of
    patch 2 alone would fail wherever it builds on patch 1)."""
    series = read_json(a.series)
    src, scratch = Path(a.src), Path(a.scratch)
    base_ok = is_kernel_tree(src)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    todo = [p for p in series["patches"] if p["kind"] == "kernel" and p["has_diff"]]
    for f in sorted({f for p in todo for f in p["files"]}):
        if (src / f).is_file():
            (scratch / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / f, scratch / f)
    if (src / "KVMCHECK_KERNEL").is_file() and not (scratch / "KVMCHECK_KERNEL").exists():
        shutil.copy2(src / "KVMCHECK_KERNEL", scratch / "KVMCHECK_KERNEL")
    broken = None
    for p in todo:
        if not base_ok:
            p["apply"] = {"ok": False, "reason": f"base {src} is not a kernel tree (no Makefile, Kconfig, arch/)"}
            continue
        if broken:
            p["apply"] = {"ok": False, "reason": f"not tried: patch {broken} of the series does not apply"}
            continue
        r = subprocess.run(["patch", "-p1", "-f", "-N", "--no-backup-if-mismatch", "-r", "-",
                            "-d", str(scratch), "-i", p["file"]], capture_output=True, text=True, timeout=60)
        fails = patch_failures(r.stdout + r.stderr)
        if r.returncode == 0:
            p["apply"] = {"ok": True, "reason": "applies cleanly"}
        else:
            if not fails:
                fails = [(r.stdout + r.stderr).strip().splitlines()[-1] if (r.stdout + r.stderr).strip() else f"patch exit {r.returncode}"]
            p["apply"] = {"ok": False, "reason": "does not apply: " + "; ".join(fails)}
            broken = p["index"]
    series["base_src"] = str(src)
    series["applies"] = base_ok and broken is None and bool(todo)
    write_json(series, a.series)
    print("yes" if series["applies"] else "no")
    return 0


# --- verdicts and report -----------------------------------------------------------------------

def run_verdict(run_json, test):
    """(verdict, reason, subtests) of one test in a runner JSON; None when it did not run."""
    try:
        data = read_json(run_json)
    except InputError:
        return None
    for t in data.get("tests", []):
        if t.get("name") == test:
            subs = {s["name"]: s["verdict"] for s in t.get("subtests") or []}
            return t.get("verdict"), t.get("reason") or "", subs
    return None


def change(before, after):
    """What a reviewer wants to read about one test across the series."""
    if before in ("FAIL", "SKIP", "TIMEOUT", "CRASH") and after == "PASS":
        return "proven"
    if before == "PASS" and after in ("FAIL", "TIMEOUT", "CRASH"):
        return "regressed"
    if before == after:
        return "no behaviour change seen"
    if after == "SKIP":
        return f"now skips ({before} -> SKIP)"
    return f"{before} -> {after}"


def evaluate(series):
    """Fill each patch's 'rows' (one per test, or one line saying why there is none) and status."""
    kernels = series.get("kernels", {})
    for p in series["patches"]:
        rows = []
        why = None
        if p["kind"] == "qemu":
            why = "not a kernel patch (QEMU)"
        elif p["kind"] == "unknown":
            why = "not a kernel patch (no kernel path)" if p["files"] else "no paths: cannot tell what it patches"
        elif not p["has_diff"]:
            why = "no diff in this message: nothing to build"
        elif not p.get("apply", {}).get("ok", False):
            why = p.get("apply", {}).get("reason", "not applied")
        elif not p["tests"]:
            why = "no kvmcheck test names this patch"
        if p["kind"] == "qemu" and p["tests"]:
            why += ": modelled by " + ", ".join(h["test"] for h in p["tests"])
        arch = p["arch"]
        kb = kernels.get(arch, {})
        for h in p["tests"]:
            row = {"test": h["test"], "how": h["how"], "test_arch": h["arch"], "before": None,
                   "after": None, "change": None, "note": None}
            if why:
                row["change"] = "not run"
                row["note"] = why
            elif h["arch"] != arch:
                row["change"] = "not run"
                row["note"] = f"a {h['arch']} test; this patch builds {arch}"
            else:
                for side in ("before", "after"):
                    k = kb.get(side) or {}
                    if k.get("status") != "ok":
                        row["change"] = "not run"
                        row["note"] = f"{side} kernel: {k.get('reason') or 'not built'}"
                        break
                    v = run_verdict(k["json"], h["test"])
                    if v is None:
                        row["change"] = "not run"
                        row["note"] = f"{h['test']} did not run on the {side} kernel"
                        break
                    row[side], row[side + "_reason"], row[side + "_subtests"] = v
                else:
                    row["change"] = change(row["before"], row["after"])
                    bs, as_ = row.get("before_subtests") or {}, row.get("after_subtests") or {}
                    changed = [n for n, v in as_.items() if bs.get(n) != v]
                    if row["change"] == "no behaviour change seen" and changed:
                        # Same test verdict (PASS with some subtests skipped, say): the
                        # subtests tell whether the series brought or broke a behaviour.
                        subs = [change(bs.get(n, "-"), as_[n]) for n in changed]
                        if "regressed" in subs:
                            row["change"] = "regressed"
                        elif "proven" in subs:
                            row["change"] = "proven"
                    if changed:
                        row["note"] = "subtests changed: " + ", ".join(
                            f"{n} {row['before_subtests'].get(n, '-')}->{row['after_subtests'][n]}" for n in changed)
                    elif row["after"] != "PASS" and row.get("after_reason"):
                        row["note"] = row["after_reason"]
            rows.append(row)
        p["why"] = why
        p["rows"] = rows
        changes = [r["change"] for r in rows]
        if "regressed" in changes:
            p["status"] = "regressed"
        elif "proven" in changes:
            p["status"] = "proven"
        elif rows and all(c == "no behaviour change seen" for c in changes):
            p["status"] = "no behaviour change seen"
        else:
            p["status"] = why or (changes[0] if changes else "no test")
    return series


def build_cell(series, p, side):
    if p["kind"] != "kernel" or not p["has_diff"] or not p.get("apply", {}).get("ok"):
        return "-"
    k = series.get("kernels", {}).get(p["arch"], {}).get(side) or {}
    if not k:
        return "-"
    if k.get("build") == "ok":
        return "built" + (f" {k['build_s']}s" if k.get("build_s") not in (None, "") else "") + \
            (" (cached)" if k.get("cached") == 1 else "")
    return "FAILED"


def render(series):
    out = []
    kernels = series.get("kernels", {})
    for arch, kb in sorted(kernels.items()):
        for side in ("before", "after"):
            k = kb.get(side) or {}
            out.append(f"# {arch} {side}: {k.get('kernel') or '-'}  "
                       f"build: {k.get('build') or '-'}  boot: {k.get('status') or '-'}"
                       + (f"  ({k['reason']})" if k.get("reason") else ""))
    if not series["patches"]:
        out.append(f"{series.get('input')}: no patch found (no digest entry, mail or diff): nothing to review")
        return "\n".join(out)
    head = ["#", "patch", "arch", "apply", "build before/after", "test", "by", "before", "after", "verdict"]
    table = []
    for p in series["patches"]:
        subj = p["subject"] if len(p["subject"]) <= 60 else p["subject"][:57] + "..."
        apply = "-" if p["kind"] != "kernel" or not p["has_diff"] else \
            ("clean" if p.get("apply", {}).get("ok") else "REJECTED")
        build = f"{build_cell(series, p, 'before')} / {build_cell(series, p, 'after')}"
        arch = p["arch"] if p["kind"] == "kernel" else "-"
        if not p["rows"]:
            table.append([str(p["index"]), subj, arch, apply, build, "-", "-", "-", "-", p["status"]])
        for i, r in enumerate(p["rows"]):
            verdict = r["change"] + (f": {r['note']}" if r.get("note") else "")
            table.append([str(p["index"]) if i == 0 else "", subj if i == 0 else "", arch if i == 0 else "",
                          apply if i == 0 else "",
                          build if i == 0 else "", r["test"], r["how"], r["before"] or "-", r["after"] or "-",
                          p["why"] if p["why"] else verdict])
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(head)]
    out.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for row in table:
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    notes = [p for p in series["patches"] if p.get("apply", {}).get("ok") is False]
    for p in notes:
        out.append(f"[{p['index']}] {p['apply']['reason']}")
    counts = {}
    for p in series["patches"]:
        short = p["status"].split(": modelled by")[0]
        counts[short] = counts.get(short, 0) + 1
    out.append(f"{len(series['patches'])} patches: " +
               ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda x: -x[1])))
    return "\n".join(out)


def junit(series, path):
    root = ET.Element("testsuites", name="kvmcheck-review")
    suite = ET.SubElement(root, "testsuite", name="kvmcheck.review", tests=str(len(series["patches"])))
    nfail = nskip = 0
    for p in series["patches"]:
        for r in p["rows"] or [None]:
            name = f"{p['index']:02d} {p['subject']}" + (f" :: {r['test']}" if r else "")
            tc = ET.SubElement(suite, "testcase", classname="kvmcheck.review", name=name)
            props = ET.SubElement(tc, "properties")
            for k in ("author", "link"):
                ET.SubElement(props, "property", name=k, value=p.get(k) or "")
            ET.SubElement(props, "property", name="fixes", value="; ".join(p["fixes"]))
            state = r["change"] if r else p["status"]
            msg = f"{state}" + (f": {r['note']}" if r and r.get("note") else "")
            if r and r["before"]:
                msg = f"{r['before']} before, {r['after']} after: " + msg
            if state == "regressed":
                ET.SubElement(tc, "failure", type="regressed", message=msg)
                nfail += 1
            elif state != "proven":
                ET.SubElement(tc, "skipped", message=msg if r else (p["why"] or state))
                nskip += 1
    suite.set("failures", str(nfail))
    suite.set("skipped", str(nskip))
    if hasattr(ET, "indent"):
        ET.indent(root)
    tmp = path + ".tmp"
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)


def cmd_report(a):
    series = evaluate(read_json(a.series))
    out = Path(a.outdir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(series, out / f"{a.name}.json")
    junit(series, str(out / f"{a.name}-junit.xml"))
    text = render(series)
    (out / f"{a.name}.txt").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 1 if any(p["status"] == "regressed" for p in series["patches"]) else 0


# --- plumbing ----------------------------------------------------------------------------------

class InputError(Exception):
    pass


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from e
    except ValueError as e:
        raise InputError(f"{path}: not JSON ({e})") from e


def write_json(obj, path):
    tmp = str(path) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def number(val):
    """'37' -> 37, '4.1' -> 4.1, anything else as it is (JSON readers want numbers)."""
    for conv in (int, float):
        try:
            return conv(val)
        except ValueError:
            pass
    return val


def cmd_set(a):
    """review.sh records a kernel: set SERIES kernels.ARCH.SIDE key=value..."""
    series = read_json(a.series)
    k = series.setdefault("kernels", {}).setdefault(a.arch, {}).setdefault(a.side, {})
    for kv in a.values:
        key, _, val = kv.partition("=")
        k[key] = number(val) if val != "" else None
    write_json(series, a.series)
    return 0


def cmd_query(a):
    """Lines for review.sh: 'arch tests...' per arch to build, from applicable kernel patches."""
    series = read_json(a.series)
    arches = {}
    for p in series["patches"]:
        if p["kind"] == "kernel" and p["has_diff"] and p.get("apply", {}).get("ok"):
            ts = arches.setdefault(p["arch"], [])
            ts.extend(h["test"] for h in p.get("tests", []) if h["arch"] == p["arch"] and h["test"] not in ts)
    for arch, ts in sorted(arches.items()):
        print(arch, *ts)
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="review_series.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("input")
    s.add_argument("outdir")
    m = sub.add_parser("meta")
    m.add_argument("top")
    m.add_argument("out")
    mt = sub.add_parser("match")
    mt.add_argument("series")
    mt.add_argument("meta")
    c = sub.add_parser("check")
    c.add_argument("series")
    c.add_argument("src")
    c.add_argument("scratch")
    r = sub.add_parser("report")
    r.add_argument("series")
    r.add_argument("outdir")
    r.add_argument("--name", default="review")
    st = sub.add_parser("set")
    st.add_argument("series")
    st.add_argument("arch")
    st.add_argument("side", choices=("before", "after"))
    st.add_argument("values", nargs="*")
    q = sub.add_parser("query")
    q.add_argument("series")
    a = ap.parse_args(argv)
    try:
        return {"split": cmd_split, "meta": cmd_meta, "match": cmd_match, "check": cmd_check,
                "report": cmd_report, "set": cmd_set, "query": cmd_query}[a.cmd](a)
    except InputError as e:
        print(f"review_series.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
