# SPDX-License-Identifier: GPL-2.0-only
"""scripts/report [options] [RESULTS_DIR]   the matrix, review and mutant results as one HTML page

RESULTS_DIR (default results/) holds what make matrix, make review and make mutants wrote:
matrix.json, review.json, mutants/mutants.json; whichever are there make the page, written to
RESULTS_DIR/report.html (one file: inline CSS, script and SVG, no network, opens from disk).
Options:
  --matrix FILE     a matrix.json (or a per-line shard) instead of RESULTS_DIR/matrix.json
  --review FILE     a review.json instead of RESULTS_DIR/review.json
  --mutants FILE    a mutants.json instead of RESULTS_DIR/mutants/mutants.json
  --baseline FILE   the matrix to compare with (default: the newest earlier run kept in
                    RESULTS_DIR/history/); changed cells are marked and listed, regressions first
  --no-history      neither keep this matrix in history/ nor compare with it
  --meta FILE       test metadata (kvmcheck-run -l --json) for groups and summaries
  --build-dir DIR   read the metadata from this build (default build/x86_64 when it exists);
                    without either, a test's group is its directory (x86, vhost ...)
  --expect DIR      expectations for a matrix file that was never judged (a shard; default expect/)
  --out FILE        the page (default RESULTS_DIR/report.html)

Every matrix the report is made from is kept in RESULTS_DIR/history/ (the newest 20, each once),
so the next run's page says what changed since this one. The last line printed is the page's
path. Exit status: 0 the page was written; 2 bad usage, no results file, or a file that is not
what it claims (named, with the field); 130 interrupted.
"""
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

from kvmcheck import compare as cmp
from kvmcheck import matrix, results, suite, util
from kvmcheck.expect import judge_column
from kvmcheck.suite import SPLAT_RE, STAMP_RE
from kvmcheck.util import InputError

HISTORY_KEEP = 20
LOG_MAX_LINES = 400
LOG_MAX_CHARS = 32000
KERNEL_LINES_BEFORE = 3
KERNEL_LINES_AFTER = 45
BAD = ("FAIL", "TIMEOUT", "CRASH", "BOOT-ERROR", "NOT-RUN")
REVIEW_SCHEMAS = ("kvmcheck-review/2",)
MUTANT_SCHEMAS = ("kvmcheck-mutants/1",)
# What a review's status means, in words a maintainer acts on.
REVIEW_WORDS = {
    "proven": "proven: a test (or a subtest) that did not pass before the series passes after it",
    "regressed": "regressed: a test that passed before the series fails after it",
    "no behaviour change seen": "no behaviour change seen: the same verdicts on both kernels",
}


# --- the model -----------------------------------------------------------------------------------

@dataclass
class SubView:
    name: str
    verdict: str
    reason: str | None = None
    expected: str = "PASS"
    expected_reason: str | None = None
    as_expected: bool = True


@dataclass
class CellView:
    """One test on one kernel line, as the page shows it."""
    test: str
    line: str
    verdict: str
    as_expected: bool
    reason: str | None = None
    expected: str = "PASS"
    expected_reason: str | None = None
    duration_s: float | None = None
    subtests: list = field(default_factory=list)      # [SubView]
    log: str | None = None                            # the test's TAP block
    kernel_log: str | None = None                     # the console excerpt (a splat)
    change: object = None                             # Change, when a baseline differs

    @property
    def passed(self):
        return sum(1 for s in self.subtests if s.verdict == "PASS")

    def failing_subtests(self):
        return {s.name for s in self.subtests if s.verdict in BAD or not s.as_expected}

    def bad(self):
        return self.verdict in BAD or not self.as_expected

    def state(self):
        return (self.verdict, self.as_expected, tuple((s.name, s.verdict) for s in self.subtests))

    def short(self):
        """'PASS', 'PASS 2/8', 'FAIL!': the cell's text, readable without colour."""
        text = self.verdict
        if self.subtests and self.passed != len(self.subtests) and self.verdict not in (
                "BOOT-ERROR", "NOT-RUN"):
            text += f" {self.passed}/{len(self.subtests)}"
        return text


@dataclass
class ColumnView:
    line: str
    status: str
    label: str | None = None
    kernel: str | None = None
    version: str | None = None
    target: str | None = None
    reason: str | None = None
    timings: dict = field(default_factory=dict)
    logs: str | None = None
    as_expected: bool = True
    console: list | None = None                      # console.log lines, when kept


@dataclass
class TestRow:
    name: str
    suite: str                       # kvmcheck | upstream
    groups: list = field(default_factory=list)
    summary: str | None = None
    patch: dict | None = None


@dataclass
class Change:
    line: str
    test: str
    kind: str                        # a kvmcheck.compare kind: regression, fixed ...
    before: str
    after: str
    detail: str = ""


@dataclass
class MatrixView:
    path: str
    columns: list                    # [ColumnView]
    rows: list                       # [TestRow]
    cells: dict                      # (test, line) -> CellView
    complete: bool = True
    summary: dict = field(default_factory=dict)
    mtime: float = 0.0


@dataclass
class Page:
    matrix: MatrixView | None = None
    review: dict | None = None
    review_path: str | None = None
    mutants: dict | None = None
    mutants_path: str | None = None
    baseline: MatrixView | None = None
    baseline_note: str | None = None
    changes: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    generated: str = ""


# --- reading the inputs --------------------------------------------------------------------------

def _bad(path, where, what):
    raise InputError(f"{path}: {where}: {what}")


def _sub_from(d, path, where):
    if not isinstance(d, dict) or not isinstance(d.get("name"), str) or \
            d.get("verdict") not in results.COLUMN_VERDICTS or \
            not isinstance(d.get("as_expected"), bool):
        _bad(path, where, "not a judged subtest (name, verdict, as_expected)")
    return SubView(d["name"], d["verdict"], d.get("reason"), d.get("expected") or "PASS",
                   d.get("expected_reason"), d["as_expected"])


def _cells_of(k, col, path, i, expect_dir):
    """The judged cells of one column: those matrix.json recorded (what the run said), else
    the column judged now against expect_dir (a shard carries no judgement)."""
    recorded = k.get("cells")
    if recorded is not None:
        if not isinstance(recorded, list):
            _bad(path, f"kernels[{i}].cells", "not a list")
        out = []
        for j, c in enumerate(recorded):
            w = f"kernels[{i}].cells[{j}]"
            if not isinstance(c, dict) or not isinstance(c.get("test"), str) or \
                    c.get("verdict") not in results.COLUMN_VERDICTS or \
                    not isinstance(c.get("as_expected"), bool):
                _bad(path, w, "not a judged cell (test, verdict, as_expected)")
            subs = c.get("subtests") or []
            if not isinstance(subs, list):
                _bad(path, f"{w}.subtests", "not a list")
            out.append(CellView(c["test"], col.line, c["verdict"], c["as_expected"],
                                c.get("reason"), c.get("expected") or "PASS",
                                c.get("expected_reason"), c.get("duration_s"),
                                [_sub_from(s, path, f"{w}.subtests[{n}]") for n, s in enumerate(subs)]))
        if not isinstance(k.get("as_expected"), bool):
            _bad(path, f"kernels[{i}].as_expected", "missing or not true/false")
        return out, k["as_expected"]
    j = judge_column(col.line, col.status, col.reason, col.runner,
                     matrix.expect_for(expect_dir, col.line))
    return [CellView(c.test, col.line, c.verdict, c.as_expected, c.reason, c.expected,
                     c.expected_reason, c.duration_s,
                     [SubView(s.name, s.verdict, s.reason, s.expected, s.expected_reason,
                              s.as_expected) for s in c.subtests]) for c in j.cells], j.as_expected


