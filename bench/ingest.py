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

``--during`` measures instead whether a running service keeps answering while
an ingest commits: the first ``--seed-docs`` documents are indexed first, a
``SearchService`` (the code behind /search) opens the index in this process,
and one thread sends it ``--qps`` searches a second (1-2-word queries drawn
from the seed titles, or with ``--query-words body`` from their bodies'
openings) for ``--before-seconds``, then on while ``ingest.py`` (a
subprocess, with ``--ingest-args``, under ``nice -n --nice``) adds the rest
in batches that commit. Prints query latency p50/p99/max before and during the ingest, the
queries that were the first to see a new commit (they reopen the changed
segments), the longest gap between two answers, errors, and whether the
service sees every document afterwards.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
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


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        stack.extend(_children(p))
    return pids


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def measure(cmd: list[str]) -> tuple[float, float, float, int, str]:
    """Run ``cmd``; return (seconds, CPU seconds of the tree, CPU seconds of its main
    process, peak tree RSS in bytes, stdout). The main process's CPU is its last
    sample (every 50 ms): with worker processes it is the part that cannot run in
    parallel with them, so it bounds the wall time on idle cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, main_cpu = 0, 0.0
    while proc.poll() is None:
        peak = max(peak, sum(_rss(p) for p in _tree(proc.pid)))
        main_cpu = max(main_cpu, _cpu(proc.pid))
        time.sleep(0.05)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return seconds, cpu, main_cpu, peak, out


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


def _percentiles(ms: list[float]) -> str:
    if not ms:
        return f"{'-':>8} {'-':>8} {'-':>8}"
    ordered = sorted(ms)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return f"{pct(50):>8.1f} {pct(99):>8.1f} {ordered[-1]:>8.1f}"


def during(args: argparse.Namespace, data: str, work: str) -> None:
    """Query latency of a live ``SearchService`` before and while an ingest commits."""
    import random
    import threading

    sys.path.insert(0, str(ROOT / "src"))
    from search import SearchRequest, SearchService, Settings, ingest, read_inputs
    from search.analysis import words

    seed_file, rest_file = os.path.join(work, "seed.jsonl"), os.path.join(work, "rest.jsonl")
    titles: list[str] = []
    with open(data, "rb") as src, open(seed_file, "wb") as seed, open(rest_file, "wb") as rest:
        for n, line in enumerate(src):
            if n < args.seed_docs:
                seed.write(line)
                record = json.loads(line)
                titles.append(record.get(args.query_words, "")[:400])
            else:
                rest.write(line)
    index = os.path.join(work, "served")
    ingest(read_inputs([seed_file]), index)
    rng = random.Random(1)
    vocabulary = [w for t in titles for w in words(t) if len(w) > 2]
    queries = [" ".join(rng.sample(vocabulary, rng.choice((1, 2)))) for _ in range(500)]
    service = SearchService(Settings.load({"index": index}))
    service.search(SearchRequest(q=queries[0]))  # open the index before timing

    samples: list[tuple[float, float, int, str]] = []  # (finished at, ms, documents seen, error)
    stop = threading.Event()

    def ask() -> None:
        interval = 1.0 / args.qps
        next_at = time.perf_counter()
        for q in itertools.cycle(queries):
            if stop.is_set():
                return
            next_at += interval  # a steady rate, as a service sees it (not one query right after another)
            time.sleep(max(0.0, next_at - time.perf_counter()))
            started = time.perf_counter()
            error = ""
            try:
                service.search(SearchRequest(q=q))
            except Exception as exc:  # counted and reported: the service must not raise
                error = f"{type(exc).__name__}: {exc}"
            finished = time.perf_counter()
            try:
                seen = service.index().doc_count()
            except Exception:
                seen = -1
            samples.append((finished, (finished - started) * 1000, seen, error))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    time.sleep(args.before_seconds)
    ingest_started = time.perf_counter()
    cmd = ["nice", "-n", str(args.nice), sys.executable, str(ROOT / "ingest.py"), "--quiet", "--index", index,
           *args.ingest_args.split(), rest_file]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    ingest_ended = time.perf_counter()
    time.sleep(args.after_seconds)
    stop.set()
    thread.join()
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")

    before = [s for s in samples if s[0] < ingest_started]
    while_ingesting = [s for s in samples if ingest_started <= s[0] <= ingest_ended]
    after = [s for s in samples if s[0] > ingest_ended]
    firsts = [b for a, b in zip(samples, samples[1:]) if b[2] != a[2]]  # first answer from a new commit
    gaps = [b[0] - a[0] for a, b in zip(while_ingesting, while_ingesting[1:])]
    expected = args.seed_docs + sum(1 for _ in open(rest_file, "rb"))
    print(f"service during ingest: {args.seed_docs} documents served, then ingest.py {args.ingest_args} "
          f"(nice {args.nice}) adds {expected - args.seed_docs} in "
          f"{ingest_ended - ingest_started:.1f} s; {os.cpu_count()} CPUs, one query thread sending {args.qps:g} searches/s")
    print(f"{'queries':<40} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6}")
    for name, rows in (("before the ingest", before), ("while the ingest runs and commits", while_ingesting),
                       ("first answer after each new commit", firsts), ("after the ingest", after)):
        print(f"{name:<40} {len(rows):>6} {_percentiles([r[1] for r in rows])} {sum(1 for r in rows if r[3]):>6}")
    print(f"longest gap between two answers while ingesting: {max(gaps, default=0) * 1000:.0f} ms; "
          f"commits seen by the service: {len({s[2] for s in while_ingesting + after}) - 1}")
    final = service.index().doc_count()
    print(f"documents the service sees afterwards: {final} of {expected} "
          f"({'all' if final == expected else 'MISSING SOME'}) without a restart")
    for error in sorted({s[3] for s in samples if s[3]})[:5]:
        print(f"error: {error}")
    print(f"load average now: {os.getloadavg()[0]:.1f}")
    if final != expected or any(s[3] for s in samples):
        sys.exit("the service failed a search during the ingest, or missed documents after it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--ingest-args", default="", help="extra arguments for ingest.py, e.g. '--batch-size 20000'")
    parser.add_argument("--during", action="store_true",
                        help="measure query latency of a live service while an ingest commits (see above)")
    parser.add_argument("--seed-docs", type=int, default=5000, help="--during: documents indexed before serving")
    parser.add_argument("--before-seconds", type=float, default=10.0, help="--during: queries before the ingest")
    parser.add_argument("--after-seconds", type=float, default=3.0, help="--during: queries after the ingest")
    parser.add_argument("--qps", type=float, default=20.0, help="--during: searches per second sent")
    parser.add_argument("--nice", type=int, default=0, help="--during: niceness of the ingest process")
    parser.add_argument("--query-words", choices=("title", "body"), default="title",
                        help="--during: draw the 1-2-word queries from the seed documents' titles (hindi-lit: "
                        "romanized) or the opening of their bodies (Devanagari)")
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
        if args.during:
            during(args, data, work)
            return
        runs = [("ours: ingest.py", [sys.executable, str(ROOT / "ingest.py"), "--json", "--index",
                                     os.path.join(work, "ours"), *args.ingest_args.split(), data])]
        if not args.skip_baseline:
            runs.append(("baseline: stock Whoosh, regex tokenizer, 1 writer",
                         [sys.executable, __file__, "--baseline-worker", data, os.path.join(work, "baseline")]))
        print(f"input: {args.data} ({'first ' + str(args.limit) if args.limit else 'all'} docs, {mb:.1f} MB as JSON Lines); "
              f"{os.cpu_count()} CPUs")
        print(f"{'run':<52} {'docs':>7} {'seconds':>8} {'docs/s':>8} {'MB/s':>6} {'CPU s':>6} {'main':>6} "
              f"{'ms/doc':>6} {'docs/CPU-s':>10} {'peak RSS MB':>11} {'index MB':>9}")
        cpu_per_doc = {}
        for name, cmd in runs:
            seconds, cpu, main_cpu, peak, out = measure(cmd)
            docs = json.loads(out.strip().splitlines()[-1])["read"]
            cpu_per_doc[name] = cpu / docs
            index = cmd[-1] if name.startswith("baseline") else cmd[cmd.index("--index") + 1]
            print(f"{name:<52} {docs:>7} {seconds:>8.1f} {docs / seconds:>8.0f} {mb / seconds:>6.2f} {cpu:>6.1f} "
                  f"{main_cpu:>6.1f} {cpu / docs * 1000:>6.2f} {docs / cpu:>10.0f} "
                  f"{peak / 1e6:>11.0f} {dir_size(index) / 1e6:>9.1f}", flush=True)
            if main_cpu and cpu > main_cpu * 1.05:
                cores = min(2, os.cpu_count() or 1)
                print(f"{'':<52} on {cores} idle cores: about {docs / max(main_cpu, cpu / cores):.0f} docs/s "
                      f"(the larger of the main process's CPU time and the tree's CPU time / {cores})")
        if len(cpu_per_doc) == 2:
            ours, base = cpu_per_doc.values()
            print(f"CPU per document, ours / baseline: {ours / base:.2f}")
        print("seconds: wall clock of the whole process, start-up and final commit included; "
              "CPU s: user+system time of the process tree (compare it when the machine is busy); "
              "main: CPU s of the ingest process itself (the rest is its workers)")
        print(f"load average now: {os.getloadavg()[0]:.1f} (above {os.cpu_count()}: other jobs share the CPUs)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
