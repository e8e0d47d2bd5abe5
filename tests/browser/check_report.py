#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The HTML report in a real headless browser (Debian's chromium).

    tests/browser/check_report.py [--out DIR] [--samples DIR] [--timeout S]

Renders the page from the committed sample results (tests/report/: a three-line matrix, the
baseline it is compared with, a review, a mutant run), opens it in chromium at 1280 px and at
phone width, and checks what a reader relies on: no console error and no request leaving the
file, every grid cell there with its verdict, a click on a cell opens its log, the planted
regression listed first under "Since last time", no page-wide horizontal scroll on a phone.
Screenshots and the page are kept in --out (default results/check/) as artifacts.
Ends with 'N passed, N failed, N skipped'; exit 0 when nothing failed, 1 when a check failed
or the browser did not answer, 2 bad usage. Without chromium every check is skipped, saying why.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]
sys.path.insert(0, str(TOP / "scripts"))
sys.path.insert(0, str(HERE))
import cdp  # noqa: E402
from kvmcheck import report  # noqa: E402

# The regression planted in the samples: x86/directed_eoi ran with --model-vmm-no-opt-in on sid
# (tests/report/README).
PLANTED = ("sid", "x86/directed_eoi")
CHECKS = ["loads without console errors", "nothing requested but the file", "grid cells",
          "cell click opens its log", "planted regression listed first", "filters",
          "screenshot 1280", "phone width fits", "screenshot phone"]


class Checker:
    def __init__(self, out):
        self.out, self.passed, self.failed = out, 0, 0

    def ok(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"ok - {name}")
        else:
            self.failed += 1
            print(f"not ok - {name}" + (f": {detail}" if detail else ""))
        return cond


def expected_grid(samples):
    """(tests, lines) from the sample matrix itself: the cells the page must show."""
    d = json.loads((samples / "matrix.json").read_text())
    lines = [k["line"] for k in d["kernels"]]
    tests = sorted({c["test"] for k in d["kernels"] for c in k.get("cells") or []})
    cells = {(c["test"], k["line"]): c["verdict"] for k in d["kernels"] for c in k.get("cells") or []}
    return tests, lines, cells


def evaluate(b, s, expr):
    r = b.send("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                    "awaitPromise": True}, session=s)
    if "exceptionDetails" in r:
        raise cdp.BrowserError(f"page script failed: {r['exceptionDetails'].get('text')}: "
                               f"{r['exceptionDetails'].get('exception', {}).get('description')}")
    return r["result"].get("value")


def screenshot(b, s, path, full=True):
    params = {"format": "png"}
    if full:
        w, h = evaluate(b, s, "[document.documentElement.scrollWidth,"
                              "document.documentElement.scrollHeight]")
        params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": w,
                                                        "height": min(h, 12000), "scale": 1})
    data = b.send("Page.captureScreenshot", params, session=s)["data"]
    path.write_bytes(base64.b64decode(data))
    return path.stat().st_size