def _read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [x.rstrip("\n").replace("\r", "") for x in f]
    except OSError:
        return None


def _cap(lines):
    """A log as the page shows it: the first lines, cut where it would swamp the page."""
    if lines is None:
        return None
    text = "\n".join(lines[:LOG_MAX_LINES])
    cut = len(lines) > LOG_MAX_LINES or len(text) > LOG_MAX_CHARS
    text = text[:LOG_MAX_CHARS]
    return text + ("\n[... cut: the whole log is in the logs directory]" if cut else "")


TOP_RESULT = re.compile(r"^(?:not )?ok \d+ (\S+)")


def test_blocks(tap_lines):
    """Each test's lines in a merged TAP log (the runner prints one test's subtests as one
    indented block before its own result line): name -> lines."""
    blocks, cur, buf, last = {}, None, [], None
    for ln in tap_lines or []:
        m = re.match(r"^ {4}# Subtest: (\S+)", ln)
        if m:
            cur, buf, last = m.group(1), [ln], None
            continue
        m = TOP_RESULT.match(ln)
        if m:
            name = m.group(1)
            blocks[name] = (buf if cur == name else []) + [ln]
            cur, buf, last = None, [], name
            continue
        if cur is not None:
            buf.append(ln)
        elif last is not None and ln.startswith("# kvmcheck-test:"):
            blocks[last].append(ln)
    return blocks


def _needles(cell):
    """Fragments of a cell's reasons that a console line holds: a splat's first line (a CRASH
    reason, a health failure's 'kernel report ...: BUG: ...') or a harness self-check's record."""
    out = []
    for text in [cell.reason] + [s.reason for s in cell.subtests]:
        for part in (text or "").split(" | "):
            m = SPLAT_RE.search(part) or re.search(r"kvmcheck-fault: ", part)
            if m:
                needle = part[m.start():].strip()[:60]
                if len(needle) >= 8 and needle not in out:
                    out.append(needle)
    return out


def _stamp(line):
    m = re.match(r"\[\s*(\d+\.\d+)\]", line)
    return float(m.group(1)) if m else None


REPORT_START = re.compile(r"(kvmcheck-fault: )?(" + SPLAT_RE.pattern + ")")


def kernel_excerpt(console, cell):
    """The console lines of a CRASH's or a health failure's kernel report, from just before
    its first line to its end (or 45 lines on); None when the cell has none."""
    if not console:
        return None
    plain = [STAMP_RE.sub("", x) for x in console]
    idx = None
    for needle in _needles(cell):
        idx = next((i for i, x in enumerate(plain) if needle in x), None)
        if idx is not None:
            break
    health = any("kernel report" in (t or "") or "taint" in (t or "")
                 for t in [cell.reason] + [s.reason for s in cell.subtests])
    if idx is None and (cell.verdict == "CRASH" or health):
        # A report starts its line: "Speculative Return Stack Overflow: WARNING: See ..." at
        # boot is no splat.
        idx = next((i for i, x in enumerate(plain) if REPORT_START.match(x.strip())), None)
    if idx is None:
        return None
    end = min(len(console), idx + KERNEL_LINES_AFTER)
    t0 = _stamp(console[idx])
    for i in range(idx + 1, end):
        if "---[ end" in plain[i] or "Kernel panic" in plain[i]:
            end = i + 1
            break
        # A report is printed at once: a line a second later is the next story.
        t = _stamp(console[i])
        if t0 is not None and t is not None and t - t0 > 1.0:
            end = i
            break
    return "\n".join(console[max(0, idx - KERNEL_LINES_BEFORE):end])


def _logs_dir(logs, base):
    if not logs:
        return None
    return logs if os.path.isabs(logs) else os.path.normpath(os.path.join(base, logs))


def load_matrix(path, expect_dir=None, with_logs=True):
    """A matrix.json or shard as the page's model; InputError names the file and the field."""
    expect_dir = expect_dir or os.path.join(util.TOP, "expect")
    cols = matrix.load_columns(path)                # validates the raw columns
    data = results.read_json(path)
    base = os.path.dirname(os.path.abspath(path))
    view = MatrixView(path=os.path.abspath(path), columns=[], rows=[], cells={},
                      complete=all(c.status == "ok" for c in cols),
                      summary=data.get("summary") if isinstance(data.get("summary"), dict) else {},
                      mtime=os.path.getmtime(path))
    patches, order = {}, []
    for i, (k, col) in enumerate(zip(data["kernels"], cols)):
        cells, ok = _cells_of(k, col, path, i, expect_dir)
        cv = ColumnView(col.line, col.status, col.label, col.kernel, col.version, col.target,
                        col.reason, dict(col.timings), col.logs, ok)
        view.columns.append(cv)
        logdir = _logs_dir(col.logs, base) if with_logs else None
        tap = _read_lines(os.path.join(logdir, "tap.log")) if logdir else None
        cv.console = _read_lines(os.path.join(logdir, "console.log")) if logdir else None
        blocks = test_blocks(tap)
        for c in cells:
            if c.test not in order:
                order.append(c.test)
            # The runner indents a test's own TAP by four: shown alone, it needs none.
            block = blocks.get(c.test)
            c.log = _cap([x[4:] if x.startswith("    ") else x for x in block] if block else None)
            if c.verdict == "CRASH" or c.bad():
                c.kernel_log = kernel_excerpt(cv.console, c)
            view.cells[(c.test, col.line)] = c
        if col.runner is not None:
            for t in col.runner.tests:
                if t.patch and t.name not in patches:
                    patches[t.name] = t.patch
    for t in sorted(order):
        view.rows.append(TestRow(t, "upstream" if t.startswith("upstream/") else "kvmcheck",
                                 patch=patches.get(t)))
    # A column with no results still has a cell in every row: its status and reason.
    for cv in view.columns:
        if cv.status == "ok":
            continue
        for r in view.rows or [TestRow("(all tests)", "kvmcheck")]:
            c = CellView(r.name, cv.line, cv.status, cv.as_expected, cv.reason)
            if cv.console:
                c.kernel_log = "\n".join(cv.console[-KERNEL_LINES_AFTER:])
            view.cells[(r.name, cv.line)] = c
        if not view.rows:
            view.rows.append(TestRow("(all tests)", "kvmcheck"))
    return view


