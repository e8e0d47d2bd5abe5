#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Assemble tests/report/'s matrix samples from real per-line matrix runs (see README here).

    make_samples.py --current SHARD... --baseline SHARD... [--review DIR]

Each SHARD is a matrix-LINE.json a `scripts/matrix.sh --out DIR LINE` run wrote. The current
shards are merged into matrix.json (judged against expect/, as make matrix judges), their
merged TAP and console logs copied to logs/LINE/ and named relative to the file; the baseline
shards are merged into baseline.json without logs. --review copies DIR/review.json."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]


def merge(shards, out):
    """The shards merged by matrix.sh itself; the merged document."""
    with tempfile.TemporaryDirectory(prefix="kvmcheck-samples.") as d:
        p = subprocess.run([str(TOP / "scripts" / "matrix.sh"), "--out", d, "--merge", *shards],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if p.returncode not in (0, 1):
            sys.exit(f"matrix.sh --merge: exit {p.returncode}: {p.stderr.strip()}")
        data = json.loads((Path(d) / "matrix.json").read_text())
    for k in data["kernels"]:
        if k.get("expect_file"):
            k["expect_file"] = os.path.relpath(k["expect_file"], TOP)
    return data


def write(path, data):
    path.write_text(json.dumps(data, indent=2) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--current", nargs="+", required=True)
    ap.add_argument("--baseline", nargs="+", required=True)
    ap.add_argument("--review")
    a = ap.parse_args()
    cur = merge(a.current, HERE)
    shutil.rmtree(HERE / "logs", ignore_errors=True)
    for k in cur["kernels"]:
        src = k.get("logs")
        if not src:
            continue
        dst = HERE / "logs" / k["line"]
        dst.mkdir(parents=True)
        for name in ("tap.log", "console.log"):
            if os.path.exists(os.path.join(src, name)):
                shutil.copy(os.path.join(src, name), dst / name)
        k["logs"] = f"logs/{k['line']}"
    write(HERE / "matrix.json", cur)
    base = merge(a.baseline, HERE)
    for k in base["kernels"]:
        k.pop("logs", None)
    write(HERE / "baseline.json", base)
    if a.review:
        shutil.copy(Path(a.review) / "review.json", HERE / "review.json")


if __name__ == "__main__":
    main()
