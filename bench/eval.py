#!/usr/bin/env python3
"""Relevance evaluation: index documents, run queries as /search runs them, score.

    python bench/eval.py --docs DOCS.jsonl[.gz] [--docs MORE.jsonl ...] \\
        --queries QUERIES.jsonl [--blank-title-of DOCS.jsonl] [--variant NAME ...] [--json]

Each configuration's index is built in a temporary directory through the
product's own ingest (``search.indexing.ingest`` over ``read_jsonl`` records,
as ``ingest.py`` does), and every query goes through
``SearchService.ranked_ids``, which shares parsing and ranking with
``/search``: what is measured here is what users get.

A *variant* is a named configuration: analysis options (``no-stem``,
``no-normalise``, ``no-stop``, ...), ranking settings (``Settings`` fields) or
both, given by a preset name or as ``key=value,key=value`` (any
``AnalysisOptions`` or ``Settings`` field, e.g. ``bm25_k1=1.5,title_boost=3``).
Variants sharing analysis options share one index build. The product's
default configuration is always measured first, as the baseline.

Known-item queries made of headlines need their own titles blanked
(``--blank-title-of`` the file they come from); every other collection keeps
the titles users have (``--blank-title`` blanks every file's: the figures it
gives are too kind, a work's name repeated over its passages distracts).

``--variant semantic`` (with weights: ``semantic,semantic_weight=0.4``) embeds
the index first through ``hindi-search embed``'s code path, answering passages
embedded by an earlier run from ``--embed-cache`` (bench/embedcache.py), then
measures hybrid search as /search runs it.

``--spelling-variants`` also runs every query rewritten by
``bench/variants.py`` (every kind of spelling variation at once, seeded per
query) and reports MRR@10 before and after.

Metrics, over the ranked top 100: MRR@10, Recall@1/10/100 (share of the
relevant documents found), nDCG@10 (binary gains), the number of queries with
no result at all, and query time (median and 95th percentile, ms).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Iterable, Iterator, Sequence, Union

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search.analysis import ANALYSIS_VERSION, AnalysisOptions  # noqa: E402
from search.config import Settings  # noqa: E402
from search.documents import Record, Reject, read_jsonl  # noqa: E402
from search.indexing import ingest  # noqa: E402
from search.querying import QueryError  # noqa: E402
from search.searching import SearchService, SearchTimeout  # noqa: E402
import variants as spelling  # noqa: E402
from embedcache import embed_with_cache  # noqa: E402

#: Ranked results asked for per query (the deepest cut-off scored).
DEPTH = 100

#: Named configurations: (analysis option overrides, settings overrides).
PRESETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "default": ({}, {}),
    "no-stem": ({"stem": False}, {}),
    "no-normalise": ({"normalise": False}, {}),
    "no-fold": ({"fold_vowels": False}, {}),
    "snowball": ({"stemmer": "snowball"}, {}),
    "no-stop": ({"stop": False}, {}),
    "bare": ({"normalise": False, "stem": False, "fold_vowels": False}, {}),
    "no-lead": ({}, {"lead_boost": 0.0}),
    "proximity": ({}, {"proximity_boost": 0.25}),
    "classic-bm25": ({}, {"bm25_k1": 1.2, "bm25_b": 0.75}),
    "any-word": ({}, {"all_words_max": 0}),
    "no-feedback": ({}, {"feedback_terms": 0}),
    # Hybrid search (search.fusion): the index embedded first (hindi-search embed's code
    # path, vectors from --embed-cache when the same passage was embedded before).
    "semantic": ({}, {"semantic": 1}),
}

#: Where passage vectors are kept between runs (see bench/embedcache.py).
DEFAULT_EMBED_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "hindi-search-bench", "vectors")

# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------


@dataclass
class QueryResult:
    """One query's ranked ids, its relevant ids and how long it took."""

    qid: str
    ranked: list[str]
    relevant: frozenset[str]
    ms: float
    error: str = ""