def apply_meta(view, meta):
    """Groups and summaries from the tests' own metadata; a test it does not name is grouped
    by its directory (x86/..., upstream/x86/...)."""
    by_name = {m.get("name"): m for m in meta or [] if isinstance(m, dict)}
    for r in view.rows:
        m = by_name.get(r.name)
        if m and isinstance(m.get("groups"), list) and m["groups"]:
            r.groups = [str(g) for g in m["groups"]]
        else:
            parts = r.name.split("/")
            r.groups = [parts[1] if parts[0] == "upstream" and len(parts) > 2 else parts[0]]
        if m:
            r.summary = m.get("summary")
            if not r.patch and isinstance(m.get("patch"), dict):
                r.patch = m["patch"]


def read_meta(meta_file=None, build_dirs=()):
    """Test metadata, ([dict], None) or ([], why not)."""
    if meta_file:
        data = results.read_json(meta_file)
        if not isinstance(data, list):
            raise InputError(f"{meta_file}: not a kvmcheck-run -l --json list")
        return data, None
    why = "no build with kvmcheck-run"
    for b in build_dirs:
        runner = os.path.join(b, "kvmcheck-run")
        if not os.access(runner, os.X_OK):
            continue
        try:
            p, data = suite.list_json([runner, "--dir", b], timeout=120)
            if p.returncode == 0 and isinstance(data, list):
                return data, None
            why = f"{runner} -l --json: exit {p.returncode}"
        except (subprocess.TimeoutExpired, OSError) as e:
            why = f"{runner} -l --json: {e}"
    return [], why


def load_review(path):
    d = results.read_json(path)
    if not isinstance(d, dict) or d.get("schema") not in REVIEW_SCHEMAS:
        raise InputError(f"{path}: not a kvmcheck review file (schema {REVIEW_SCHEMAS[0]})")
    if not isinstance(d.get("patches"), list) or not isinstance(d.get("kernels", {}), dict):
        raise InputError(f"{path}: patches: not a list")
    for i, p in enumerate(d["patches"]):
        if not isinstance(p, dict) or not isinstance(p.get("subject"), str) or \
                not isinstance(p.get("rows", []), list):
            raise InputError(f"{path}: patches[{i}]: not a patch (subject, rows)")
    return d


def load_mutants(path):
    d = results.read_json(path)
    if not isinstance(d, dict) or d.get("schema") not in MUTANT_SCHEMAS:
        raise InputError(f"{path}: not a kvmcheck mutants file (schema {MUTANT_SCHEMAS[0]})")
    if not isinstance(d.get("mutants"), list):
        raise InputError(f"{path}: mutants: not a list")
    for i, m in enumerate(d["mutants"]):
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or \
                not isinstance(m.get("cells", {}), dict):
            raise InputError(f"{path}: mutants[{i}]: not a mutant (name, cells)")
    return d


# --- since last time -----------------------------------------------------------------------------

# How bad a change is, worst first: the kinds of kvmcheck.compare, the one rule wherever two
# runs meet; a cell takes its worst subtest's.
ORDER = {k: i for i, k in enumerate(("regression", "new failure", "disappeared", "changed",
                                     "now skips", "new", "now passes", "fixed"))}
WORSE = ("regression", "new failure", "disappeared")


def _side(view, line):
    """One kernel line of a matrix file, flattened the way kvmcheck.compare reads it."""
    return cmp.load_side(f"{view.path}#{line}")


def compare(base, cur):
    """Every cell whose verdict (or a subtest's) differs between the runs, worst first (see
    kvmcheck.compare); marks cur's cells. A kernel line only one run has is listed as such."""
    out = []
    old_lines = [c.line for c in base.columns]
    for col in cur.columns:
        if col.line not in old_lines:
            out.append(Change(col.line, "(kernel line)", "new", "-", col.status,
                              "not in the baseline"))
            continue
        by_test = {}
        for ch in cmp.diff(_side(base, col.line), _side(cur, col.line)):
            test, _, sub = ch.name.partition(":")
            by_test.setdefault(test, []).append((sub, ch))
        for test, chs in by_test.items():
            kind = min((ch.kind for _, ch in chs), key=ORDER.get)
            own = next((ch for sub, ch in chs if not sub), None)
            subs = [f"{sub} {ch.base or '-'}->{ch.candidate or '-'}" for sub, ch in chs if sub]
            o, c = base.cells.get((test, col.line)), cur.cells.get((test, col.line))
            before = o.short() if o else (own.base if own and own.base else "-")
            after = c.short() if c else (own.candidate if own and own.candidate else "-")
            detail = "; ".join(x for x in (("subtests: " + ", ".join(subs)) if subs else "",
                                           (own.reason or "") if own and kind in WORSE else "") if x)
            change = Change(col.line, test, kind, before, after, detail[:400])
            if c is not None:
                c.change = change
            out.append(change)
    for line in old_lines:
        if line not in [c.line for c in cur.columns]:
            out.append(Change(line, "(kernel line)", "disappeared", "tested", "-",
                              "line not in this run"))
    out.sort(key=lambda x: (ORDER[x.kind], x.line, x.test))
    return out


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def keep_history(matrix_path, hdir):
    """Keeps a copy of matrix_path in hdir (once per content; the newest HISTORY_KEEP) and
    returns the newest earlier entry with other content, or None. Under a lock: two reports
    at once neither lose an entry nor remove one the other is reading."""
    digest = _digest(matrix_path)
    os.makedirs(hdir, exist_ok=True)
    with util.file_lock(os.path.join(hdir, ".lock")):
        entries = sorted(f for f in os.listdir(hdir)
                         if re.fullmatch(r"matrix-\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}\.json", f))
        previous = next((f for f in reversed(entries) if not f.endswith(f"-{digest}.json")), None)
        if not any(f.endswith(f"-{digest}.json") for f in entries):
            now = time.time()       # one reading: the name sorts as the runs were kept
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1e6) % 1000000:06d}Z"
            with open(matrix_path, "rb") as f:
                util.atomic_write(os.path.join(hdir, f"matrix-{stamp}-{digest}.json"), f.read())
            entries.append(f"matrix-{stamp}-{digest}.json")
        for old in sorted(entries)[:-HISTORY_KEEP]:
            if old != previous:
                try:
                    os.unlink(os.path.join(hdir, old))
                except FileNotFoundError:
                    pass
        return os.path.join(hdir, previous) if previous else None


# --- HTML ----------------------------------------------------------------------------------------

def e(text):
    return html.escape("" if text is None else str(text), quote=True)


def kslug(kind):
    return re.sub(r"[^a-z]+", "-", kind.lower()).strip("-")


def breakable(name):
    """A test name that may wrap after '/' and '_' on a narrow screen, and nowhere else."""
    return e(name).replace("/", "/<wbr>").replace("_", "_<wbr>")


def vclass(verdict):
    return "v-" + re.sub(r"[^a-z]", "", str(verdict).lower())


def _json_script(obj, id_):
    """Data for the page's script: JSON that no '</script>' in a log can end early."""
    text = json.dumps(obj, separators=(",", ":")).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/json" id="{id_}">{text}</script>'


