#!/usr/bin/env python3
"""Ingest throughput: our ``ingest.py`` against stock Whoosh, measured in the same run.

    python bench/ingest.py [--limit N] [--data FILE] [--skip-baseline]

Ingests ``../shared/data/hindi-lit/docs.jsonl.gz`` (52,968 passages) into a
fresh temporary index, once with ``ingest.py`` (a subprocess, as a cron job
runs it) and once with the baseline: stock Whoosh 2.7.4, a plain
Devanagari-aware regex tokenizer (letters and combining signs kept together,
lowercased), the same fields stored, one writer, one commit. Prints docs/s,
MB/s (of uncompressed JSON Lines input), CPU seconds, peak memory (RSS summed over the
whole process tree, sampled every 50 ms) and the index size.

``--limit N`` ingests only the first N documents (the CI smoke run).
The baseline uses Whoosh directly: it is the reference, not product code.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "hindi-lit" / "docs.jsonl.gz"


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids.extend(int(k) for k in f.read().split())
    except OSError:
        pass
    return kids


def _tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in bytes."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        stack.extend(_children(p))
    return total


def measure(cmd: list[str]) -> tuple[float, float, int, str]:
    """Run ``cmd``; return (seconds, CPU seconds of the tree, peak tree RSS in bytes, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.05)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return seconds, cpu, peak, out


def dir_size(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def baseline_worker(data: str, index: str) -> None:
    """Stock Whoosh: regex tokenizer that keeps Devanagari words whole, one writer."""
    import whoosh.analysis
    import whoosh.fields
    import whoosh.index

    analyzer = whoosh.analysis.RegexTokenizer(r"[\u0900-\u0963\u0971-\u097f\w]+") | whoosh.analysis.LowercaseFilter()
    schema = whoosh.fields.Schema(
        id=whoosh.fields.ID(stored=True, unique=True),
        title=whoosh.fields.TEXT(analyzer=analyzer, stored=True),
        body=whoosh.fields.TEXT(analyzer=analyzer, stored=True),
        source=whoosh.fields.ID(stored=True),
        category=whoosh.fields.ID(stored=True),
    )
    os.makedirs(index, exist_ok=True)
    ix = whoosh.index.create_in(index, schema)
    writer = ix.writer(limitmb=256)
    count = 0
    with open(data, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            writer.add_document(**{k: str(doc[k]) for k in ("id", "title", "body", "source", "category") if doc.get(k)})
            count += 1
    writer.commit()
    print(json.dumps({"read": count}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--ingest-args", default="", help="extra arguments for ingest.py, e.g. '--batch-size 20000'")
    parser.add_argument("--baseline-worker", nargs=2, metavar=("DATA", "INDEX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_worker:
        baseline_worker(*args.baseline_worker)
        return

    work = tempfile.mkdtemp(prefix="bench-ingest-")
    try:
        data = os.path.join(work, "docs.jsonl")  # uncompressed, so both sides read the same bytes
        opener = gzip.open if args.data.endswith(".gz") else open
        with opener(args.data, "rb") as src, open(data, "wb") as dst:
            for n, line in enumerate(src):
                if args.limit and n >= args.limit:
                    break
                dst.write(line)
        mb = os.path.getsize(data) / 1e6
        runs = [("ours: ingest.py", [sys.executable, str(ROOT / "ingest.py"), "--json", "--index",
                                     os.path.join(work, "ours"), *args.ingest_args.split(), data])]
        if not args.skip_baseline:
            runs.append(("baseline: stock Whoosh, regex tokenizer, 1 writer",
                         [sys.executable, __file__, "--baseline-worker", data, os.path.join(work, "baseline")]))
        print(f"input: {args.data} ({'first ' + str(args.limit) if args.limit else 'all'} docs, {mb:.1f} MB as JSON Lines); "
              f"{os.cpu_count()} CPUs")
        print(f"{'run':<52} {'docs':>7} {'seconds':>8} {'docs/s':>8} {'MB/s':>6} {'CPU s':>6} {'peak RSS MB':>11} {'index MB':>9}")
        for name, cmd in runs:
            seconds, cpu, peak, out = measure(cmd)
            docs = json.loads(out.strip().splitlines()[-1])["read"]
            index = cmd[-1] if name.startswith("baseline") else cmd[cmd.index("--index") + 1]
            print(f"{name:<52} {docs:>7} {seconds:>8.1f} {docs / seconds:>8.0f} {mb / seconds:>6.2f} {cpu:>6.1f} "
                  f"{peak / 1e6:>11.0f} {dir_size(index) / 1e6:>9.1f}", flush=True)
        print("seconds: wall clock of the whole process, start-up and final commit included; "
              "CPU s: user+system time of the process tree (compare it when the machine is busy)")
        print(f"load average now: {os.getloadavg()[0]:.1f} (above {os.cpu_count()}: other jobs share the CPUs)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
