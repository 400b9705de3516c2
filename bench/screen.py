"""Ranking screen: try ranking ideas on a whole query set in seconds, before building them.

    python bench/screen.py --docs DOCS.jsonl[.gz] [--docs MORE …] --queries QUERIES.jsonl \
        [--blank-title-of DOCS.jsonl] [--max-docs N] [--limit N] [--screen NAME …]

``bench/eval.py`` measures the product as users feel it, but one run over
55,737 documents and 1,500 headlines takes many minutes, too slow to sweep
BM25 parameters or to try a new field. This screen analyses every document
once with the product's :class:`~search.analysis.Analyzer`, keeps the postings
in memory (NumPy arrays) and scores each query as the product's long-query
mode does (any of the query's words, stop words dropped) with BM25 as Whoosh
computes it (its idf, per-field sums), so a configuration costs about a second.
It is a screen, not the measure: what it finds must then be built and
confirmed through ``bench/eval.py`` (on covid-news it lands within 0.002
MRR@10 of the product). Each screen adds extra fields to the body's score:

- ``lead``: the body's first N words again (``lead50``; ``lead50-decay``:
  an occurrence weighs 1 - position/N), the product's lead field;
- ``exact``: the unstemmed (normalised) words, beside the stemmed ones;
- ``bigram``: pairs of consecutive non-stop terms;
- ``trunc4``: every term cut to its first 4 letters (prefix truncation);
- ``stops``: the query's stop words too, at a small weight.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval import load_queries, read_docs  # noqa: E402  (bench/eval.py: the same readers)
from search.analysis import AnalysisOptions, Analyzer  # noqa: E402
from search.documents import Record  # noqa: E402

#: A document as the screen keeps it: stemmed terms, stop flags, unstemmed forms.
Doc = tuple[list[str], list[bool], list[str]]
Keys = Callable[[Doc], Sequence[str]]


class Field:
    """Postings of one derived field: term -> (doc numbers, weights), and field lengths."""

    def __init__(self, docs: Sequence[Doc], keys: Keys, weight: Callable[[int], float] | None = None) -> None:
        grouped: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        self.lengths = np.zeros(len(docs))
        for n, doc in enumerate(docs):
            counts: dict[str, float] = defaultdict(float)
            terms = keys(doc)
            self.lengths[n] = len(terms)
            for pos, term in enumerate(terms):
                counts[term] += weight(pos) if weight else 1.0
            for term, tf in counts.items():
                grouped[term][0].append(n)
                grouped[term][1].append(tf)
        self.postings = {t: (np.array(d, dtype=np.int32), np.array(w)) for t, (d, w) in grouped.items()}

    def add_scores(self, scores: np.ndarray, terms: Iterable[str], k1: float, b: float, boost: float) -> None:
        """Add BM25 (Whoosh's idf: log(N / (df + 1)) + 1) of ``terms`` in this field, times ``boost``."""
        count = len(self.lengths)
        norm = k1 * (1 - b + b * self.lengths / max(self.lengths.mean(), 1e-9))
        for term in terms:
            found = self.postings.get(term)
            if found is None:
                continue
            docs, tf = found
            idf = math.log(count / (len(docs) + 1)) + 1
            scores[docs] += boost * idf * tf * (k1 + 1) / (tf + norm[docs])


def _non_stop(doc: Doc) -> list[str]:
    return [t for t, stop in zip(doc[0], doc[1]) if not stop]


FIELDS: dict[str, Callable[[], tuple[Keys, Callable[[int], float] | None]]] = {
    "body": lambda: (lambda d: d[0], None),
    "lead50": lambda: (lambda d: d[0][:50], None),
    "lead50-decay": lambda: (lambda d: d[0][:50], lambda pos: 1 - pos / 50),
    "exact": lambda: (lambda d: d[2], None),
    "bigram": lambda: (lambda d: [f"{a} {c}" for a, c in zip(_non_stop(d), _non_stop(d)[1:])], None),
    "trunc4": lambda: (lambda d: [t[:4] for t in d[0]], None),
}

#: name -> (k1, b, [(field, boost), …], stop-word boost)
SCREENS: dict[str, tuple[float, float, list[tuple[str, float]], float]] = {
    "bm25 k1=1.2 b=0.75 (Whoosh default)": (1.2, 0.75, [], 0.0),
    "bm25 k1=0.9 b=0.75": (0.9, 0.75, [], 0.0),
    "bm25 k1=0.5 b=0.75": (0.5, 0.75, [], 0.0),
    "bm25 k1=0.5 b=0.9": (0.5, 0.9, [], 0.0),
    "+ lead50 0.3": (0.5, 0.9, [("lead50", 0.3)], 0.0),
    "+ lead50-decay 0.35 (product)": (0.5, 0.9, [("lead50-decay", 0.35)], 0.0),
    "product + exact 0.2": (0.5, 0.9, [("lead50-decay", 0.35), ("exact", 0.2)], 0.0),
    "product + bigram 0.2": (0.5, 0.9, [("lead50-decay", 0.35), ("bigram", 0.2)], 0.0),
    "product + trunc4 0.1": (0.5, 0.9, [("lead50-decay", 0.35), ("trunc4", 0.1)], 0.0),
    "product + stop words 0.1": (0.5, 0.9, [("lead50-decay", 0.35)], 0.1),
}


@functools.cache
def analyzers() -> tuple[Analyzer, Analyzer]:
    """The product's analyzer, and the same without stemming or folding (the exact forms)."""
    return Analyzer(), Analyzer(AnalysisOptions(stem=False, fold_vowels=False))


def analyse(records: Iterable[Any]) -> tuple[list[str], list[Doc]]:
    """Ids and analysed bodies (title + body) of the records, with the product's analyzer."""
    analyzer, unstemmed = analyzers()
    ids, docs = [], []
    for record in records:
        if not isinstance(record, Record):
            continue
        tokens = list(analyzer.tokens(f"{record.title}\n{record.body}" if record.title else record.body))
        ids.append(record.id)
        docs.append(([t.term for t in tokens], [t.stop for t in tokens], [unstemmed.word(t.text)[0] for t in tokens]))
    return ids, docs


def run(ids: list[str], docs: list[Doc], queries: list[dict[str, Any]], names: Sequence[str]) -> dict[str, dict[str, float]]:
    """MRR@10 / R@1 / R@10 / R@100 of each named screen."""
    analyzer, unstemmed = analyzers()
    number = {doc_id: n for n, doc_id in enumerate(ids)}
    wanted = {f for name in names for f, _ in SCREENS[name][2]} | {"body"}
    fields = {name: Field(docs, *FIELDS[name]()) for name in sorted(wanted)}
    body_field = fields["body"]
    parsed = []
    for q in queries:
        tokens = list(analyzer.tokens(q["query"]))
        words = [t.term for t in tokens if not t.stop]
        by_field = {
            "exact": [unstemmed.word(t.text)[0] for t in tokens if not t.stop],
            "bigram": [f"{a} {c}" for a, c in zip(words, words[1:])],
            "trunc4": [t[:4] for t in words],
        }
        relevant = [number[r] for r in q["relevant"] if r in number]
        parsed.append((words, by_field, [t.term for t in tokens if t.stop], relevant))
    results = {}
    for name in names:
        k1, b, extra, stop_boost = SCREENS[name]
        rr = r1 = r10 = r100 = 0.0
        for words, by_field, stops, relevant in parsed:
            scores = np.zeros(len(docs))
            body_field.add_scores(scores, words, k1, b, 1.0)
            for field, boost in extra:
                fields[field].add_scores(scores, by_field.get(field, words), k1, b, boost)
            if stop_boost:
                body_field.add_scores(scores, stops, k1, b, stop_boost)
            ranks = [int((scores > scores[r]).sum()) + 1 for r in relevant if scores[r] > 0]
            best = min(ranks, default=10**9)
            rr += 1 / best if best <= 10 else 0.0
            r1, r10, r100 = r1 + (best <= 1), r10 + (best <= 10), r100 + (best <= 100)
        n = max(len(parsed), 1)
        results[name] = {"MRR@10": rr / n, "R@1": r1 / n, "R@10": r10 / n, "R@100": r100 / n}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", action="append", required=True, metavar="FILE")
    parser.add_argument("--queries", required=True, metavar="FILE")
    parser.add_argument("--blank-title", action="store_true", help="empty every title before indexing")
    parser.add_argument("--blank-title-of", action="append", default=[], metavar="FILE",
                        help="empty the titles of this --docs file only (as bench/eval.py); repeatable")
    parser.add_argument("--max-docs", type=int, help="only the first N documents of each --docs file")
    parser.add_argument("--limit", type=int, help="only the first N queries")
    parser.add_argument("--screen", action="append", choices=list(SCREENS), help="screens to run (default: all)")
    args = parser.parse_args(argv)
    if not set(args.blank_title_of) <= set(args.docs):
        parser.error("--blank-title-of names a file that is not one of the --docs files")
    blanked = True if args.blank_title else args.blank_title_of
    ids, docs = analyse(read_docs(args.docs, blank_title=blanked, max_docs=args.max_docs))
    queries = load_queries(args.queries, args.limit)
    results = run(ids, docs, queries, args.screen or list(SCREENS))
    print(f"# {len(docs)} documents, {len(queries)} queries (any word, stop words dropped, Whoosh's BM25 idf)")
    print("| screen | MRR@10 | R@1 | R@10 | R@100 |")
    print("|---|---|---|---|---|")
    for name, row in results.items():
        print(f"| {name} | " + " | ".join(f"{row[k]:.3f}" for k in ("MRR@10", "R@1", "R@10", "R@100")) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
