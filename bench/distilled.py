"""Distilled word vectors as a cheaper path to hybrid search (issue 18's question).

model2vec's idea: embed each word of the index's vocabulary once with the
model, and make a document's vector the idf-weighted mean of its words'
vectors: microseconds a document instead of ~100 ms. Queries are still
embedded by the model (one call a query, the product's path). This script
writes such vectors into a *copy* of an evaluation index (under the product
model's name, so the service uses them as it would its own), for
``bench/eval.py --variant semantic`` to measure against the real passages:

    python bench/eval.py --docs $D/covid-news/docs.jsonl --queries $D/covid-news/queries.dev.jsonl \\
        --blank-title-of $D/covid-news/docs.jsonl --variant semantic --cache /tmp/real   # embeds passages
    cp -r /tmp/real /tmp/distilled
    python bench/distilled.py /tmp/distilled/index-*                                    # replaces them
    python bench/eval.py ... --variant semantic --cache /tmp/distilled --no-default

Figures: docs/relevance.md ("Distilled word vectors").
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from search.analysis import Analyzer, words  # noqa: E402
from search.embedding import E5Embedder, embed_index  # noqa: E402
from search.engine import open_index  # noqa: E402
from search.vocabulary import Vocabulary  # noqa: E402


class DistilledEmbedder:
    """Passages as the idf-weighted mean of their words' model vectors; queries by the model."""

    def __init__(self, inner: E5Embedder, vocabulary: Vocabulary, analyzer: Analyzer, min_documents: int) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim  # the product's name: the service reads these vectors
        self.analyzer = analyzer
        counts = vocabulary.documents()
        total = max(counts.values(), default=1)
        self.idf = {w: math.log(1 + total / n) for w, n in counts.items() if n >= min_documents}
        self.vectors: dict[str, np.ndarray] = {}
        self.model_seconds = 0.0

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.queries(texts)

    def passage_text(self, title: str, body: str) -> str:
        return f"{title}\n{body}"  # every word: the whole document costs no more than its opening

    def _words(self, text: str) -> Counter:
        found: Counter = Counter()
        for surface in words(text):
            norm = self.analyzer.normalised(surface)
            if norm in self.idf:
                found[norm] += 1
        return found

    def passages(self, texts: list[str]) -> np.ndarray:
        bags = [self._words(text) for text in texts]
        missing = sorted({w for bag in bags for w in bag if w not in self.vectors})
        started = time.perf_counter()
        for i in range(0, len(missing), 256):
            chunk = missing[i : i + 256]
            for word, vector in zip(chunk, self.inner.passages(chunk)):
                self.vectors[word] = vector
        self.model_seconds += time.perf_counter() - started
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, bag in enumerate(bags):
            for word, n in bag.items():
                out[row] += self.idf[word] * math.sqrt(n) * self.vectors[word]
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", help="an index directory whose vectors are replaced (work on a copy)")
    parser.add_argument("--min-documents", type=int, default=2, help="words in fewer documents get no vector (default 2)")
    args = parser.parse_args(argv)
    index = open_index(args.index)
    vocabulary = Vocabulary.load(args.index, index.analyzer)
    assert vocabulary is not None, "the index has no vocabulary file"
    inner = E5Embedder(threads=2)
    embedder = DistilledEmbedder(inner, vocabulary, index.analyzer, args.min_documents)
    store = os.path.join(args.index, "vectors")
    if os.path.isdir(store):
        for name in os.listdir(store):
            if name != "lock":
                os.remove(os.path.join(store, name))
    started = time.perf_counter()
    report = embed_index(index, embedder, batch=512)
    seconds = time.perf_counter() - started
    index.close()
    print(f"{report.embedded:,} documents from {len(embedder.vectors):,} word vectors "
          f"({len(embedder.idf):,} words in >= {args.min_documents} documents) in {seconds:.1f} s, "
          f"{embedder.model_seconds:.1f} s of it the model: "
          f"{(seconds - embedder.model_seconds) / max(report.embedded, 1) * 1e6:.0f} µs a document besides")
    return 0


if __name__ == "__main__":
    sys.exit(main())