def bar_chart(title, rows, series, unit="s", colours=None, maxval=None):
    """A horizontal bar chart as inline SVG: rows [(label, [value per series])]."""
    colours = colours or ["#3b6ea8", "#d08a2e", "#6b8e23"]
    label_w, bar_h, gap, width = 120, 14, 8, 520
    group_h = bar_h * len(series) + gap
    height = 30 + group_h * len(rows) + 24
    top = max([v for _, vals in rows for v in vals if v is not None] + [maxval or 0, 1e-9])
    scale = (width - label_w - 70) / top
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{e(title)}</title>']
    x = label_w
    for i, s in enumerate(series):
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colours[i % len(colours)]}"/>'
                   f'<text x="{x + 14}" y="15" class="legend">{e(s)}</text>')
        x += 20 + 8 * len(s)
    y = 30
    for label, vals in rows:
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h * len(series) / 2 + 4:.0f}" '
                   f'text-anchor="end" class="label">{e(label)}</text>')
        for i, v in enumerate(vals):
            yy = y + i * bar_h
            if v is None:
                out.append(f'<text x="{label_w + 4}" y="{yy + bar_h - 3}" class="value">no value</text>')
                continue
            w = max(1.0, v * scale)
            text = f"{v:g}{unit}" if unit != "%" else f"{v:.0f}%"
            out.append(f'<rect x="{label_w}" y="{yy}" width="{w:.1f}" height="{bar_h - 2}" '
                       f'fill="{colours[i % len(colours)]}"><title>{e(label)} {e(series[i])}: '
                       f'{e(text)}</title></rect>'
                       f'<text x="{label_w + w + 4:.1f}" y="{yy + bar_h - 3}" class="value">{e(text)}</text>')
        y += group_h
    out.append(f'<line x1="{label_w}" y1="26" x2="{label_w}" y2="{y - gap + 2}" stroke="#888"/>')
    out.append("</svg>")
    return "".join(out)


CSS = """
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--head:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);
background:var(--bg);margin:0;padding:0 16px 40px}
header{padding:12px 0;border-bottom:1px solid var(--line);margin-bottom:12px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}h3{font-size:15px;margin:16px 0 6px}
.muted{color:var(--muted)}.small{font-size:12px}
a{color:#0b5cad}
nav a{margin-right:12px}
.verdict-line{font-weight:600}
.wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
thead th{background:var(--head);position:sticky;top:0;z-index:1;white-space:nowrap}
th.rowhead{position:sticky;left:0;background:var(--bg);z-index:2;min-width:180px;max-width:340px;font-weight:400}
thead th.rowhead{z-index:3;background:var(--head)}
.tname{font-weight:600;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px;overflow-wrap:break-word}
.patch{font-size:12px;color:var(--muted);display:block;overflow-wrap:anywhere}
.tag{display:inline-block;font-size:11px;border:1px solid var(--line);border-radius:8px;padding:0 5px;margin:1px 2px 0 0;color:var(--muted)}
td.cell{padding:2px;min-width:92px}
.cellbtn{all:unset;box-sizing:border-box;display:block;width:100%;min-height:34px;padding:3px 6px;border-radius:4px;cursor:pointer;
font:600 12px/1.3 ui-monospace,"DejaVu Sans Mono",monospace;border:2px solid transparent}
.cellbtn:focus-visible{outline:3px solid #0b5cad;outline-offset:1px}
.mark{font-weight:400;font-size:11px;display:block;white-space:nowrap}
td.logs{overflow-wrap:anywhere;min-width:120px}td.nowrap,th.nowrap{white-space:nowrap}
.unexp{border-color:#b3261e;border-style:dashed}
.chg{box-shadow:inset 0 0 0 2px #8250df}
.v-pass{background:#dafbe1;color:#0f5323}.v-fail{background:#ffd8d3;color:#82071e}
.v-skip{background:#eef0f2;color:#424a53}.v-timeout{background:#ffe7c2;color:#7a4100}
.v-crash{background:#5c0011;color:#fff}.v-booterror{background:#3a3f44;color:#fff}
.v-notrun{background:#f6f8fa;color:#57606a}.v-none{background:#fff;color:#8c959f}
.v-killed{background:#dafbe1;color:#0f5323}.v-survived{background:#ffd8d3;color:#82071e}
.v-skipped{background:#eef0f2;color:#424a53}.v-basefail{background:#fff3b0;color:#5a4a00}
.v-equivalent,.v-needs{background:#f6f8fa;color:#57606a}.v-notbuilt{background:#3a3f44;color:#fff}
.v-proven{background:#dafbe1;color:#0f5323}.v-regressed{background:#ffd8d3;color:#82071e}
.badge{display:inline-block;padding:1px 6px;border-radius:4px;font:600 12px ui-monospace,monospace}
#filters{display:flex;flex-wrap:wrap;gap:8px 16px;margin:8px 0;align-items:center}
#filters label{font-size:13px}
select{font:inherit;padding:2px}
ol.changes,ul.plain{padding-left:20px;margin:6px 0}
ol.changes li{margin:3px 0}
.k-regression,.k-new-failure{color:#82071e;font-weight:600}.k-disappeared{color:#7a4100;font-weight:600}
.k-fixed,.k-now-passes{color:#0f5323}.k-changed,.k-new,.k-now-skips{color:#424a53}
.chart{width:100%;max-width:680px;height:auto;display:block}
.chart text{font:12px system-ui,sans-serif;fill:#1b1f24}.chart .legend{font-size:11px}
dialog{width:min(960px,96vw);max-height:92vh;border:1px solid var(--line);border-radius:8px;padding:0}
dialog::backdrop{background:rgba(0,0,0,.35)}
.dhead{display:flex;justify-content:space-between;align-items:center;gap:8px;padding:10px 14px;border-bottom:1px solid var(--line);background:var(--head);position:sticky;top:0}
.dbody{padding:10px 14px}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px;overflow:auto;max-height:46vh;font-size:12px;white-space:pre}
button.close{font:inherit;padding:4px 10px}
.legendrow span{margin-right:10px}
tr.why td{border-top:0;padding-top:0}tr:has(+tr.why) td{border-bottom:0}
.review-patch{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:10px 0}
@media (max-width:640px){body{padding:0 8px 30px;font-size:13px}th.rowhead{min-width:0;width:38%;max-width:150px}
.patch{display:none}td.cell{min-width:72px}.cellbtn{font-size:11px;padding:3px 4px}h1{font-size:17px}
.tname{font-size:12px}#filters select{max-width:60vw}td.logs{display:none}
th.rowhead .tag,.word{display:none}.mark{display:inline;margin-left:3px}}
"""

