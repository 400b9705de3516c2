#!/usr/bin/env python3
"""Query latency: the product's search path against stock Whoosh, side by side.

    python bench/query.py --docs ../shared/data/covid-news/docs.jsonl \
        --docs ../shared/data/hindi-lit/docs.jsonl.gz \
        --queries ../shared/data/covid-news/queries.dev.jsonl [--per-mix 200] [--seed 1] \
        [--mix NAME ...] [--profile NAME] [--http [--workers 2] [--concurrency 4] [--seconds 15]]

Builds (or reuses, under --cache) an index of the documents through the
product's ingest code, and a baseline index with stock Whoosh (a plain
Devanagari-aware regex tokenizer, default query parser, Whoosh's highlighter).
Then runs the same query mixes through both, single-threaded in-process, with
snippets, and prints p50/p95/p99/max latency and queries/s per mix, and the
ratio ours/baseline. Machines here are shared and noisy: compare the ratios.

Mixes: keyword queries of 1, 2 and 3 words drawn from the corpus vocabulary in
three document-frequency bands (rare, medium, very common), 2-3-word phrases
cut from document text, headline queries (from --queries), /suggest requests
(2-4 letters of a word, alone or after a whole word, through
``SearchService.suggest``, the code behind /suggest) and 1-2-word queries with
a source and date filter and source/published facets.

``--http`` then serves a copy of the index with gunicorn (``--workers``, sync)
on a loopback port and sends the keyword mix from ``--concurrency`` client
threads for ``--seconds``: requests/s, p50/p99 and errors; then the same while
``ingest.py`` adds ``--ingest-docs`` new documents to the served index (its
commits are picked up by the workers); then the stock-Whoosh baseline behind
Flask under the same gunicorn. It prints each worker's resident memory.
``--profile MIX`` prints where our time goes (cProfile) on the matching mixes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import itertools
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from search import SearchRequest, SearchService, Settings, ingest  # noqa: E402
from search.searching import SearchTimeout  # noqa: E402
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


def _blanked(line: str) -> str:
    """A JSON line with its title emptied (a known-item headline must not find its own title)."""
    return json.dumps({**json.loads(line), "title": ""}, ensure_ascii=False) if line.strip() else line


def build_ours(paths: list[str], limit: int | None, directory: Path, blank_title_of: list[str] = ()) -> float:
    if (directory / "READY").exists():
        return 0.0
    started = time.perf_counter()
    for path in paths:
        with open_text(path) as stream:
            lines = (_blanked(line) if path in blank_title_of else line for line in stream)
            records = read_jsonl((line for i, line in enumerate(lines) if limit is None or i < limit), path)
            ingest(records, str(directory), max_segments=1)  # compacted, as a nightly --max-segments 1 leaves it
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
        source=fields.ID(stored=True, sortable=True),
        published=fields.ID(stored=True, sortable=True),
    )
    directory.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(directory), schema)
    writer = ix.writer(limitmb=256)
    for doc in read_docs(paths, limit):
        published = str(doc.get("published") or doc.get("date") or "")[:10]
        writer.add_document(
            id=str(doc["id"]), title=doc.get("title") or "", body=doc.get("body") or "",
            source=doc.get("source") or "", published=published,
        )
    writer.commit()
    (directory / "READY").write_text("ok")
    return time.perf_counter() - started


class Baseline:
    """The same requests through stock Whoosh: default parser, highlighter, facets, no tuning."""

    def __init__(self, directory: Path) -> None:
        from whoosh import highlight, index
        from whoosh.qparser import MultifieldParser

        self.ix = index.open_dir(str(directory))
        self.searcher = self.ix.searcher()
        self.parser = MultifieldParser(["title", "body"], self.ix.schema)
        self.formatter = highlight.HtmlFormatter(tagname="mark")

    def search(self, item: dict) -> int:
        from whoosh import query, sorting

        kwargs: dict = {}
        if item.get("source"):
            kwargs["filter"] = query.And(
                [query.Term("source", item["source"]), query.TermRange("published", item["since"], None)]
            )
            kwargs["groupedby"] = {
                name: sorting.FieldFacet(name, maptype=sorting.Count) for name in ("source", "published")
            }
        results = self.searcher.search(self.parser.parse(item["q"]), limit=10, **kwargs)
        results.formatter = self.formatter
        for hit in results:
            hit.highlights("body") or hit.highlights("title")
        if kwargs:
            results.groups("source"), results.groups("published")
        return len(results)

    def suggest(self, item: dict) -> int:
        """Completions (the most frequent terms with the prefix) and titles matching the prefix."""
        from whoosh import query

        prefix = item["suggest"].split()[-1].lower()
        reader = self.searcher.reader()
        terms = sorted(reader.expand_prefix("body", prefix), key=lambda t: -reader.doc_frequency("body", t))[:8]
        found = self.searcher.search(query.Prefix("title", prefix), limit=8)
        return len(terms) + len([hit["title"] for hit in found])

    def __call__(self, item: dict) -> int:
        return self.suggest(item) if "suggest" in item else self.search(item)


# -- query mixes -------------------------------------------------------------


def vocabulary(paths: list[str], limit: int | None, sample_docs: int, rng: random.Random):
    """Document frequencies of surface words, some documents to cut phrases from, (source, month) pairs."""
    df: Counter[str] = Counter()
    docs: list[str] = []
    dated: Counter[tuple[str, str]] = Counter()
    for i, doc in enumerate(read_docs(paths, limit)):
        text = (doc.get("title") or "") + "\n" + (doc.get("body") or "")
        df.update({w for w, _, _ in tokenize(text)})
        published = str(doc.get("published") or doc.get("date") or "")
        if doc.get("source") and published:
            dated[(doc["source"], published[:7])] += 1
        if len(docs) < sample_docs:
            docs.append(text)
        elif rng.random() < sample_docs / (i + 1):
            docs[rng.randrange(sample_docs)] = text
    return df, docs, sorted(dated)


def make_mixes(
    df: Counter[str], docs: list[str], dated: list[tuple[str, str]], headlines: list[str], n: int,
    rng: random.Random,
) -> dict[str, list[dict]]:
    """Each mix is a list of requests: ``{"q": ...}`` (with ``source``/``since`` when
    filtered and faceted) for /search, ``{"suggest": ...}`` for /suggest."""
    content = [(w, c) for w, c in df.items() if normalise(w) not in STOP_WORDS and len(w) > 1]
    content.sort(key=lambda wc: -wc[1])
    total = len(content)
    bands = {
        "rare": [w for w, c in content if 5 <= c <= 20],
        "medium": [w for w, c in content if 100 <= c <= 1000],
        "common": [w for w, _ in content[: max(50, total // 500)]],
    }
    mixes: dict[str, list[dict]] = {}
    for words in (1, 2, 3):
        for band, pool in bands.items():
            if pool:
                mixes[f"{words}-word {band}"] = [{"q": " ".join(rng.sample(pool, words))} for _ in range(n)]
    phrases = []
    while len(phrases) < n and docs:
        tokens = [w for w, _, _ in tokenize(rng.choice(docs))]
        if len(tokens) > 4:
            k = rng.choice((2, 3))
            i = rng.randrange(len(tokens) - k)
            phrases.append({"q": '"' + " ".join(tokens[i : i + k]) + '"'})
    mixes["phrase 2-3 words"] = phrases
    if headlines:
        mixes["headline"] = [{"q": q} for q in rng.sample(headlines, min(n, len(headlines)))]
    # What a search box sends while a word is typed: 2-4 letters of a word people
    # search for, alone or after a complete word.
    typed = [w for w, c in content if c >= 20 and len(w) >= 4][:5000]
    if typed:
        prefixes = []
        for _ in range(n):
            word = rng.choice(typed)
            prefix = word[: rng.choice((2, 3, 4))]
            prefixes.append({"suggest": prefix if rng.random() < 0.5 else f"{rng.choice(typed)} {prefix}"})
        mixes["suggest 2-4 letters"] = prefixes
    if dated:
        keyword = bands["medium"] + bands["common"]
        filtered = []
        for _ in range(n):
            source, month = rng.choice(dated)
            filtered.append(
                {"q": " ".join(rng.sample(keyword, rng.choice((1, 2)))), "source": source, "since": f"{month}-01"}
            )
        mixes["filter+facets"] = filtered
    return mixes


def keyword_mix(mixes: dict[str, list[dict]]) -> list[dict]:
    """The 1-3-word keyword queries of every band, interleaved (the HTTP load)."""
    pools = [queries for name, queries in mixes.items() if name[0].isdigit() and "-word" in name]
    return [item for group in zip(*pools) for item in group]


def percentiles(times: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies in ms, and queries/s for one thread."""
    times = sorted(times)

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