def console_errors(events):
    errs = []
    for ev in events:
        m, p = ev["method"], ev.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errs.append("console.error: " + " ".join(str(a.get("value", a.get("description")))
                                                     for a in p.get("args", [])))
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            errs.append(f"exception: {d.get('text')} {d.get('exception', {}).get('description', '')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            errs.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
    return errs


def run_checks(b, page, samples, out, c):
    tests, lines, cells = expected_grid(samples)
    url = page.as_uri()
    tid = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = b.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
    for m in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
        b.send(m, session=s)
    b.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900,
                                                  "deviceScaleFactor": 1, "mobile": False}, session=s)
    b.events.clear()
    b.send("Page.navigate", {"url": url}, session=s)
    b.wait_event("Page.loadEventFired", s)
    b.drain(0.5)
    errs = console_errors(b.events)
    c.ok(CHECKS[0], not errs, "; ".join(errs))
    urls = [ev["params"]["request"]["url"] for ev in b.events
            if ev["method"] == "Network.requestWillBeSent"]
    stray = [u for u in urls if u != url and not u.startswith("data:")]
    c.ok(CHECKS[1], not stray, ", ".join(stray))

    got = evaluate(b, s, """(function(){var o={};document.querySelectorAll('#grid tbody tr').forEach(
        function(r){r.querySelectorAll('td.cell').forEach(function(td){
        o[r.dataset.test+'|'+td.dataset.line]=td.textContent;});});return o;})()""")
    want = {f"{t}|{ln}": v for (t, ln), v in cells.items()}
    wrong = [f"{k}: {got.get(k)!r} (want {v})" for k, v in want.items()
             if not (got.get(k) or "").startswith(v)]
    c.ok(CHECKS[2], len(got) == len(tests) * len(lines) and not wrong,
         f"{len(got)} cells, want {len(tests)}x{len(lines)}; " + "; ".join(wrong[:5]))

    line, test = PLANTED
    sel = f'#grid tr[data-test="{test}"] td[data-line="{line}"] button'
    x, y = evaluate(b, s, f"""(function(){{var e=document.querySelector('{sel}');
        e.scrollIntoView({{block:'center',inline:'center'}});var r=e.getBoundingClientRect();
        return [r.x+r.width/2,r.y+r.height/2];}})()""")
    for t in ("mouseMoved", "mousePressed", "mouseReleased"):
        b.send("Input.dispatchMouseEvent", {"type": t, "x": x, "y": y, "button": "left",
                                            "clickCount": 1}, session=s)
    opened = evaluate(b, s, """(function(){var d=document.getElementById('detail');
        var l=d.querySelector('.test-log');return [d.open, document.getElementById('detail-title')
        .textContent, l?l.textContent:null];})()""")
    is_open, title, log = opened
    c.ok(CHECKS[3], is_open and title == f"{test} on {line}" and log and "not ok" in log
         and "# Subtest: " + test in log, f"open={is_open} title={title!r} log={str(log)[:80]!r}")
    shot = out / "report-1280-cell.png"
    screenshot(b, s, shot, full=False)
    evaluate(b, s, "document.getElementById('detail-close').click()")

    first = evaluate(b, s, """(function(){var l=document.querySelector('#changes li');
        return l?[l.dataset.kind,l.dataset.line,l.dataset.test]:null;})()""")
    c.ok(CHECKS[4], first == ["regression", line, test], f"first change: {first}")

    shown = evaluate(b, s, """(function(){var f=document.getElementById('filters');
        f.verdict.value='changed';f.dispatchEvent(new Event('change'));
        var n=[].filter.call(document.querySelectorAll('#grid tbody tr'),function(r){return !r.hidden;})
        .map(function(r){return r.dataset.test;});
        f.verdict.value='';f.dispatchEvent(new Event('change'));return n;})()""")
    c.ok(CHECKS[5], test in shown and len(shown) < len(tests), f"changed rows: {shown}")

    size = screenshot(b, s, out / "report-1280.png")
    c.ok(CHECKS[6], size > 10000, f"{size} bytes")

    b.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                  "deviceScaleFactor": 1, "mobile": True}, session=s)
    b.send("Page.reload", {}, session=s)
    b.wait_event("Page.loadEventFired", s)
    b.drain(0.3)
    sw, iw = evaluate(b, s, "[document.documentElement.scrollWidth, window.innerWidth]")
    errs = console_errors(b.events)
    c.ok(CHECKS[7], sw <= iw and not errs, f"page {sw} px wide in a {iw} px window; {errs}")
    size = screenshot(b, s, out / "report-phone.png")
    c.ok(CHECKS[8], size > 5000, f"{size} bytes")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(TOP / "results" / "check"))
    ap.add_argument("--samples", default=str(TOP / "tests" / "report"))
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args(argv)
    samples, out = Path(a.samples), Path(a.out)
    chromium = cdp.find_chromium()
    if not chromium:
        why = ("not root: apt-get install chromium (make check installs it as root)"
               if os.geteuid() != 0 else "apt-get install chromium did not give one")
        print(f"browser: skipped: no chromium: {why}")
        print(f"0 passed, 0 failed, {len(CHECKS)} skipped")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    c = Checker(out)
    tmp = Path(tempfile.mkdtemp(prefix="kvmcheck-report-check."))

    def bound(signum, frame):
        raise cdp.BrowserError(f"the check took more than {a.timeout:g} s")
    old = signal.signal(signal.SIGALRM, bound)
    signal.setitimer(signal.ITIMER_REAL, a.timeout)
    b = None
    t0 = time.monotonic()
    try:
        page = tmp / "report.html"
        report.write(str(page), matrix_path=str(samples / "matrix.json"),
                     review_path=str(samples / "review.json"),
                     mutants_path=str(samples / "mutants.json"),
                     baseline=str(samples / "baseline.json"), history=False,
                     meta_file=str(samples / "tests-meta.json"))
        shutil.copy(page, out / "report.html")
        with open(out / "chromium.log", "w") as log:
            b = cdp.Browser(chromium, timeout=30, log=log)
            run_checks(b, page, samples, out, c)
    except (cdp.BrowserError, report.InputError, OSError) as ex:
        c.ok("browser session", False, str(ex))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if b is not None:
            b.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"browser: {chromium}, {time.monotonic() - t0:.1f} s; artifacts in {out}/ "
          "(report.html, report-1280.png, report-1280-cell.png, report-phone.png)")
    skipped = max(0, len(CHECKS) - c.passed - c.failed) if c.failed else 0
    print(f"{c.passed} passed, {c.failed} failed, {skipped} skipped")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