JS = r"""
(function(){
 'use strict';
 var data=JSON.parse(document.getElementById('cell-data').textContent||'{}');
 var dlg=document.getElementById('detail');
 function el(tag,cls,text){var x=document.createElement(tag);if(cls)x.className=cls;if(text!=null)x.textContent=text;return x;}
 function open(id){
  var c=data[id];if(!c||!dlg)return;
  document.getElementById('detail-title').textContent=c.test+' on '+c.line;
  var b=document.getElementById('detail-body');b.textContent='';
  var p=el('p','verdict-line');p.appendChild(el('span','badge '+c.vclass,c.verdict));
  p.appendChild(document.createTextNode(' '+c.words));b.appendChild(p);
  if(c.change){b.appendChild(el('p','k-'+c.change.slug,'Since the baseline: '+c.change.kind+': '+c.change.before+' \u2192 '+c.change.after));}
  c.reasons.forEach(function(r){b.appendChild(el('p',null,r));});
  if(c.subtests.length){
   var t=el('table');var h=el('tr');['subtest','verdict','expected'].forEach(function(x){h.appendChild(el('th',null,x));});t.appendChild(h);
   c.subtests.forEach(function(s){var r=el('tr');r.appendChild(el('td','tname nowrap',s.name));
    var v=el('td');v.appendChild(el('span','badge '+s.vclass,s.verdict+(s.as_expected?'':' !')));r.appendChild(v);
    r.appendChild(el('td',null,s.expected));t.appendChild(r);
    if(s.reason){var w=el('tr','why');var d=el('td','small muted',s.reason);d.colSpan=3;w.appendChild(d);t.appendChild(w);}});
   b.appendChild(el('h3',null,'Subtests'));var w=el('div','wrap');w.appendChild(t);b.appendChild(w);}
  if(c.kernel_log){b.appendChild(el('h3',null,'Kernel log'));b.appendChild(el('pre','kernel-log',c.kernel_log));}
  b.appendChild(el('h3',null,'Test log'));
  b.appendChild(el('pre','test-log',c.log||'(no log kept for this cell)'));
  if(c.logs){b.appendChild(el('p','muted small','All logs of this kernel line: '+c.logs));}
  if(dlg.showModal){dlg.showModal();}else{dlg.setAttribute('open','');}
 }
 document.addEventListener('click',function(ev){
  var t=ev.target.closest?ev.target.closest('[data-cell]'):null;if(t){open(t.getAttribute('data-cell'));}
 });
 var close=document.getElementById('detail-close');
 if(close)close.addEventListener('click',function(){dlg.close?dlg.close():dlg.removeAttribute('open');});
 var f=document.getElementById('filters');
 function apply(){
  var g=f.group.value,v=f.verdict.value,s=f.suite.value,shown=0;
  document.querySelectorAll('#grid tbody tr').forEach(function(r){
   var ok=(g===''||(' '+r.dataset.groups+' ').indexOf(' '+g+' ')>=0)&&(s===''||r.dataset.suite===s)&&
    (v===''||(v==='unexpected'?r.dataset.unexpected==='1':v==='changed'?r.dataset.changed==='1':(' '+r.dataset.verdicts+' ').indexOf(' '+v+' ')>=0));
   r.hidden=!ok;if(ok)shown++;});
  var n=document.getElementById('shown');if(n)n.textContent=shown+' of '+document.querySelectorAll('#grid tbody tr').length+' tests shown';
 }
 if(f){f.addEventListener('change',apply);apply();}
})();
"""


def cell_words(c):
    if c.verdict in ("BOOT-ERROR", "NOT-RUN"):
        what = "no test ran on this kernel line"
    elif c.subtests:
        nskip = sum(1 for s in c.subtests if s.verdict == "SKIP")
        nbad = sum(1 for s in c.subtests if s.verdict in BAD)
        what = f"{c.passed} of {len(c.subtests)} subtests passed" + \
            (f", {nskip} skipped" if nskip else "") + (f", {nbad} failed" if nbad else "")
    else:
        what = ""
    exp = "as expect/ says" if c.as_expected else f"NOT as expect/ says (expected {c.expected})"
    return "; ".join(x for x in (what, exp) if x)


def cell_reasons(c):
    out = []
    if c.reason:
        out.append(c.reason)
    if c.expected_reason:
        out.append(f"expected: {c.expected_reason}")
    return out


def cell_json(c, col):
    return {"test": c.test, "line": col.line, "verdict": c.verdict, "vclass": vclass(c.verdict),
            "words": cell_words(c), "reasons": cell_reasons(c),
            "subtests": [{"name": s.name, "verdict": s.verdict, "vclass": vclass(s.verdict),
                          "expected": s.expected, "as_expected": s.as_expected,
                          "reason": " ".join(x for x in (s.reason, f"(expected: {s.expected_reason})"
                                                         if s.expected_reason else None) if x)}
                         for s in c.subtests],
            "log": c.log, "kernel_log": c.kernel_log, "logs": col.logs,
            "change": dict(asdict(c.change), slug=kslug(c.change.kind)) if c.change else None}


def render_grid(m, data):
    groups = sorted({g for r in m.rows for g in r.groups})
    suites = sorted({r.suite for r in m.rows})
    verdicts = [v for v in results.COLUMN_VERDICTS if any(c.verdict == v for c in m.cells.values())]
    out = ['<form id="filters" onsubmit="return false"><label>Group <select name="group">'
           '<option value="">all</option>']
    out += [f'<option value="{e(g)}">{e(g)}</option>' for g in groups]
    out.append('</select></label><label>Verdict <select name="verdict"><option value="">any</option>'
               '<option value="unexpected">not as expected (!)</option>'
               '<option value="changed">changed since baseline</option>')
    out += [f'<option value="{e(v)}">{e(v)}</option>' for v in verdicts]
    out.append('</select></label><label>Suite <select name="suite"><option value="">all</option>')
    out += [f'<option value="{e(s)}">{e(s)}</option>' for s in ("kvmcheck", "upstream") if s in suites
            or s == "kvmcheck"]
    out.append('</select></label><span id="shown" class="muted small" aria-live="polite"></span></form>')
    out.append('<div class="wrap"><table id="grid"><thead><tr><th class="rowhead" scope="col">test</th>')
    for col in m.columns:
        k = col.version or col.kernel or ""
        out.append(f'<th scope="col" data-line="{e(col.line)}">{e(col.line)}'
                   f'<br><span class="muted small">{e(k)}</span></th>')
    out.append("</tr></thead><tbody>")
    for ri, r in enumerate(m.rows):
        cells = [m.cells.get((r.name, col.line)) for col in m.columns]
        vs = sorted({c.verdict for c in cells if c})
        unexp = any(c and not c.as_expected for c in cells)
        changed = any(c and c.change for c in cells)
        out.append(f'<tr data-test="{e(r.name)}" data-groups="{e(" ".join(r.groups))}" '
                   f'data-suite="{e(r.suite)}" data-verdicts="{e(" ".join(vs))}" '
                   f'data-unexpected="{int(unexp)}" data-changed="{int(changed)}">')
        head = [f'<span class="tname">{breakable(r.name)}</span>']
        if r.summary:
            head[0] = f'<span class="tname" title="{e(r.summary)}">{breakable(r.name)}</span>'
        if r.patch and r.patch.get("subject"):
            subj = e(r.patch["subject"])
            link = r.patch.get("link")
            head.append(f'<a class="patch" href="{e(link)}" rel="noreferrer">{subj}</a>' if link and
                        re.match(r"https?://", link) else f'<span class="patch">{subj}</span>')
        head.append("".join(f'<span class="tag">{e(g)}</span>' for g in r.groups))
        out.append(f'<th class="rowhead" scope="row">{"".join(head)}</th>')
        for ci, (col, c) in enumerate(zip(m.columns, cells)):
            if c is None:
                out.append(f'<td class="cell"><span class="cellbtn v-none" '
                           f'title="{e(r.name)} did not run on {e(col.line)}">-</span></td>')
                continue
            cid = f"c{ri}-{ci}"
            data[cid] = cell_json(c, col)
            extra = (" unexp" if not c.as_expected else "") + (" chg" if c.change else "")
            label = f"{r.name} on {col.line}: {c.verdict}, {cell_words(c)}" + \
                (f"; changed since the baseline: was {c.change.before}" if c.change else "")
            # The symbols stay on a phone, the words go: the legend says what they mean.
            sub = ('=<span class="word"> expected</span>' if c.as_expected else
                   '!<span class="word"> UNEXPECTED</span>')
            if c.change:
                sub += f' \u0394<span class="word"> was {e(c.change.before)}</span>'
            out.append(f'<td class="cell" data-line="{e(col.line)}"><button type="button" '
                       f'class="cellbtn {vclass(c.verdict)}{extra}" data-cell="{cid}" '
                       f'aria-label="{e(label)}">{e(c.short())}'
                       f'<span class="mark">{sub}</span></button></td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    out.append('<p class="legendrow small muted"><span>= as expect/ says</span><span>! not as '
               'expect/ says (dashed border)</span><span>n/m: subtests passing of all</span>'
               '<span>\u0394: changed since the baseline (purple ring)</span><span>click a cell '
               'for its subtests and logs</span></p>')
    return "".join(out)


