"""Production serving: gunicorn with two workers answers searches over loopback
while an ingest commits, and every worker picks up the new documents."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, write_jsonl

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def served_index(sample_index: str, tmp_path: Path):
    """A writable copy of the sample index, served by gunicorn -w 2."""
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    port = _free_port()
    env = {**os.environ, "SEARCH_INDEX": str(index), "SEARCH_REFRESH_SECONDS": "0.2"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = open(tmp_path / "gunicorn.log", "w+", encoding="utf-8")  # a file: a full pipe would block the server
    server = subprocess.Popen(
        [str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "search:create_app()"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to 30 s for the workers to boot
            try:
                if _get(base + "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text())
        yield base, index
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


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
    status, suggest = _get(base + "/suggest?" + urllib.parse.urlencode({"q": "गुनि"}))
    assert [c["text"] for c in suggest["completions"]] == ["गुनिकॉर्न"]
    access = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line.startswith("{")]
    assert len(access) >= len(statuses) and {"query", "status", "took_ms", "hits", "total"} <= set(access[-3])