def reciprocal_rank(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """1/rank of the first relevant id within the top ``k``, else 0.

    >>> reciprocal_rank(["a", "b", "c"], {"b"})
    0.5
    >>> reciprocal_rank(["a", "b", "c"], {"c"}, k=2)
    0.0
    """
    wanted = set(relevant)
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in wanted:
            return 1.0 / rank
    return 0.0


def recall(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Share of the relevant ids found in the top ``k``.

    >>> recall(["a", "b", "c"], {"a", "c", "d", "e"}, 2)
    0.25
    """
    wanted = set(relevant)
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranked[:k])) / len(wanted)


def ndcg(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """nDCG@k with binary gains: 1/log2(rank+1) per relevant hit, over the ideal.

    >>> ndcg(["a", "b"], {"a"})
    1.0
    >>> round(ndcg(["x", "a"], {"a"}), 4)
    0.6309
    """
    wanted = set(relevant)
    dcg = sum(1.0 / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1) if doc in wanted)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(wanted), k) + 1))
    return dcg / ideal if ideal else 0.0


def score(results: Sequence[QueryResult]) -> dict[str, float]:
    """The summary figures of one run over a query set."""
    n = len(results)
    if not n:
        return {"queries": 0}
    times = sorted(r.ms for r in results)

    def mean(values: Iterable[float]) -> float:
        return round(sum(values) / n, 4)

    return {
        "MRR@10": mean(reciprocal_rank(r.ranked, r.relevant, 10) for r in results),
        "R@1": mean(recall(r.ranked, r.relevant, 1) for r in results),
        "R@10": mean(recall(r.ranked, r.relevant, 10) for r in results),
        "R@100": mean(recall(r.ranked, r.relevant, 100) for r in results),
        "nDCG@10": mean(ndcg(r.ranked, r.relevant, 10) for r in results),
        "zero": sum(1 for r in results if not r.ranked),
        "errors": sum(1 for r in results if r.error),
        "queries": n,
        "p50 ms": round(statistics.median(times), 1),
        "p95 ms": round(times[min(n - 1, int(0.95 * n))], 1),
    }


# --------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------

_OPTION_FIELDS = {f.name: f for f in dataclasses.fields(AnalysisOptions)}
_SETTING_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


@dataclass(frozen=True)
class Variant:
    """A named configuration: how documents are analysed and how queries are ranked."""

    name: str
    options: AnalysisOptions
    settings: tuple[tuple[str, Any], ...] = ()

    def service(self, index_dir: str) -> SearchService:
        """The /search service over ``index_dir`` with this variant's settings, warmed up as a
        server warms up before it answers (its lexicons read: else the first romanized
        query waits for them, past the time limit on a large index)."""
        service = SearchService(Settings.load({**dict(self.settings), "index": index_dir}, environ={}))
        service.warm_up(background=False)
        return service


def _value(kind: type, text: str) -> Any:
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"not a yes/no value: {text!r}")
    return kind(text)


def parse_variant(spec: str) -> Variant:
    """A preset name, or ``key=value,...`` over AnalysisOptions and Settings fields.

    >>> parse_variant("no-stem").options.stem
    False
    >>> v = parse_variant("stem=false,title_boost=3"); (v.options.stem, v.settings)
    (False, (('title_boost', 3.0),))
    >>> parse_variant("semantic,semantic_weight=0.4").settings
    (('semantic', 1), ('semantic_weight', 0.4))
    """
    if spec in PRESETS:
        option_values, setting_values = PRESETS[spec]
        return Variant(spec, AnalysisOptions(**option_values), tuple(sorted(setting_values.items())))
    option_values: dict[str, Any] = {}
    setting_values: dict[str, Any] = {}
    for part in spec.split(","):
        key, sep, text = part.partition("=")
        if not sep and part.strip() in PRESETS:  # a preset with more: semantic,semantic_weight=0.4
            option_values.update(PRESETS[part.strip()][0])
            setting_values.update(PRESETS[part.strip()][1])
            continue
        key = key.strip().replace("-", "_")
        if not sep:
            raise ValueError(f"variant {spec!r}: {part!r} is neither a preset ({', '.join(PRESETS)}) nor key=value")
        if key in _OPTION_FIELDS:
            option_values[key] = _value(type(_OPTION_FIELDS[key].default), text.strip())
        elif key in _SETTING_FIELDS and key != "index":
            setting_values[key] = _value(type(_SETTING_FIELDS[key].default), text.strip())
        else:
            raise ValueError(f"variant {spec!r}: unknown key {key!r}")
    return Variant(spec, AnalysisOptions(**option_values), tuple(sorted(setting_values.items())))


# --------------------------------------------------------------------------
# Index building
# --------------------------------------------------------------------------


def read_docs(
    paths: Sequence[str], *, blank_title: bool | Collection[str], max_docs: int | None
) -> Iterator[Union[Record, Reject]]:
    """Records from each file (``.jsonl`` or ``.jsonl.gz``) via the product's reader.

    ``blank_title``: the files whose titles are emptied (True: every file). Blank
    only the files whose titles are the queries: the other collections keep the
    titles users would have (a work's name over its ~100 passages distracts, and
    the figures must say so). With ``max_docs`` at most that many records are
    taken from *each* file, so a subset still mixes every collection.
    """
    blanked = set(paths) if blank_title is True else set(blank_title or ())
    for path in paths:
        blank_this = path in blanked
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", newline="") as stream:
            taken = 0
            for item in read_jsonl(stream, path):
                if isinstance(item, Record):
                    if max_docs is not None and taken >= max_docs:
                        break
                    taken += 1
                    if blank_this and item.title:
                        if not item.body:
                            continue  # a record with only a title has nothing left to find
                        item = dataclasses.replace(item, title="")
                yield item


def _index_key(paths: Sequence[str], options: AnalysisOptions, blank_title: Collection[str], max_docs: int | None) -> str:
    files = [(os.path.abspath(p), os.path.getsize(p), int(os.path.getmtime(p))) for p in paths]
    # (every file blanked keys as before: True)
    blanked: Any = True if set(blank_title) >= set(paths) else sorted(os.path.abspath(p) for p in blank_title)
    data = json.dumps([ANALYSIS_VERSION, options.as_dict(), blanked or False, max_docs, files], sort_keys=True)
    return hashlib.sha1(data.encode()).hexdigest()[:16]


def build_index(
    paths: Sequence[str],
    options: AnalysisOptions,
    *,
    blank_title: Collection[str],
    max_docs: int | None,
    workdir: str,
    reuse: bool,
    log: Any,
) -> str:
    """The index directory for these documents analysed with ``options``.

    Built through ``search.indexing.ingest``. With ``reuse`` (``--cache``), a
    complete index from an earlier run with the same files, options and
    analysis version is used as is.
    """
    path = os.path.join(workdir, "index-" + _index_key(paths, options, blank_title, max_docs))
    done = os.path.join(path, ".eval-complete")
    if reuse and os.path.exists(done):
        print(f"# reusing index {path} ({options.as_dict()})", file=log)
        return path
    if os.path.exists(path):
        shutil.rmtree(path)
    report = ingest(read_docs(paths, blank_title=blank_title, max_docs=max_docs), path, options=options)
    print(f"# indexed {options.as_dict()}: {report.summary()}", file=log)
    if report.rejected:
        print(f"# warning: {report.rejected} rejected records, e.g. {report.rejects[0].reason}", file=log)
    Path(done).write_text(json.dumps(report.as_dict()))
    return path


# --------------------------------------------------------------------------
# Running queries
# --------------------------------------------------------------------------


def load_queries(path: str, limit: int | None) -> list[dict[str, Any]]:
    """Query records ``{"qid", "query", "relevant"}``, the first ``limit`` of them."""
    opener = gzip.open if path.endswith(".gz") else open
    queries = []
    with opener(path, "rt", encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                queries.append(json.loads(line))
                if limit is not None and len(queries) >= limit:
                    break
    return queries


def rewrite_queries(
    queries: list[dict[str, Any]], kinds: Sequence[str] = spelling.KINDS, seed: int = 0
) -> list[dict[str, Any]]:
    """Every query rewritten with the given kinds of spelling variation at every
    opportunity, seeded per qid as ``bench/variants.py`` does."""
    return [
        {**q, "query": spelling.rewrite(q["query"], kinds, random.Random(f"{seed}\0{q['qid']}"), 1.0)}
        for q in queries
    ]


def run_queries(service: SearchService, queries: Sequence[dict[str, Any]]) -> list[QueryResult]:
    """Each query through ``SearchService.ranked_ids`` (the /search path), top 100."""
    results = []
    for q in queries:
        started = time.perf_counter()
        error = ""
        try:
            ranked = service.ranked_ids(q["query"], DEPTH)
        except (QueryError, SearchTimeout) as exc:  # the user would get a 400 / 503: no results
            ranked, error = [], str(exc)
        ms = (time.perf_counter() - started) * 1000
        results.append(QueryResult(q["qid"], ranked, frozenset(q["relevant"]), ms, error))
    return results


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

_COLUMNS = ("MRR@10", "R@1", "R@10", "R@100", "nDCG@10", "zero", "errors", "queries", "p50 ms", "p95 ms")


def table(rows: dict[str, dict[str, Any]], extra: Sequence[str] = ()) -> str:
    """Variants side by side, one row each, as a Markdown table."""
    columns = [c for c in (*_COLUMNS, *extra) if any(c in r for r in rows.values())]
    lines = [
        "| variant | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name, figures in rows.items():
        cells = []
        for c in columns:
            v = figures.get(c, "")
            cells.append(f"{v:.3f}" if isinstance(v, float) and c not in ("p50 ms", "p95 ms") else str(v))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", action="append", required=True, metavar="FILE",
                        help="documents, JSON Lines (.jsonl or .jsonl.gz); repeat for more files")
    parser.add_argument("--queries", required=True, metavar="FILE", help='{"qid", "query", "relevant"} JSON Lines')
    parser.add_argument("--blank-title", action="store_true",
                        help="empty every title before indexing (every file's: pessimistic, see --blank-title-of)")
    parser.add_argument("--blank-title-of", action="append", default=[], metavar="FILE",
                        help="empty the titles of this --docs file only (the one whose titles are the queries); repeatable")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME",
                        help=f"a preset ({', '.join(PRESETS)}) or key=value,... of AnalysisOptions/Settings; repeatable")
    parser.add_argument("--spelling-variants", action="store_true",
                        help="also run the queries rewritten with every kind of spelling variation")
    parser.add_argument("--seed", type=int, default=0, help="seed of the spelling rewrite (default 0)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N queries")
    parser.add_argument("--max-docs", type=int, metavar="N", help="only the first N documents of each --docs file")
    parser.add_argument("--cache", metavar="DIR",
                        help="keep indexes in DIR and reuse them across runs (default: a fresh temporary directory)")
    parser.add_argument("--no-default", action="store_true",
                        help="do not measure the product's default configuration first")
    parser.add_argument("--spelling-kinds", default=",".join(spelling.KINDS), metavar="K,K",
                        help="kinds of spelling variation for --spelling-variants (default: all at once)")
    parser.add_argument("--embed-cache", default=DEFAULT_EMBED_CACHE, metavar="DIR",
                        help=f"passage vectors kept between runs of semantic variants (default {DEFAULT_EMBED_CACHE})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)

    try:
        variants = [] if args.no_default else [parse_variant("default")]
        variants += [parse_variant(v) for v in args.variant if not (v == "default" and variants)]
        if not variants:
            parser.error("nothing to measure: give --variant with --no-default")
        kinds = [k for k in args.spelling_kinds.split(",") if k]
        spelling.rewrite("", kinds)  # raises ValueError on an unknown kind
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    for path in args.docs + [args.queries]:
        if not os.path.isfile(path):
            parser.error(f"no such file: {path}")
    for path in args.blank_title_of:
        if path not in args.docs:
            parser.error(f"--blank-title-of {path}: not one of the --docs files")
    blanked = list(args.docs) if args.blank_title else list(args.blank_title_of)

    queries = load_queries(args.queries, args.limit)
    rewritten = rewrite_queries(queries, kinds, args.seed) if args.spelling_variants else None
    log = sys.stderr
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="hindi-eval-") as tmp:
        workdir = args.cache or tmp
        os.makedirs(workdir, exist_ok=True)
        indexes: dict[AnalysisOptions, str] = {}
        for variant in variants:
            if variant.options not in indexes:
                indexes[variant.options] = build_index(
                    args.docs, variant.options, blank_title=blanked, max_docs=args.max_docs,
                    workdir=workdir, reuse=bool(args.cache), log=log,
                )
            if dict(variant.settings).get("semantic"):
                tokens = dict(variant.settings).get("embed_tokens", Settings.embed_tokens)
                embed_with_cache(indexes[variant.options], args.embed_cache, max_tokens=tokens, log=log)
            service = variant.service(indexes[variant.options])
            figures = score(run_queries(service, queries))
            if rewritten is not None:
                spelled = score(run_queries(service, rewritten))
                figures["MRR@10 spelled"] = spelled["MRR@10"]
                figures["MRR drop"] = round(figures["MRR@10"] - spelled["MRR@10"], 4)
            rows[variant.name] = figures
            service.index().close()
            print(f"# {variant.name}: {figures}", file=log, flush=True)

    if args.json:
        print(json.dumps({"docs": args.docs, "queries": args.queries, "blank_title": blanked,
                          "variants": rows}, ensure_ascii=False))
    else:
        print(table(rows, extra=("MRR@10 spelled", "MRR drop")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
