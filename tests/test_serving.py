"""Production serving: gunicorn with two workers answers searches over loopback
while an ingest commits, and every worker picks up the new documents; the shipped
configuration (``gunicorn -c python:search.serving``) takes the longest query the
settings allow, answers gunicorn's own errors in JSON and refuses bad settings
before forking."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, free_port, gunicorn, http_get, write_jsonl

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


# --------------------------------------------------------------------------
# The shipped configuration: gunicorn -c python:search.serving
# --------------------------------------------------------------------------

CONFIG = "python:search.serving"


@pytest.fixture
def production(sample_index: str, tmp_path: Path):
    """The sample index served with the shipped configuration (one worker, to be quick)."""
    with gunicorn(Path(sample_index), tmp_path / "gunicorn.log", workers=1, threads=2, config=CONFIG) as base:
        yield base


def _raw(base: str, request: bytes) -> tuple[int, str, dict]:
    """Send ``request`` as is; (status, Content-Type, JSON body) of the answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), json.loads(body)


def test_the_longest_query_and_filter_the_settings_allow_are_answered(production):
    """1,000 Devanagari characters of query and of filter: 9 bytes each in the URL,
    18 KB of request line (gunicorn's default limit is 4,094 bytes, its most 8,190)."""
    q = "भारत" * 250
    flt = 'source = "' + "स" * 989 + '"'
    assert len(q) == 1000 and len(flt) == 1000
    url = production + "/search?" + urllib.parse.urlencode({"q": q, "filter": flt})
    assert len(url) > 2 * 8190
    status, body = http_get(url)
    assert status == 200 and body["query"] == q, body
    # The search page's own URL comes back as a Referer of the page's requests.
    request = urllib.request.Request(production + "/suggest?q=%E0%A4%AD%E0%A4%BE", headers={"Referer": url})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_gunicorns_own_errors_are_json(production):
    status, kind, body = _raw(production, b"GET /search?q=" + b"%E0%A4%AD" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, kind, body["error"]) == (414, "application/json", "uri_too_long"), body
    assert "1000 characters" in body["message"]
    status, kind, body = _raw(production, b"GET /search?q=x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    assert (status, kind, body["error"]) == (431, "application/json", "request_header_fields_too_large"), body
    status, kind, body = _raw(production, b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, kind, body["error"]) == (400, "application/json", "bad_request"), body
    assert http_get(production + "/health")[0] == 200, "the worker serves on"


def test_a_bad_setting_stops_gunicorn_before_forking(sample_index, tmp_path):
    done = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", CONFIG, "-b", f"127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "SEARCH_INDEX": sample_index, "SEARCH_MAX_PER_PAGE": "abc"},
    )
    log = done.stdout + done.stderr
    assert done.returncode == 78, log
    assert "Traceback" not in log and "Booting worker" not in log, log
    errors = [line for line in log.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1 and "SEARCH_MAX_PER_PAGE must be a whole number" in errors[0], log


def test_the_configuration_sets_only_what_it_means_to():
    """gunicorn reads every module-level name of the config that is one of its settings."""
    from gunicorn.config import KNOWN_SETTINGS

    import search.serving as serving
    from search.config import Settings

    names = {setting.name for setting in KNOWN_SETTINGS} & set(vars(serving))
    assert names == {
        "wsgi_app", "worker_class", "workers", "threads", "timeout", "graceful_timeout", "on_starting", "post_fork",
        "limit_request_line", "limit_request_fields", "limit_request_field_size",
    }
    longest = serving.request_line_bytes(Settings())
    assert longest >= 12 * (Settings().max_query_chars + Settings().max_filter_chars)
    assert serving.limit_request_field_size > longest, "a Referer holds a whole search URL"


# --------------------------------------------------------------------------
# hindi-search serve: gunicorn by default, --workers N, --dev, SIGTERM
# --------------------------------------------------------------------------


def _serve(tmp_path: Path, index: str, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str, Path]:
    """Start ``hindi-search serve`` on a free port; wait until /health answers (at most
    300 tries). Returns the process, its base URL and its log file."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    log = open(log_path, "w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "search", "serve", "--index", index, "--port", str(port), *args],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}: {log_path.read_text()}")
        try:
            if http_get(base + "/health")[0] == 200:
                return process, base, log_path
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("serve did not answer: " + log_path.read_text())


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def test_serve_workers_runs_gunicorn_and_stops_cleanly_on_sigterm(sample_index, tmp_path):
    process, base, log = _serve(tmp_path, sample_index, "--workers", "2")
    try:
        status, body = http_get(base + "/health")
        assert status == 200 and body["documents"] == 60
        # Compression and revalidation over real HTTP, through gunicorn.
        url = base + "/search?" + urllib.parse.urlencode({"q": "भारत"})
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "gzip"}), timeout=30) as answer:
            assert answer.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in answer.headers["Vary"]
            assert json.loads(gzip.decompress(answer.read()))["total"] == 15
            etag = answer.headers["ETag"]
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers={"If-None-Match": etag}), timeout=30)
            raise AssertionError("expected a 304")
        except urllib.error.HTTPError as not_modified:
            assert not_modified.code == 304 and not_modified.headers["ETag"] == etag
        export = base + "/export.csv?" + urllib.parse.urlencode({"q": "भारत"})
        with urllib.request.urlopen(urllib.request.Request(export, headers={"Accept-Encoding": "gzip"}), timeout=30) as answer:
            assert answer.headers["Content-Encoding"] == "gzip"
            rows = gzip.decompress(answer.read()).decode("utf-8-sig").splitlines()
            assert len(rows) == 16 and rows[0].startswith("id,title")
    finally:
        code = _stop(process)
    text = log.read_text()
    assert code == 0, text
    assert text.count("Booting worker") == 2 and "Using worker: search.serving.Worker" in text, text
    assert "Shutting down: Master" in text and "Traceback" not in text, text
    assert "with gunicorn" in text.splitlines()[0]


def test_serve_defaults_to_gunicorn_with_the_documented_workers(sample_index, tmp_path):
    import search.serving as serving

    process, base, log = _serve(tmp_path, sample_index)
    code = _stop(process)
    text = log.read_text()
    assert code == 0 and text.count("Booting worker") == serving.workers, text


def test_serve_dev_is_the_development_server(sample_index, tmp_path):
    process, base, log = _serve(tmp_path, sample_index, "--dev")
    code = _stop(process)
    text = log.read_text()
    assert "with the development server" in text and "Booting worker" not in text, text
    assert code == 3 and "serve: stopped by signal 15" in text and "Traceback" not in text, text
