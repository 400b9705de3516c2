"""Romanized (Hinglish) queries against Devanagari documents: MRR@10 and latency.

Indexes ``romanized/docs.jsonl`` through :func:`search.indexing.ingest`, then
runs ``queries.dev.jsonl`` through :class:`search.searching.SearchService` (the
code behind ``/search``) twice in the same run: with romanized reading on (the
default) and off (``roman_candidates=0``, the baseline). Each query is run as
typed (every word required) and as an any-word query (its words joined by
``OR``), since sentence-long queries rarely have every word in one document.

    python bench/romanized_eval.py [--data ../shared/data/romanized] [--limit N]

Prints MRR@10 per query group, latency per group, ingest time, index size and
the time to build the phonetic key table of the index (paid by the first
romanized query after a commit).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from search.analysis import tokenize  # noqa: E402
from search.config import Settings  # noqa: E402
from search.indexing import ingest, read_inputs  # noqa: E402
from search.querying import QueryError  # noqa: E402
from search.searching import SearchService  # noqa: E402


def any_word(query: str) -> str:
    """The query's words joined by OR (ranked any-word matching)."""
    return " OR ".join(word for word, _, _ in tokenize(query))


def reciprocal_rank(ids: list[str], relevant: set[str]) -> float:
    for rank, doc_id in enumerate(ids[:10], 1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def directory_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).iterdir() if f.is_file())


def run(service: SearchService, queries: list[dict], mode: str) -> dict[str, tuple[float, list[float]]]:
    """``{group: (MRR@10, [latency ms])}`` for one configuration and mode."""
    groups: dict[str, list[float]] = {}
    latencies: dict[str, list[float]] = {}
    for q in queries:
        text = q["query"] if mode == "all words" else any_word(q["query"])
        started = time.perf_counter()
        try:
            ids = service.ranked_ids(text, 10) if text else []
        except QueryError:
            ids = []
        elapsed = (time.perf_counter() - started) * 1000
        rr = reciprocal_rank(ids, set(q["relevant"]))
        for group in q["groups"]:
            groups.setdefault(group, []).append(rr)
            latencies.setdefault(group, []).append(elapsed)
    return {g: (statistics.fmean(v), latencies[g]) for g, v in groups.items()}


def interleaved(on: SearchService, off: SearchService, texts: list[str], rounds: int = 3) -> tuple[float, float]:
    """Median ms per query with the reading on and off, alternating query by query
    (so both see the same machine load)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for text in texts:
            for i, service in enumerate((on, off)):
                started = time.perf_counter()
                try:
                    service.ranked_ids(text, 10)
                except QueryError:
                    pass
                times[i].append((time.perf_counter() - started) * 1000)
    return (statistics.median(times[0]) if times[0] else 0.0, statistics.median(times[1]) if times[1] else 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "romanized"))
    parser.add_argument("--limit", type=int, default=0, help="evaluate a random sample of N queries (0: all)")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    data = Path(args.data)

    queries = [json.loads(line) for line in (data / "queries.dev.jsonl").open(encoding="utf-8")]
    if args.limit:
        queries = random.Random(args.seed).sample(queries, min(args.limit, len(queries)))
    for q in queries:
        q["groups"] = [f"{q['script']} {q['kind']}"] + (["roman all"] if q["script"] == "roman" else [])

    with tempfile.TemporaryDirectory(prefix="romanized-eval-") as index:
        report = ingest(read_inputs([str(data / "docs.jsonl")]), index)
        print(f"ingest: {report.summary()}; index {directory_bytes(index) / 1e6:.2f} MB")
        on = SearchService(Settings.load({"index": index}, environ={}))
        off = SearchService(Settings.load({"index": index, "roman_candidates": 0}, environ={}))
        started = time.perf_counter()
        keys = on.index().roman_keys()
        build = time.perf_counter() - started
        print(
            f"phonetic key table: {sum(len(terms) for m in keys for terms in m.values())} Devanagari terms under "
            f"{sum(map(len, keys))} keys, built in {build * 1000:.0f} ms (in memory, nothing added to the index)"
        )
        print(f"{len(queries)} queries")
        for mode in ("all words", "any word"):
            baseline = run(off, queries, mode)
            romanized = run(on, queries, mode)
            print(f"\n== {mode}: MRR@10 (baseline = romanized reading off, same run)")
            print(f"{'group':<22}{'n':>6}{'baseline':>10}{'romanized':>11}{'p50 ms':>9}{'p95 ms':>9}{'base p50':>10}")
            for group in sorted(romanized):
                mrr, lat = romanized[group]
                base_mrr, base_lat = baseline[group]
                lat_sorted = sorted(lat)
                p95 = lat_sorted[min(len(lat_sorted) - 1, int(0.95 * len(lat_sorted)))]
                print(
                    f"{group:<22}{len(lat):>6}{base_mrr:>10.3f}{mrr:>11.3f}"
                    f"{statistics.median(lat):>9.1f}{p95:>9.1f}{statistics.median(base_lat):>10.1f}"
                )
        print("\n== latency of the same queries, reading on and off interleaved (median ms)")
        for group in ("devanagari phrase", "roman phrase", "roman sentence"):
            texts = [q["query"] for q in queries if group in q["groups"]][:300]
            timings = interleaved(on, off, texts)
            if texts:
                print(f"{group:<22}{len(texts):>6}  on {timings[0]:.2f}  off {timings[1]:.2f}")
        on.index().close()
        off.index().close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
