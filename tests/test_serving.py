"""Production serving: gunicorn with two workers answers searches over loopback
while an ingest commits, and every worker picks up the new documents."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import ROOT, gunicorn, http_get, write_jsonl

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, dict]:
    return http_get(url)


@pytest.fixture
def served_index(sample_index: str, tmp_path: Path):
    """A writable copy of the sample index, served by gunicorn -w 2."""
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    with gunicorn(index, tmp_path / "gunicorn.log") as base:
        yield base, index


def test_two_workers_answer_while_an_ingest_commits(served_index, tmp_path, run_ingest):
    base, index = served_index
    new_docs = [
        {"id": f"g{i:03d}", "title": f"गुनिकॉर्न परीक्षण समाचार {i}", "body": "नया लेख जो चलते सर्वर में जुड़ता है।" * 20,
         "source": "Test Wire", "category": "takneek", "published": "2026-11-01"}
        for i in range(400)
    ]
    feed = write_jsonl(tmp_path / "new.jsonl", new_docs)
    ingest = subprocess.Popen(
        [sys.executable, str(ROOT / "ingest.py"), "--index", str(index), "--quiet", str(feed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    statuses: list[int] = []
    query = base + "/search?" + urllib.parse.urlencode({"q": "परीक्षण OR किसान", "facets": "source"})
    while ingest.poll() is None:  # search all through the ingest
        status, body = _get(query)
        statuses.append(status)
        assert status == 200, body
    out, err = ingest.communicate()
    assert ingest.returncode == 0, err
    assert statuses and set(statuses) == {200}
    # Every worker sees the commit: ask until 20 answers in a row show all of it.
    in_a_row, deadline = 0, time.monotonic() + 60
    while in_a_row < 20:
        assert time.monotonic() < deadline, "a worker never saw the new documents"
        status, body = _get(query)
        assert status == 200
        in_a_row = in_a_row + 1 if body["facets"]["source"].get("Test Wire") == len(new_docs) else 0
    status, stats = _get(base + "/stats")
    assert stats["documents"] == 60 + len(new_docs) and stats["sources"]["Test Wire"] == len(new_docs)
    # The vocabulary behind /suggest is reloaded in the background once a worker
    # notices the commit: every worker offers the new word soon after.
    in_a_row, deadline = 0, time.monotonic() + 60
    while in_a_row < 10:
        assert time.monotonic() < deadline, "a worker never offered the new word"
        status, suggest = _get(base + "/suggest?" + urllib.parse.urlencode({"q": "गुनि"}))
        assert status == 200
        in_a_row = in_a_row + 1 if [c["text"] for c in suggest["completions"]] == ["गुनिकॉर्न"] else 0
        time.sleep(0.05)
    access = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line.startswith("{")]
    searches = [entry for entry in access if entry.get("path") == "/search"]
    assert len(searches) >= len(statuses) and {"query", "status", "took_ms", "hits", "total"} <= set(searches[-1])