# -- HTTP mode ----------------------------------------------------------------


def baseline_app():  # noqa: ANN201 - a Flask app, loaded by gunicorn as 'query:baseline_app()'
    """Stock Whoosh behind Flask, as a plain prototype would serve it (for ``--http``)."""
    from flask import Flask, jsonify, request

    from whoosh import highlight

    base = Baseline(Path(os.environ["BENCH_BASELINE_INDEX"]))
    app = Flask("baseline")

    @app.get("/search")
    def search():  # noqa: ANN202
        results = base.searcher.search(base.parser.parse(request.args["q"]), limit=10)
        results.formatter = highlight.HtmlFormatter(tagname="mark")
        hits = [
            {"id": hit["id"], "title": hit["title"], "snippet": hit.highlights("body") or hit.highlights("title")}
            for hit in results
        ]
        return jsonify({"total": len(results), "hits": hits})

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with ``workers`` sync workers on a loopback port, for the duration of a ``with``."""

    def __init__(self, app: str, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = _free_port()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.log = open(log, "w", encoding="utf-8")
        command = [str(gunicorn), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "60",
                   "--pythonpath", str(ROOT / "bench"), app]
        started = time.perf_counter()
        self.process = subprocess.Popen(command, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                if self.get("/search?q=" + urllib.parse.quote("भारत"))[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.close()
            raise RuntimeError(f"gunicorn did not answer; see {log}")
        self.boot_s = time.perf_counter() - started

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def worker_rss_mb(self, kind: str = "RssAnon") -> list[float]:
        """Resident memory of each worker: ``RssAnon`` (heap: Python objects and
        caches) or ``VmRSS`` (also the index files Whoosh maps into memory)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        sizes = []
        for child in children:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith(kind + ":"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load(server: Server, items: list[dict], concurrency: int, seconds: float,
         until: Callable[[], bool] | None = None) -> dict[str, float]:
    """``concurrency`` clients send /search requests back to back for ``seconds``
    (or until ``until()`` is true, when given); requests/s, latency, errors."""
    paths = ["/search?" + urllib.parse.urlencode({"q": item["q"], "per_page": 10}) for item in items]
    lock = threading.Lock()
    counter = itertools.count()
    times: list[float] = []
    errors: Counter[str] = Counter()
    deadline = time.perf_counter() + seconds

    def done() -> bool:
        return until() if until is not None else time.perf_counter() >= deadline

    def client() -> None:
        while not done():
            path = paths[next(counter) % len(paths)]
            started = time.perf_counter()
            try:
                status, _ = server.get(path)
            except OSError as exc:
                status = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                times.append(elapsed)
                if status != 200:
                    errors[str(status)] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    stats = percentiles(times) if times else {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    return {"requests": len(times), "rps": len(times) / wall, "p50": stats["p50"], "p99": stats["p99"],
            "max": stats["max"], "errors": sum(errors.values()), "error_kinds": dict(errors)}


def run_http(args: argparse.Namespace, ours_dir: Path, base_dir: Path | None, mixes: dict[str, list[dict]]) -> dict:
    """The keyword mix over HTTP: ours, the baseline, and ours while an ingest commits."""
    items = keyword_mix(mixes)
    out: dict = {"concurrency": args.concurrency, "workers": args.workers, "seconds": args.seconds}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        served = Path(tmp) / "index"  # a copy: the ingest below must not touch the cached index
        shutil.copytree(ours_dir, served)
        env = {"SEARCH_INDEX": str(served), "SEARCH_LOG_QUERIES": "none"}
        with Server("search:create_app()", env, args.workers, Path(tmp) / "ours.log") as server:
            for item in items[: 4 * args.workers]:  # every worker opens its index
                server.get("/search?" + urllib.parse.urlencode({"q": item["q"]}))
            out["ours_boot_s"] = round(server.boot_s, 2)
            out["ours"] = load(server, items, args.concurrency, args.seconds)
            # The same load while an ingest adds (and commits) new documents.
            fresh = Path(tmp) / "new.jsonl"
            with fresh.open("w", encoding="utf-8") as f:
                for doc in read_docs(args.docs, args.ingest_docs):
                    f.write(json.dumps({**doc, "id": f"bench-new-{doc['id']}"}, ensure_ascii=False) + "\n")
            ingest_log = open(Path(tmp) / "ingest.log", "w", encoding="utf-8")
            started = time.perf_counter()
            ingest_proc = subprocess.Popen(
                [sys.executable, str(ROOT / "ingest.py"), "--index", str(served), "--quiet", str(fresh)],
                stdout=ingest_log, stderr=subprocess.STDOUT,
            )
            out["ours_during_ingest"] = load(server, items, args.concurrency, 0, until=lambda: ingest_proc.poll() is not None)
            out["ingest_s"] = round(time.perf_counter() - started, 1)
            out["ingest_rc"] = ingest_proc.returncode
            ingest_log.close()
            out["ours_worker_rss_mb"] = [round(x) for x in server.worker_rss_mb()]
            out["ours_worker_vmrss_mb"] = [round(x) for x in server.worker_rss_mb("VmRSS")]
        if args.semantic and mixes.get("headline"):
            env = {"SEARCH_INDEX": str(ours_dir), "SEARCH_LOG_QUERIES": "none", "SEARCH_SEMANTIC": "1"}
            with Server("search:create_app()", env, args.workers, Path(tmp) / "hybrid.log") as server:
                out["headlines"] = {}
                for mode in ("lexical", "auto"):
                    times = []
                    for item in mixes["headline"]:
                        started = time.perf_counter()
                        status, _ = server.get("/search?" + urllib.parse.urlencode({"q": item["q"], "mode": mode}))
                        if status == 200:
                            times.append((time.perf_counter() - started) * 1000)
                    out["headlines"][mode] = {**percentiles(times[5:]), "answered": len(times), "sent": len(mixes["headline"])}
        if base_dir is not None:
            env = {"BENCH_BASELINE_INDEX": str(base_dir)}
            with Server("query:baseline_app()", env, args.workers, Path(tmp) / "baseline.log") as server:
                for item in items[: 4 * args.workers]:
                    server.get("/search?" + urllib.parse.urlencode({"q": item["q"]}))
                out["baseline"] = load(server, items, args.concurrency, args.seconds)
                out["baseline_worker_rss_mb"] = [round(x) for x in server.worker_rss_mb()]
    return out


def print_http(result: dict) -> None:
    print(f"\nHTTP: gunicorn -w {result['workers']}, {result['concurrency']} concurrent clients on loopback, "
          f"keyword mix (1-3 words, all bands, snippets), {result['seconds']} s per run")
    print(f"{'run':<22} {'requests':>8} {'req/s':>7} {'p50':>7} {'p99':>7} {'max':>7} {'errors':>6}")
    for name in ("ours", "ours_during_ingest", "baseline"):
        if name in result:
            r = result[name]
            print(f"{name:<22} {r['requests']:>8} {r['rps']:7.0f} {r['p50']:7.1f} {r['p99']:7.1f} {r['max']:7.0f} "
                  f"{r['errors']:>6}" + (f" {r['error_kinds']}" if r["errors"] else ""))
    for mode, r in result.get("headlines", {}).items():
        print(f"headlines one at a time, mode={mode:<8}: p50 {r['p50']:.1f} p95 {r['p95']:.1f} p99 {r['p99']:.1f} ms "
              f"({r['answered']}/{r['sent']} answered 200)")
    print(f"ingest of new documents during the second run: {result['ingest_s']} s (exit {result['ingest_rc']}); "
          f"worker heap (RssAnon) MB: ours {result['ours_worker_rss_mb']}"
          + (f", baseline {result['baseline_worker_rss_mb']}" if "baseline_worker_rss_mb" in result else "")
          + f"; with mapped index files (VmRSS) ours {result['ours_worker_vmrss_mb']}"
          + f"; gunicorn boot to first answer {result['ours_boot_s']} s")


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
    parser.add_argument("--mix", action="append", help="run only mixes whose name contains this (repeatable)")
    parser.add_argument("--profile", metavar="MIX", help="cProfile our side of the mixes containing MIX; print the top")
    parser.add_argument("--http", action="store_true", help="also drive the service under gunicorn over loopback")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (--http)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent HTTP clients (--http)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each HTTP run (--http)")
    parser.add_argument("--ingest-docs", type=int, default=3000,
                        help="new documents ingested during the second HTTP run (--http)")
    parser.add_argument("--blank-title-of", action="append", default=[], metavar="FILE",
                        help="index these --docs files with empty titles (known-item headlines, as bench/eval.py)")
    parser.add_argument("--semantic", action="store_true",
                        help="embed the index (vectors cached in --embed-cache) and add the headline mix in hybrid "
                        "mode; with --http, headlines over HTTP in both modes")
    parser.add_argument("--embed-cache", default=os.path.join(os.path.expanduser("~"), ".cache", "hindi-search-bench", "vectors"),
                        metavar="DIR", help="passage vectors kept between runs (bench/embedcache.py)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    key = hashlib.sha1(json.dumps([sorted(args.docs), args.limit, ANALYSIS_VERSION]).encode()).hexdigest()[:12]
    ours_key = key
    if args.blank_title_of:
        ours_key = hashlib.sha1(json.dumps([key, sorted(map(os.path.abspath, args.blank_title_of))]).encode()).hexdigest()[:12]
    ours_dir, base_dir = Path(args.cache) / f"ours-{ours_key}", Path(args.cache) / f"baseline2-{key}"
    ours_dir.mkdir(parents=True, exist_ok=True)
    build_s = build_ours(args.docs, args.limit, ours_dir, args.blank_title_of)
    if args.semantic:
        from embedcache import embed_with_cache

        embed_with_cache(str(ours_dir), args.embed_cache, max_tokens=Settings.embed_tokens, log=sys.stderr)
    base_build_s = 0.0 if args.no_baseline else build_baseline(args.docs, args.limit, base_dir)

    df, docs, dated = vocabulary(args.docs, args.limit, 2000, rng)
    headlines = []
    if args.queries:
        with open(args.queries, encoding="utf-8") as f:
            headlines = [json.loads(line)["query"] for line in f if line.strip()]
    mixes = make_mixes(df, docs, dated, headlines, args.per_mix, rng)
    if args.semantic and "headline" in mixes:  # the same headlines, fused with their meaning (mode=auto)
        mixes["headline hybrid"] = [{**item, "mode": "auto"} for item in mixes["headline"]]

    opened = time.perf_counter()
    settings = Settings.load({"index": str(ours_dir), "semantic": int(args.semantic)})
    service = SearchService(settings)
    documents = service.health()["documents"]
    open_ms = (time.perf_counter() - opened) * 1000
    warmed = time.perf_counter()
    service.warm_up(background=False)  # what create_app starts in the background
    warm_ms = (time.perf_counter() - warmed) * 1000

    timeouts = [0]

    def ours(item: dict) -> object:
        if "suggest" in item:
            return service.suggest(item["suggest"], settings.suggest_limit)
        flt, facets = "", ()
        if item.get("source"):
            flt = f'source = "{item["source"]}" AND published >= {item["since"]}'
            facets = ("source", "published")
        try:
            request = SearchRequest(q=item["q"], per_page=10, filter=flt, facets=facets, mode=item.get("mode", "lexical"))
            return service.search(request).total
        except SearchTimeout:  # /search answers 503; counted, its time is in the figures
            timeouts[0] += 1
            return 0

    base = None if args.no_baseline else Baseline(base_dir)
    selected = {name: items for name, items in mixes.items() if not args.mix or any(m in name for m in args.mix)}
    rows = []
    for name, items in selected.items():
        for item in items[:5]:  # warm caches the same way for both
            ours(item)
            base and base(item)
        timeouts[0] = 0
        row = {"mix": name, "queries": len(items), "ours": timed(ours, items)}
        row["ours"]["timeouts"] = timeouts[0]
        if base:
            row["baseline"] = timed(base, items)
        rows.append(row)
    if args.profile:
        profile(ours, [item for name, items in selected.items() if args.profile in name for item in items])

    result = {"documents": documents, "index_open_ms": round(open_ms, 1), "warm_up_ms": round(warm_ms),
              "build_s": round(build_s, 1),
              "baseline_build_s": round(base_build_s, 1), "mixes": rows}
    if args.http:
        result["http"] = run_http(args, ours_dir, None if args.no_baseline else base_dir, mixes)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{documents} documents; index open {open_ms:.0f} ms, then a background warm-up of {warm_ms:.0f} ms "
          f"(here in the foreground); built in {build_s:.0f} s (0 = reused)")
    head = f"{'mix':<20} {'n':>4} | {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'q/s':>6}"
    print(head + (" | baseline p50     p95     p99     q/s | p50 ratio p99 ratio" if base else ""))
    for row in rows:
        o = row["ours"]
        line = f"{row['mix']:<20} {row['queries']:>4} | {o['p50']:7.2f} {o['p95']:7.2f} {o['p99']:7.2f} {o['max']:7.1f} {o['qps']:6.0f}"
        if base:
            b = row["baseline"]
            line += (f" |   {b['p50']:7.2f} {b['p95']:7.2f} {b['p99']:7.2f} {b['qps']:6.0f} |"
                     f" {o['p50'] / b['p50']:8.2f}x {o['p99'] / b['p99']:8.2f}x")
        print(line)
    print("(milliseconds per request, single thread, in-process, snippets included; ratio < 1: ours faster)")
    stopped = {row["mix"]: row["ours"]["timeouts"] for row in rows if row["ours"]["timeouts"]}
    if stopped:
        print(f"searches stopped by the {settings.query_time_limit:g} s time limit (503): {stopped}")
    if args.http:
        print_http(result["http"])
    return 0


def timed(run: Callable[[dict], object], items: list[dict]) -> dict[str, float]:
    times = []
    for item in items:
        started = time.perf_counter()
        run(item)
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def profile(run: Callable[[dict], object], items: list[dict]) -> None:
    """Where our time goes on ``items``: the top functions by cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        run(item)
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    sys.exit(main())
