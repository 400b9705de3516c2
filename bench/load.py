#!/usr/bin/env python3
"""Bounded load on loopback: do cheap searches still get answered while a flood of
expensive ones runs? gunicorn with 2 workers (as in production), real HTTP.

    python bench/load.py                          # hindi-lit, 20,000 passages; 20 s per phase
    python bench/load.py --limit 3000 --seconds 8 # the CI smoke

Builds an index (or reuses ``--index``), starts ``gunicorn -w 2`` on a free port,
then measures a cheap query (one rare word, 10 hits) from one client:

1. alone (the baseline, in the same run);
2. while ``--flood`` clients send expensive queries back to back: long ORs of
   the most frequent words with every facet, deep pages (page × per_page near
   the cap), many prefixes (each expanding to ``SEARCH_MAX_PREFIX_TERMS``
   terms), sorted by date.

Prints the cheap query's latency (p50, p95, max) and statuses in both phases, and
the flood's answers by status (200, 503 ``timeout`` from ``SEARCH_QUERY_TIME_LIMIT``,
400 for what the limits refuse). The machine is shared: compare the two phases.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from search import ingest, read_inputs  # noqa: E402
from search.analysis import Analyzer  # noqa: E402
from search.vocabulary import Vocabulary  # noqa: E402


def get(base: str, params: dict, timeout: float = 120) -> tuple[int, float]:
    """``(status, seconds)`` of one GET /search."""
    url = base + "/search?" + urllib.parse.urlencode(params)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    except OSError:
        status = 0  # refused, reset or timed out: the server did not answer
    return status, time.perf_counter() - started


def expensive_queries(words: list[str]) -> list[dict]:
    """Queries at (or just inside) every limit: the worst a client may send."""
    common = words[:64]
    prefixes = list(dict.fromkeys(w[:2] for w in words if len(w) >= 3))[:30]  # of the most frequent words
    return [
        {"q": " OR ".join(common), "facets": "source,category,published", "per_page": 100},
        {"q": " OR ".join(common[:40]), "page": 1000, "per_page": 100, "sort": "-published"},
        {"q": " OR ".join(p + "*" for p in prefixes), "facets": "source,published", "per_page": 100},
        {"q": " ".join(f'"{a} {b}"' for a, b in zip(common[::2], common[1::2]))[:1000], "snippets": 5, "snippet_chars": 2000},
        {"q": " OR ".join(p + "*" for p in prefixes[:10]) + " -" + common[0], "page": 500, "per_page": 100},
    ]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def measure_cheap(base: str, cheap: dict, seconds: float) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, took = get(base, cheap)
        statuses[status] += 1
        latencies.append(took)
        time.sleep(0.05)
    return latencies, statuses


def report(name: str, latencies: list[float], statuses: Counter[int]) -> None:
    ms = [t * 1000 for t in latencies]
    print(f"  {name:<28} {len(ms):>5} queries  p50 {statistics.median(ms):8.1f} ms  p95 {percentile(ms, 0.95):8.1f} ms"
          f"  max {max(ms):8.1f} ms  statuses {dict(statuses)}")


def build(index: str, docs: str, limit: int) -> None:
    if os.path.isdir(index) and any(n.endswith(".toc") for n in os.listdir(index)):
        return  # reuse
    opener = gzip.open if docs.endswith(".gz") else open
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp, "docs.jsonl")
        with opener(docs, "rt", encoding="utf-8") as src, open(part, "w", encoding="utf-8") as dst:
            for n, line in enumerate(src):
                if n >= limit:
                    break
                dst.write(line)
        started = time.perf_counter()
        result = ingest(read_inputs([str(part)]), index)
        print(f"indexed {result.added:,} documents in {time.perf_counter() - started:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", default=str(ROOT.parent / "shared" / "data" / "hindi-lit" / "docs.jsonl.gz"))
    parser.add_argument("--limit", type=int, default=20000, help="documents to index (default 20000)")
    parser.add_argument("--index", help="index directory to build or reuse (default: a temporary one)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase (default 20)")
    parser.add_argument("--flood", type=int, default=6, help="clients sending expensive queries (default 6)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (default 1: sync workers; more: gthread)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or os.path.join(tmp, "index")
        build(index, args.docs, args.limit)
        vocabulary = Vocabulary.load(index, Analyzer())
        assert vocabulary is not None, "the ingest wrote no vocabulary"
        ranked = sorted(vocabulary.documents().items(), key=lambda we: -we[1])
        frequent = [w for w, _ in ranked if len(w) > 2][:300]
        rare = next(w for w, e in reversed(ranked) if len(w) > 4)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(os.path.join(tmp, "gunicorn.log"), "w")
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
             "--threads", str(args.threads), "--timeout", "30", "search:create_app()"],
            env={**os.environ, "SEARCH_INDEX": index, "SEARCH_LOG_QUERIES": "none"}, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                if get(base, {"q": rare}, timeout=5)[0] == 200:
                    break
                time.sleep(0.1)
            cheap = {"q": rare}
            flood_queries = expensive_queries(frequent)
            print(f"gunicorn -w {args.workers} --threads {args.threads}; cheap query {rare!r}; {args.flood} flood clients; {args.seconds:g} s per phase")
            for q in flood_queries:
                status, took = get(base, q)
                print(f"  expensive alone: {took * 1000:8.1f} ms  status {status}  q={q['q'][:60]}…")
            alone = measure_cheap(base, cheap, args.seconds)

            stop = threading.Event()
            flood_statuses: Counter[int] = Counter()
            flood_times: list[float] = []

            def flood(seed: int) -> None:
                rng = random.Random(seed)
                while not stop.is_set():
                    status, took = get(base, rng.choice(flood_queries))
                    flood_statuses[status] += 1
                    flood_times.append(took)

            flooders = [threading.Thread(target=flood, args=(n,)) for n in range(args.flood)]
            for t in flooders:
                t.start()
            time.sleep(1.0)
            loaded = measure_cheap(base, cheap, args.seconds)
            stop.set()
            for t in flooders:
                t.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    print("cheap query:")
    report("alone (baseline)", *alone)
    report(f"under a flood of {args.flood}", *loaded)
    ms = [t * 1000 for t in flood_times]
    print(f"flood: {len(ms)} expensive queries, p50 {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms, "
          f"statuses {dict(flood_statuses)}")
    answered = loaded[1][200] == sum(loaded[1].values())
    print("every cheap query answered 200 under the flood" if answered else "SOME CHEAP QUERIES FAILED UNDER THE FLOOD")
    return 0 if answered else 1


if __name__ == "__main__":
    sys.exit(main())