def render_columns(m):
    out = ['<div class="wrap"><table><thead><tr><th>line</th><th>kernel</th><th>status</th>'
           '<th>boot</th><th>column</th><th class="logs">logs</th></tr></thead><tbody>']
    for c in m.columns:
        t = c.timings
        st = c.status + ("" if c.status == "ok" else f": {c.reason}")
        out.append(f'<tr><td class="tname nowrap">{e(c.line)}</td><td>{e(c.version or "-")} '
                   f'<span class="muted small">{e(c.kernel or "")}</span></td>'
                   f'<td><span class="badge {vclass(c.status if c.status != "ok" else "pass")}">'
                   f'{e(st)}</span></td><td class="nowrap">{e(t.get("boot_s", "-"))} s</td>'
                   f'<td class="nowrap">{e(t.get("column_s", "-"))} s</td>'
                   f'<td class="small logs">{e(c.logs or "-")}</td></tr>')
    out.append("</tbody></table></div>")
    rows = [(c.line, [c.timings.get("boot_s"), c.timings.get("column_s")]) for c in m.columns
            if c.timings]
    if rows:
        out.append("<h3>Boot and column time per kernel line</h3>")
        out.append(bar_chart("boot time and column time per kernel line (seconds)", rows,
                             ["boot (to the first test)", "column (boot and every test)"]))
    return "".join(out)


def render_changes(p):
    out = ['<section id="changes-section"><h2 id="since">Since last time</h2>']
    if p.baseline is None:
        out.append(f'<p class="muted">{e(p.baseline_note or "no baseline")}</p></section>')
        return "".join(out)
    out.append(f'<p class="muted small">baseline: {e(p.baseline.path)} '
               f'({e(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(p.baseline.mtime)))})</p>')
    if not p.changes:
        out.append("<p>No cell changed.</p></section>")
        return "".join(out)
    counts = {}
    for c in p.changes:
        counts[c.kind] = counts.get(c.kind, 0) + 1
    out.append("<p>" + " \u00b7 ".join(f'<span class="k-{kslug(k)}">{e(k)}: {n}</span>' for k, n in
                                 sorted(counts.items(), key=lambda x: ORDER[x[0]])) + "</p>")
    out.append('<ol class="changes" id="changes">')
    for c in p.changes:
        out.append(f'<li class="k-{kslug(c.kind)}" data-kind="{e(c.kind)}" data-line="{e(c.line)}" '
                   f'data-test="{e(c.test)}"><strong>{e(c.kind)}</strong>: {e(c.test)} on '
                   f'{e(c.line)}: {e(c.before)} \u2192 {e(c.after)}'
                   + (f' <span class="muted">({e(c.detail)})</span>' if c.detail else "") + "</li>")
    out.append("</ol></section>")
    return "".join(out)


def _words(status):
    s = status or ""
    for k, v in REVIEW_WORDS.items():
        if s == k or s.startswith(k + ":"):
            return v + (s[len(k):] if s.startswith(k + ":") else "")
    return s


def _with_counts(verdict, subs):
    """'PASS 2/8' for a review side whose subtests did not all pass, as the grid says it."""
    if not isinstance(subs, dict) or not subs or verdict in ("-", None):
        return verdict
    n = sum(1 for v in subs.values() if v == "PASS")
    return verdict if n == len(subs) else f"{verdict} {n}/{len(subs)}"


def render_review(rev, path):
    out = ['<section id="review"><h2>Review</h2>',
           f'<p class="muted small">{e(path)}: {e(rev.get("input"))} on base {e(rev.get("base"))}'
           f'{" + base series " + e((rev.get("base_series") or {}).get("path")) if rev.get("base_series") else ""}'
           f'{", " + e(rev.get("wall_s")) + " s" if rev.get("wall_s") is not None else ""}</p>',
           f'<p class="verdict-line">review: {e(rev.get("verdict", "-"))} (exit {e(rev.get("exit", "-"))})</p>']
    kern = rev.get("kernels") or {}
    for p in rev["patches"]:
        arch = p.get("arch") or "-"
        kb = kern.get(arch) or {}
        status = p.get("status") or "-"
        short = status.split(":")[0]
        out.append(f'<div class="review-patch" data-patch="{e(p.get("index"))}">'
                   f'<h3>[{e(p.get("index"))}] {e(p["subject"])}</h3>')
        facts = []
        if p.get("author"):
            facts.append(f"author: {e(p['author'])}")
        if p.get("link") and re.match(r"https?://", str(p["link"])):
            facts.append(f'<a href="{e(p["link"])}" rel="noreferrer">{e(p["link"])}</a>')
        for fx in p.get("fixes") or []:
            facts.append(f"Fixes: {e(fx)}")
        apply = p.get("apply") or {}
        built = p.get("kind") == "kernel" and p.get("has_diff")
        if built:
            facts.append(f"arch {e(arch)}; applies: " + e("yes" if apply.get("ok") else
                                                         "no: " + str(apply.get("reason")) if apply else "-"))
        for side in ("before", "after"):
            k = kb.get(side) or {}
            if k and built and apply.get("ok"):
                facts.append(f"{side}: build {e(k.get('build') or '-')}, boot {e(k.get('status') or '-')}"
                             + (f" ({e(k.get('reason'))})" if k.get("reason") else ""))
        out.append('<p class="small muted">' + " \u00b7 ".join(facts) + "</p>")
        out.append(f'<p class="verdict-line"><span class="badge {vclass(short)}">{e(short)}</span> '
                   f'{e(_words(status))}</p>')
        rows = p.get("rows") or []
        if rows:
            out.append('<div class="wrap"><table><thead><tr><th>test</th><th>chosen by</th>'
                       '<th>before</th><th>after</th><th>what changed</th></tr></thead><tbody>')
            for r in rows:
                b, a = r.get("before") or "-", r.get("after") or "-"
                bt, at = _with_counts(b, r.get("before_subtests")), _with_counts(a, r.get("after_subtests"))
                out.append(f'<tr><td class="tname nowrap">{e(r.get("test"))}</td><td>{e(r.get("how"))}</td>'
                           f'<td><span class="badge {vclass(b)}" title="{e(r.get("before_reason") or "")}">{e(bt)}</span></td>'
                           f'<td><span class="badge {vclass(a)}" title="{e(r.get("after_reason") or "")}">{e(at)}</span></td>'
                           f'<td>{e(r.get("change"))}' + (f'<br><span class="small muted">{e(r.get("note"))}</span>'
                                                          if r.get("note") and not str(r["note"]).startswith(
                                                              "subtests changed") else "") + "</td></tr>")
                bs, as_ = r.get("before_subtests") or {}, r.get("after_subtests") or {}
                if isinstance(bs, dict) and isinstance(as_, dict) and (bs or as_):
                    names = list(dict.fromkeys(list(bs) + list(as_)))
                    out.append('<tr><td></td><td colspan="4"><details><summary class="small">subtests '
                               'before / after</summary><ul class="plain small">')
                    for n in names:
                        bv, av = bs.get(n, "-"), as_.get(n, "-")
                        out.append(f'<li><span class="tname">{e(n)}</span>: '
                                   f'<span class="badge {vclass(bv)}">{e(bv)}</span> \u2192 '
                                   f'<span class="badge {vclass(av)}">{e(av)}</span>'
                                   + (" <strong>changed</strong>" if bv != av else "") + "</li>")
                    out.append("</ul></details></td></tr>")
            out.append("</tbody></table></div>")
        elif p.get("why"):
            out.append(f'<p class="muted">{e(p["why"])}</p>')
        out.append("</div>")
    out.append("</section>")
    return "".join(out)


