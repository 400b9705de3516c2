"""What the search-box helpers cost, beside baselines measured in the same run.

    python bench/suggest.py [--docs N] [DOCS.jsonl[.gz] ...]

Default input: ../shared/data/covid-news/docs.jsonl (2,769 stories) and
hindi-lit; at most N (default 20000) documents are read from each input. Prints:

* ingest time, and the part of it spent counting the surface vocabulary
  (measured by recounting the same documents), the side file's size and load time;
* per-keystroke /suggest latency for prefixes of common words, beside the
  /search latency for the same full words (the baseline a search box already pays);
* did-you-mean latency for misspelt queries, beside the search of the correct word.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import logging  # noqa: E402

from search import create_app, ingest  # noqa: E402
from search.documents import read_jsonl  # noqa: E402
from search.engine import SearchIndex  # noqa: E402
from search.vocabulary import VOCABULARY_FILE, Vocabulary  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
WORDS = ["भारत", "सरकार", "कोरोना", "किसान", "अस्पताल", "मजदूर", "स्वास्थ्य", "प्रधानमंत्री"]
MISSPELT = {"सरकर": "सरकार", "किसन": "किसान", "असपताल": "अस्पताल", "मजदुर": "मजदूर", "कोरोन": "कोरोना"}


def records(paths: list[str], limit: int):
    for path in paths:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as stream:
            yield from itertools.islice(read_jsonl(stream, path), limit)


def timed(fn, repeat: int = 5) -> float:
    """Median milliseconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("inputs", nargs="*")
    parser.add_argument("--docs", type=int, default=20000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # keep the access log off the figures
    inputs = args.inputs or [str(DATA / "covid-news" / "docs.jsonl"), str(DATA / "hindi-lit" / "docs.jsonl.gz")]
    with tempfile.TemporaryDirectory() as index_dir:
        report = ingest(records(inputs, args.docs), index_dir)
        index = SearchIndex.open(index_dir)
        started = time.perf_counter()
        vocabulary = Vocabulary.from_documents(index.analyzer, index.iter_stored())
        recount = time.perf_counter() - started
        size = os.path.getsize(os.path.join(index_dir, VOCABULARY_FILE))
        load_ms = timed(lambda: Vocabulary.load(index_dir, index.analyzer), 3)
        print(f"documents {report.read}, ingest {report.seconds:.1f} s; counting the vocabulary "
              f"(recount of the stored docs) {recount:.1f} s = {100 * recount / report.seconds:.0f}% of ingest")
        print(f"vocabulary: {len(vocabulary)} words, side file {size / 1e6:.1f} MB, load {load_ms:.0f} ms "
              f"(index {index.files()['index_bytes'] / 1e6:.0f} MB)")
        client = create_app({"index": index_dir, "refresh_seconds": 3600}).test_client()
        client.get("/suggest?q=क")  # load the vocabulary once, as a running server has
        print(f"{'word':<14}{'search ms':>10}  suggest ms per keystroke")
        for word in WORDS:
            base = timed(lambda: client.get("/search", query_string={"q": word}))
            keys = [timed(lambda: client.get("/suggest", query_string={"q": word[:n]})) for n in range(1, len(word) + 1)]
            print(f"{word:<14}{base:>10.1f}  " + " ".join(f"{k:.1f}" for k in keys))
        print(f"{'misspelt':<14}{'search ms':>10}  {'with did-you-mean ms':>20}  suggestion")
        for wrong, right in MISSPELT.items():
            base = timed(lambda: client.get("/search", query_string={"q": right}))
            answer = client.get("/search", query_string={"q": wrong}).get_json()
            spent = timed(lambda: client.get("/search", query_string={"q": wrong}))
            print(f"{wrong:<14}{base:>10.1f}  {spent:>20.1f}  {answer['suggestion']} (total {answer['total']})")
        index.close()


if __name__ == "__main__":
    main()
