#!/usr/bin/env python3
"""The cost of hybrid search's parts: nearest documents by one matrix product, and
embedding queries and passages with the model.

    python bench/vectors.py [--rows 55737 --rows 500000] [--queries 50] [--no-model]

For each row count, a vector store of random unit vectors is written through
``search.vectors`` and searched with :meth:`VectorView.nearest` (float32 copy,
one matrix product, top 100), beside the baseline of multiplying the
memory-mapped float16 rows directly (what a store without the copy would do).
Then, unless ``--no-model``, the model (``--threads``) embeds ``--queries``
headline-length queries one at a time (what a hybrid search pays) and passages
of 128 tokens, eight at a time. Times are medians in ms; the machines are shared, so
compare the ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from search.vectors import VectorStore  # noqa: E402
from suggest import timed  # noqa: E402 - median ms of repeated calls

DIM = 384
#: A headline-length query and a passage-length text, written for this benchmark.
QUERY = "राज्य में बारिश से फसलें बर्बाद, किसानों ने मुआवजे की मांग की"
PASSAGE = ("जिले के कई गांवों में रात भर हुई तेज बारिश और ओलावृष्टि से गेहूं और सरसों की खड़ी फसलें खेतों में बिछ गईं। "
           "किसानों का कहना है कि कटाई से ठीक पहले हुए इस नुकसान की भरपाई के बिना वे अगली बुवाई नहीं कर पाएंगे। ") * 3


def nearest(rows: int, repeat: int) -> dict[str, float]:
    rng = np.random.default_rng(rows)
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as tmp:
        store = VectorStore(tmp)
        with store.writer("bench", DIM) as writer:
            for start in range(0, rows, 50_000):
                n = min(50_000, rows - start)
                block = rng.normal(size=(n, DIM)).astype(np.float32)
                block /= np.linalg.norm(block, axis=1, keepdims=True)
                writer.add([(f"d{start + i}", "h") for i in range(n)], block)
                writer.commit()
        view = store.view()
        query = rng.normal(size=DIM).astype(np.float32)
        query /= np.linalg.norm(query)
        started = time.perf_counter()
        view.matrix()
        copy_ms = (time.perf_counter() - started) * 1000
        ours = timed(lambda: view.nearest(query, 100), repeat)
        half = query.astype(np.float16)
        base = timed(lambda: np.argpartition(-(view.data @ half), 99)[:100], max(3, repeat // 5))
        return {"rows": rows, "nearest_ms": ours, "float16_ms": base, "copy_ms": copy_ms,
                "store_mb": rows * DIM * 2 / 2**20, "copy_mb": rows * DIM * 4 / 2**20}


def model(queries: int, threads: int) -> dict[str, float]:
    """Query and passage times with ``threads`` threads (OpenMP fixes the count when the
    engine first loads in a process: another count needs another process)."""
    from search.embedding import E5Embedder

    embedder = E5Embedder(threads=threads)
    passage = embedder.passage_text("", PASSAGE)
    embedder.queries([QUERY])
    return {
        "passage_tokens": embedder._model.token_count(passage),
        "query": timed(lambda: embedder.queries([QUERY]), queries),
        "passage": timed(lambda: embedder.passages([passage] * 8), 3) / 8,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="vectors in the store (repeatable; default 55737)")
    parser.add_argument("--repeat", type=int, default=30, help="searches timed per row count")
    parser.add_argument("--queries", type=int, default=50, help="query embeddings timed")
    parser.add_argument("--no-model", action="store_true", help="skip the model's timings")
    parser.add_argument("--threads", type=int, default=2, help="the model's threads (default 2, as SEARCH_SEMANTIC_THREADS)")
    args = parser.parse_args(argv)
    print(f"{'rows':>9} | {'nearest':>8} {'float16':>8} {'ratio':>6} | {'copy once':>9} {'store MB':>8} {'copy MB':>8}")
    for rows in args.rows or [55_737]:
        r = nearest(rows, args.repeat)
        print(f"{r['rows']:>9,} | {r['nearest_ms']:8.2f} {r['float16_ms']:8.1f} {r['nearest_ms'] / r['float16_ms']:6.3f} |"
              f" {r['copy_ms']:9.0f} {r['store_mb']:8.0f} {r['copy_mb']:8.0f}")
    print("(ms: top 100 by one float32 matrix product, against multiplying the float16 rows as stored; "
          "the float32 copy is made once per commit)")
    if not args.no_model:
        m = model(args.queries, args.threads)
        print(f"model, {args.threads} thread(s): a query {m['query']:.1f} ms, a passage of {m['passage_tokens']} tokens "
              f"{m['passage']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