def render_mutants(mu, path):
    ms = mu["mutants"]
    tests = []
    for m in ms:
        tests += [t for t in (m.get("tests") or list((m.get("cells") or {}).keys())) if t not in tests]
    out = ['<section id="mutants"><h2>Mutants</h2>',
           f'<p class="muted small">{e(path)}: base {e(mu.get("base"))} '
           f'({e(mu.get("base_kernel") or "-")}), base run {e(mu.get("base_status") or "-")}'
           + (f": {e(mu.get('base_reason'))}" if mu.get("base_reason") else "") + "</p>",
           f'<p class="verdict-line">mutants: {e(mu.get("verdict", "-"))} (exit {e(mu.get("exit", "-"))})</p>']
    by_beh = ((mu.get("scores") or {}).get("behaviour")) or {}
    if not by_beh:
        for m in ms:
            b = by_beh.setdefault(m.get("behaviour") or "-", {"killed": 0, "counted": 0})
            if m.get("status") in ("KILLED", "SURVIVED"):
                b["counted"] += 1
                b["killed"] += m.get("status") == "KILLED"
    rows = [(b, [100.0 * s.get("killed", 0) / s["counted"] if s.get("counted") else None])
            for b, s in sorted(by_beh.items()) if isinstance(s, dict)]
    if rows:
        out.append("<h3>Mutation score per behaviour</h3>")
        out.append(bar_chart("mutation score per behaviour (killed of counted mutants)", rows,
                             ["killed / counted"], unit="%", colours=["#2f7d3b"], maxval=100))
        out.append('<p class="small muted">' + "; ".join(
            f"{e(b)}: {s.get('killed', 0)}/{s.get('counted', 0)}" for b, s in sorted(by_beh.items())
            if isinstance(s, dict)) + "</p>")
    out.append('<div class="wrap"><table id="mutant-grid"><thead><tr><th class="rowhead">mutant</th>'
               '<th>status</th>' + "".join(f"<th>{e(t)}</th>" for t in tests) + "</tr></thead><tbody>")
    for m in ms:
        st = m.get("status") or "-"
        tip = " ".join(x for x in (m.get("rule"), m.get("reason")) if x)
        out.append(f'<tr><th class="rowhead" scope="row"><span class="tname" title="{e(tip)}">'
                   f'{e(m["name"])}</span><span class="patch">{e(m.get("behaviour"))}: {e(m.get("rule"))}'
                   f'</span></th><td><span class="badge {vclass(st)}">{e(st)}'
                   f'{"*" if st == "KILLED" and m.get("claimed_caught") is False else ""}</span></td>')
        cells = m.get("cells") or {}
        claimed = {str(x).partition(":")[0] for x in m.get("caught_by") or []}
        for t in tests:
            c = cells.get(t)
            # Only a test the mutant's header names should have caught it: another test that
            # did not is no failure of that test.
            cls = vclass(c or "none") if c != "SURVIVED" or t in claimed else "v-skipped"
            tip = "named by the mutant's Caught-by" if t in claimed else "not named by Caught-by"
            arrow = " \u2190" if t in claimed and c else ""
            out.append(f'<td><span class="badge {cls}" title="{e(tip)}">{e(c or "")}{arrow}'
                       '</span></td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    out.append('<p class="legendrow small muted"><span>\u2190 a test the mutant\'s Caught-by '
               'names</span><span>SURVIVED in grey: a test it does not name, which need not catch '
               'it</span><span>KILLED*: killed, not by the subtests it names</span></p>')
    kills = [m for m in ms if m.get("killed_by") or m.get("reason") or m.get("status") == "SURVIVED"]
    if kills:
        out.append('<ul class="plain small">')
        for m in kills:
            if m.get("killed_by"):
                what = "killed by " + "; ".join(m["killed_by"][:4])
            elif m.get("status") == "SURVIVED" and not m.get("reason"):
                what = (f"SURVIVED: {m.get('rule')}; must be caught by "
                        + (" ".join(m.get("caught_by") or []) or f"(no test: {m.get('gap')})"))
            else:
                what = f"{m.get('status')}: {m.get('reason')}"
            out.append(f'<li><span class="tname">{e(m["name"])}</span> {e(what)}</li>')
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def render(p):
    data = {}
    body = []
    nav = []
    m = p.matrix
    if m:
        nav.append('<a href="#matrix">Matrix</a>')
        nav.append('<a href="#since">Since last time</a>')
    if p.review:
        nav.append('<a href="#review">Review</a>')
    if p.mutants:
        nav.append('<a href="#mutants">Mutants</a>')
    if m:
        s = m.summary or {}
        unexpected = s.get("unexpected") or []
        # Said from the cells themselves, never from a summary a file may lack (a shard).
        odd = [c for c in m.cells.values() if not c.as_expected]
        odd_lines = sorted({c.line for c in odd})
        verdict = ("every verdict as expect/ says" if not odd else
                   f"{len(odd)} cell(s) not as expect/ says, on {', '.join(odd_lines)}") + \
            ("" if m.complete else "; INCOMPLETE: a kernel line was not tested")
        if not any(c.verdict not in ("BOOT-ERROR", "NOT-RUN") for c in m.cells.values()):
            verdict += "; nothing was tested"
        body.append(render_changes(p))
        body.append('<section id="matrix"><h2>Matrix</h2>'
                    f'<p class="muted small">{e(m.path)} '
                    f'({e(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(m.mtime)))})</p>'
                    f'<p class="verdict-line" id="matrix-verdict">{e(verdict)}'
                    + (f'; {e(s["passed"])} passed, {e(s.get("failed"))} failed, '
                       f'{e(s.get("skipped"))} skipped (subtests)' if "passed" in s else "")
                    + '</p>')
        body.append(render_grid(m, data))
        if unexpected:
            body.append("<h3>Not as expect/ says</h3><ul class='plain small'>" +
                        "".join(f"<li>{e(u)}</li>" for u in unexpected) + "</ul>")
        body.append("<h3>Kernel lines</h3>" + render_columns(m) + "</section>")
    if p.review:
        body.append(render_review(p.review, p.review_path))
    if p.mutants:
        body.append(render_mutants(p.mutants, p.mutants_path))
    notes = "".join(f'<p class="muted small">{e(n)}</p>' for n in p.notes)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing may leave the file: no fetch, no font, no image but data: ones.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        '<link rel="icon" href="data:,"><title>kvmcheck report</title>'
        f"<style>{CSS}</style></head><body><header><h1>kvmcheck report</h1>"
        f'<p class="muted small">generated {e(p.generated)}</p><nav>{"".join(nav)}</nav>{notes}</header>'
        + "".join(body) +
        '<dialog id="detail" aria-labelledby="detail-title"><div class="dhead"><strong id="detail-title">'
        '</strong><button type="button" class="close" id="detail-close">Close</button></div>'
        '<div class="dbody" id="detail-body"></div></dialog>'
        + _json_script(data, "cell-data") + f"<script>{JS}</script></body></html>\n")


