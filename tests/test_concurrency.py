"""Searches in several threads and processes while an ingest commits again and again:
no errors, and every answer shows one committed state, never a mixture.

How a mixture would show: the ingest commits every ``BATCH`` documents, and every
document of batch k has the source ``batch-k`` and the word ``genmark``. So in any
one committed state each source has 0 or ``BATCH`` documents and ``genmark`` is
found in a multiple of ``BATCH``; an answer with a part of a batch, or facet counts
that do not add up to its total, would have seen a half-applied commit. A second
ingest then replaces every document (a delete and an add in the same commit): the
number of ``genmark`` documents must never move, and the replaced ones
(``updmark``) must come in whole batches.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, gunicorn, http_get, write_jsonl

from search import SearchRequest, SearchService, Settings, ingest, read_inputs

pytestmark = pytest.mark.slow

BATCH, BATCHES = 200, 8  # over 1,000 documents, so the ingest's worker processes take part
TOTAL = BATCH * BATCHES


def _docs(updated: bool) -> list[dict]:
    mark = " updmark" if updated else ""
    return [
        {"id": f"c{n}", "title": f"समाचार {n}{mark}", "source": f"batch-{n // BATCH:02d}",
         "body": f"genmark भारत के किसान और मौसम की खबर {n}।{mark}"}
        for n in range(TOTAL)
    ]


def _check(answer: dict, word: str, expected_total: int | None) -> None:
    total = answer["total"]
    sources = answer["facets"]["source"]
    assert total % BATCH == 0, f"{word}: {total} documents is not whole batches"
    assert sum(sources.values()) == total, f"{word}: facets {sources} do not add up to {total}"
    assert set(sources.values()) <= {BATCH}, f"{word}: a batch is partly visible: {sources}"
    if expected_total is not None:
        assert total == expected_total, f"{word}: {total} documents, expected {expected_total}"


def test_searches_see_whole_commits_only(tmp_path: Path, run_ingest):
    index = tmp_path / "ix"
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"id": "seed", "title": "आरंभ", "body": "पहला लेख"}])
    ingest(read_inputs([str(seed)]), str(index))
    adds = write_jsonl(tmp_path / "adds.jsonl", _docs(updated=False))
    updates = write_jsonl(tmp_path / "updates.jsonl", _docs(updated=True))

    phase = {"name": "adds"}  # which invariant holds right now
    answers: Counter[str] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def check(answer: dict, word: str) -> None:
        expected = TOTAL if (word == "genmark" and phase["name"] == "updates") else None
        _check(answer, word, expected)

    def http_searcher(base: str) -> None:
        while not stop.is_set():
            for word in ("genmark", "updmark"):
                url = base + "/search?" + urllib.parse.urlencode({"q": word, "facets": "source", "per_page": 5})
                try:
                    status, body = http_get(url)
                    assert status == 200, body
                    check(body, word)
                    answers["http"] += 1
                except Exception as exc:  # collected, reported at the end
                    failures.append(f"http {word}: {exc!r}")
            time.sleep(0.01)  # leave the 2 cores some time for the ingest

    def service_searcher() -> None:
        service = SearchService(Settings.load({"index": str(index), "refresh_seconds": 0}))
        while not stop.is_set():
            for word in ("genmark", "updmark"):
                try:
                    response = service.search(SearchRequest(q=word, facets=("source",), per_page=5))
                    check({"total": response.total, "facets": response.facets}, word)
                    answers["thread"] += 1
                except Exception as exc:
                    failures.append(f"thread {word}: {exc!r}")
            time.sleep(0.01)

    with gunicorn(index, tmp_path / "gunicorn.log", SEARCH_REFRESH_SECONDS="0") as base:
        threads = [threading.Thread(target=http_searcher, args=(base,)) for _ in range(3)]
        threads += [threading.Thread(target=service_searcher) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            for name, data in (("adds", adds), ("updates", updates)):
                phase["name"] = name
                result = subprocess.run(
                    [sys.executable, str(ROOT / "ingest.py"), "--index", str(index), "--json",
                     "--batch-size", str(BATCH), "--procs", "2", str(data)],
                    capture_output=True, text=True, timeout=600,
                )
                assert result.returncode == 0, result.stderr
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        status, final = http_get(base + "/search?" + urllib.parse.urlencode({"q": "updmark", "facets": "source"}))
    print(f"concurrency: {sum(answers.values())} answers checked ({dict(answers)}), {len(failures)} failures")
    assert not failures, failures[:5]
    assert answers["http"] > 20 and answers["thread"] > 20
    assert status == 200 and final["total"] == TOTAL


def test_a_flood_of_expensive_queries_does_not_stop_cheap_ones(tmp_path: Path):
    """Bounded load on loopback (the shipped configuration: gunicorn -c python:search.serving,
    2 workers of 4 threads): 20 clients send the most expensive queries the limits allow,
    back to back; a cheap query must still be answered every time (within a generous
    liveness timeout: no timing thresholds), and admission control must have refused
    part of the flood (503 busy). ``bench/load.py`` measures the latencies."""
    from conftest import _GLUE, _WORDS, hindi_docs

    index = tmp_path / "ix"
    ingest(read_inputs([str(write_jsonl(tmp_path / "docs.jsonl", hindi_docs(4000)))]), str(index))
    words = _WORDS + _GLUE
    prefixes = [c + v for c in "कखगचजतदनपबमरलवसह" for v in "ािीुेो"]
    expensive = [
        {"q": " OR ".join(words[:64]), "facets": "source,category,published", "per_page": 100},
        {"q": " OR ".join(words[:40]), "page": 1000, "per_page": 100, "sort": "-published"},
        {"q": " OR ".join(w[:2] + "*" for w in _WORDS[:30]), "facets": "source,published", "per_page": 100},
        {"q": " ".join(f'"{a} {b}"' for a, b in zip(words[::2], words[1::2]))[:1000], "snippets": 5, "snippet_chars": 2000},
        {"q": " ".join(p + "*" for p in prefixes), "facets": "source"},
        {"q": f"{words[0]} OR -{words[1]} -{words[2]}", "facets": "source,category,published"},
    ]
    cheap = {"q": "1234"}  # the title of one document
    stop = threading.Event()
    flood_statuses: Counter[str] = Counter()

    with gunicorn(index, tmp_path / "gunicorn.log", threads=4, config="python:search.serving",
                  SEARCH_LOG_QUERIES="none") as base:

        def flood(n: int) -> None:
            while not stop.is_set():
                query = expensive[n % len(expensive)]
                try:
                    status, body = http_get(base + "/search?" + urllib.parse.urlencode(query), timeout=120)
                    flood_statuses[f"{status} {body.get('error', '')}".strip()] += 1
                except OSError:
                    flood_statuses["0"] += 1
                n += 1

        flooders = [threading.Thread(target=flood, args=(n,)) for n in range(20)]
        for t in flooders:
            t.start()
        cheap_statuses: Counter[int] = Counter()
        try:
            time.sleep(1)
            for _ in range(15):
                status, body = http_get(base + "/search?" + urllib.parse.urlencode(cheap), timeout=60)
                cheap_statuses[status] += 1
                assert status == 200 and [h["id"] for h in body["hits"]] == ["syn-1234"]
        finally:
            stop.set()
            for t in flooders:
                t.join(timeout=120)
    print(f"load: cheap answers {dict(cheap_statuses)} while the flood got {dict(flood_statuses)}")
    assert cheap_statuses == {200: 15}
    assert not set(flood_statuses) - {"200", "503 busy", "503 timeout"}
    assert flood_statuses["503 busy"] > 0  # admission control refused part of the flood
