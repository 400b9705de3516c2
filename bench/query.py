#!/usr/bin/env python3
"""Query latency: the product's search path against stock Whoosh, side by side.

    python bench/query.py --docs ../shared/data/covid-news/docs.jsonl \
        --docs ../shared/data/hindi-lit/docs.jsonl.gz \
        --queries ../shared/data/covid-news/queries.dev.jsonl [--per-mix 200] [--seed 1]

Builds (or reuses, under --cache) an index of the documents through the
product's ingest code, and a baseline index with stock Whoosh (a plain
Devanagari-aware regex tokenizer, default query parser, Whoosh's highlighter).
Then runs the same query mixes through both, single-threaded in-process, with
snippets, and prints p50/p95/p99/max latency and queries/s per mix, and the
ratio ours/baseline. Machines here are shared and noisy: compare the ratios.

Mixes: keyword queries of 1, 2 and 3 words drawn from the corpus vocabulary in
three document-frequency bands (rare, medium, very common), 2-3-word phrases
cut from document text, and headline queries (from --queries).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from search import SearchRequest, SearchService, Settings, ingest  # noqa: E402
from search.analysis import ANALYSIS_VERSION, STOP_WORDS, normalise, tokenize  # noqa: E402
from search.documents import read_jsonl  # noqa: E402


def open_text(path: str):
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def read_docs(paths: list[str], limit: int | None) -> Iterator[dict]:
    n = 0
    for path in paths:
        with open_text(path) as stream:
            for line in stream:
                if limit is not None and n >= limit:
                    return
                if line.strip():
                    n += 1
                    yield json.loads(line)


# -- indexes ---------------------------------------------------------------


def build_ours(paths: list[str], limit: int | None, directory: Path) -> float:
    if (directory / "READY").exists():
        return 0.0
    started = time.perf_counter()
    for path in paths:
        with open_text(path) as stream:
            records = read_jsonl((line for i, line in enumerate(stream) if limit is None or i < limit), path)
            ingest(records, str(directory))
    (directory / "READY").write_text("ok")
    return time.perf_counter() - started


def build_baseline(paths: list[str], limit: int | None, directory: Path) -> float:
    """Stock Whoosh: regex tokenizer that keeps Devanagari signs, lowercase, one writer."""
    from whoosh import analysis, fields, index

    if (directory / "READY").exists():
        return 0.0
    started = time.perf_counter()
    analyzer = analysis.RegexTokenizer(r"[\u0900-\u0963\u0971-\u097f\w]+") | analysis.LowercaseFilter()
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=fields.TEXT(analyzer=analyzer, stored=True),
        body=fields.TEXT(analyzer=analyzer, stored=True),
    )
    directory.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(directory), schema)
    writer = ix.writer(limitmb=256)
    for doc in read_docs(paths, limit):
        writer.add_document(id=str(doc["id"]), title=doc.get("title") or "", body=doc.get("body") or "")
    writer.commit()
    (directory / "READY").write_text("ok")
    return time.perf_counter() - started


def baseline_searcher(directory: Path) -> Callable[[str], int]:
    from whoosh import highlight, index
    from whoosh.qparser import MultifieldParser

    ix = index.open_dir(str(directory))
    searcher = ix.searcher()
    parser = MultifieldParser(["title", "body"], ix.schema)
    formatter = highlight.HtmlFormatter(tagname="mark")

    def run(q: str) -> int:
        results = searcher.search(parser.parse(q), limit=10)
        results.formatter = formatter
        for hit in results:
            hit.highlights("body") or hit.highlights("title")
        return len(results)

    return run


# -- query mixes -------------------------------------------------------------


def vocabulary(paths: list[str], limit: int | None, sample_docs: int, rng: random.Random):
    """Document frequencies of surface words, and some documents to cut phrases from."""
    df: Counter[str] = Counter()
    docs: list[str] = []
    for i, doc in enumerate(read_docs(paths, limit)):
        text = (doc.get("title") or "") + "\n" + (doc.get("body") or "")
        df.update({w for w, _, _ in tokenize(text)})
        if len(docs) < sample_docs:
            docs.append(text)
        elif rng.random() < sample_docs / (i + 1):
            docs[rng.randrange(sample_docs)] = text
    return df, docs


def make_mixes(df: Counter[str], docs: list[str], headlines: list[str], n: int, rng: random.Random):
    content = [(w, c) for w, c in df.items() if normalise(w) not in STOP_WORDS and len(w) > 1]
    content.sort(key=lambda wc: -wc[1])
    total = len(content)
    bands = {
        "rare": [w for w, c in content if 5 <= c <= 20],
        "medium": [w for w, c in content if 100 <= c <= 1000],
        "common": [w for w, _ in content[: max(50, total // 500)]],
    }
    mixes: dict[str, list[str]] = {}
    for words in (1, 2, 3):
        for band, pool in bands.items():
            if pool:
                mixes[f"{words}-word {band}"] = [" ".join(rng.sample(pool, words)) for _ in range(n)]
    phrases = []
    while len(phrases) < n and docs:
        tokens = [w for w, _, _ in tokenize(rng.choice(docs))]
        if len(tokens) > 4:
            k = rng.choice((2, 3))
            i = rng.randrange(len(tokens) - k)
            phrases.append('"' + " ".join(tokens[i : i + k]) + '"')
    mixes["phrase 2-3 words"] = phrases
    if headlines:
        mixes["headline"] = rng.sample(headlines, min(n, len(headlines)))
    return mixes


def timed(run: Callable[[str], object], queries: list[str]) -> dict[str, float]:
    times = []
    for q in queries:
        started = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))]

    return {
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "max": times[-1],
        "qps": len(times) / (sum(times) / 1000),
        "mean": statistics.fmean(times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", action="append", required=True, help="JSON Lines documents (.gz ok), repeatable")
    parser.add_argument("--queries", help="query set (JSON Lines with 'query') for the headline mix")
    parser.add_argument("--limit", type=int, help="index only the first N documents of each --docs (smoke runs)")
    parser.add_argument("--per-mix", type=int, default=200, help="queries per mix")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "hindi-search-bench"),
                        help="where built indexes are kept for reuse")
    parser.add_argument("--no-baseline", action="store_true", help="skip the stock-Whoosh baseline")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    key = hashlib.sha1(json.dumps([sorted(args.docs), args.limit, ANALYSIS_VERSION]).encode()).hexdigest()[:12]
    ours_dir, base_dir = Path(args.cache) / f"ours-{key}", Path(args.cache) / f"baseline-{key}"
    ours_dir.mkdir(parents=True, exist_ok=True)
    build_s = build_ours(args.docs, args.limit, ours_dir)
    base_build_s = 0.0 if args.no_baseline else build_baseline(args.docs, args.limit, base_dir)

    df, docs = vocabulary(args.docs, args.limit, 2000, rng)
    headlines = []
    if args.queries:
        with open(args.queries, encoding="utf-8") as f:
            headlines = [json.loads(line)["query"] for line in f if line.strip()]
    mixes = make_mixes(df, docs, headlines, args.per_mix, rng)

    opened = time.perf_counter()
    service = SearchService(Settings.load({"index": str(ours_dir)}))
    documents = service.health()["documents"]
    open_ms = (time.perf_counter() - opened) * 1000

    def ours(q: str) -> int:
        return service.search(SearchRequest(q=q, per_page=10)).total

    base = None if args.no_baseline else baseline_searcher(base_dir)
    rows = []
    for name, queries in mixes.items():
        for q in queries[:5]:  # warm caches the same way for both
            ours(q)
            base and base(q)
        row = {"mix": name, "queries": len(queries), "ours": timed(ours, queries)}
        if base:
            row["baseline"] = timed(base, queries)
        rows.append(row)

    result = {"documents": documents, "index_open_ms": round(open_ms, 1), "build_s": round(build_s, 1),
              "baseline_build_s": round(base_build_s, 1), "mixes": rows}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{documents} documents; index open {open_ms:.0f} ms; built in {build_s:.0f} s (0 = reused)")
    head = f"{'mix':<18} {'n':>4} | {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'q/s':>7}"
    print(head + (" | baseline p50 p95 p99 q/s | p50 ratio" if base else ""))
    for row in rows:
        o = row["ours"]
        line = f"{row['mix']:<18} {row['queries']:>4} | {o['p50']:7.2f} {o['p95']:7.2f} {o['p99']:7.2f} {o['max']:7.1f} {o['qps']:7.0f}"
        if base:
            b = row["baseline"]
            line += f" | {b['p50']:7.2f} {b['p95']:7.2f} {b['p99']:7.2f} {b['qps']:6.0f} | {o['p50'] / b['p50']:5.2f}x"
        print(line)
    print("(milliseconds per query, single thread, snippets included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