# --- making the page -----------------------------------------------------------------------------

def build_page(*, matrix_path=None, review_path=None, mutants_path=None, baseline=None,
               history=True, meta_file=None, build_dirs=(), expect_dir=None):
    """The Page from the inputs that are given (None: absent); InputError for a bad one."""
    p = Page(generated=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    if matrix_path:
        p.matrix = load_matrix(matrix_path, expect_dir)
        meta, why = read_meta(meta_file, build_dirs)
        if why:
            p.notes.append(f"groups from test names: no test metadata ({why})")
        apply_meta(p.matrix, meta)
        prev = None
        if history:
            prev = keep_history(matrix_path, os.path.join(os.path.dirname(os.path.abspath(
                matrix_path)), "history"))
        if baseline:
            p.baseline = load_matrix(baseline, expect_dir, with_logs=False)
        elif prev:
            try:
                p.baseline = load_matrix(prev, expect_dir, with_logs=False)
            except InputError as ex:
                # A history entry is ours, not the user's: a bad one is named, not fatal.
                p.baseline_note = f"no baseline: the kept run is unusable ({ex})"
        else:
            p.baseline_note = ("no baseline: the first run kept in history/ (give --baseline "
                               "FILE to compare with another)" if history else
                               "no baseline: --no-history and no --baseline")
        if p.baseline:
            p.changes = compare(p.baseline, p.matrix)
    if review_path:
        p.review, p.review_path = load_review(review_path), os.path.abspath(review_path)
    if mutants_path:
        p.mutants, p.mutants_path = load_mutants(mutants_path), os.path.abspath(mutants_path)
    return p


def write(out, **kw):
    """Builds the page and writes it atomically to out; returns the Page."""
    p = build_page(**kw)
    util.atomic_write(out, render(p))
    return p


def _default_builds():
    b = os.path.join(util.TOP, "build", os.uname().machine)
    return [b] if os.path.isdir(b) else []


def after_run(results_dir, build_dirs=None):
    """The page for what a driver just wrote into results_dir (and whatever else is there), as
    the line the driver prints: 'report: PATH', or why there is none. Never raises: the
    driver's verdict stands whatever happens to its page."""
    found = {k: os.path.join(results_dir, f) for k, f in (
        ("matrix_path", "matrix.json"), ("review_path", "review.json"),
        ("mutants_path", os.path.join("mutants", "mutants.json"))) if os.path.isfile(
            os.path.join(results_dir, f))}
    out = os.path.abspath(os.path.join(results_dir, "report.html"))
    try:
        write(out, build_dirs=build_dirs if build_dirs is not None else _default_builds(), **found)
    except (InputError, OSError) as ex:
        return f"report: not written: {ex}"
    except Exception as ex:         # a bug in the page must not hide the run's verdict
        return f"report: not written: {type(ex).__name__}: {ex}"
    return f"report: {out}"


def main(argv=None):
    ap = util.ArgParser(prog="report", add_help=True, doc=__doc__)
    for opt in ("--matrix", "--review", "--mutants", "--baseline", "--meta", "--expect", "--out"):
        ap.add_argument(opt)
    ap.add_argument("--build-dir", action="append", default=[])
    ap.add_argument("--no-history", action="store_true")
    ap.add_argument("results_dir", nargs="?")
    a = ap.parse_args(sys.argv[1:] if argv is None else argv)
    rdir = a.results_dir or "results"
    given = {"matrix_path": a.matrix, "review_path": a.review, "mutants_path": a.mutants}
    try:
        if a.results_dir is not None and not os.path.isdir(rdir):
            raise InputError(f"{rdir}: no such directory")
        for k, v in given.items():
            if v is not None and not os.path.isfile(v):
                raise InputError(f"--{k.split('_')[0]} {v}: no such file")
        if a.baseline is not None and not os.path.isfile(a.baseline):
            raise InputError(f"--baseline {a.baseline}: no such file")
        if not any(given.values()):
            for k, f in (("matrix_path", "matrix.json"), ("review_path", "review.json"),
                         ("mutants_path", os.path.join("mutants", "mutants.json"))):
                if os.path.isfile(os.path.join(rdir, f)):
                    given[k] = os.path.join(rdir, f)
            if not any(given.values()):
                raise InputError(f"{rdir}: no results to report (matrix.json, review.json, "
                                 "mutants/mutants.json): run make matrix, make review or make mutants")
        elif a.results_dir is None:
            rdir = os.path.dirname(next(v for v in given.values() if v)) or "."
        if a.baseline and not given["matrix_path"]:
            raise InputError("--baseline compares matrices: give a matrix too")
        out = a.out or os.path.join(rdir, "report.html")
        builds = a.build_dir or _default_builds()
        p = write(out, baseline=a.baseline, history=not a.no_history, meta_file=a.meta,
                  build_dirs=builds, expect_dir=a.expect, **given)
    except InputError as ex:
        util.die(util.EXIT_USAGE, str(ex))
    except OSError as ex:
        util.die(util.EXIT_USAGE, f"{ex.filename or ''}: {ex.strerror or ex}")
    if p.changes:
        reg = sum(1 for c in p.changes if c.kind in WORSE)
        util.msg(f"report: {len(p.changes)} cells changed since the baseline, {reg} for the worse")
    print(os.path.abspath(out), flush=True)
    return util.EXIT_OK


if __name__ == "__main__":
    sys.argv[0] = "report"
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        util.msg("report: interrupted")
        sys.exit(util.EXIT_INTERRUPTED)
