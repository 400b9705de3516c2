"""Shared fixtures: the sample corpus indexed once, the Flask app and client,
the real corpora in ../shared/data, and a runner for ``ingest.py``."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from search import create_app, ingest, read_inputs

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample" / "news.jsonl"
SHARED_DATA = Path(os.environ.get("SEARCH_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def sample_records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bundled sample corpus, ingested once for the whole test session (read-only)."""
    path = tmp_path_factory.mktemp("sample-index")
    report = ingest(read_inputs([str(SAMPLE)]), str(path))
    assert report.rejected == 0 and report.added > 40
    return str(path)


HOSTILE = ROOT / "sample" / "hostile.jsonl"


@pytest.fixture(scope="session")
def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``sample/hostile.jsonl`` indexed: documents whose every field tries to smuggle in
    markup (``<script>``, ``onerror=``, ``javascript:`` URLs, entities, spreadsheet formulas)."""
    path = tmp_path_factory.mktemp("hostile-index")
    report = ingest(read_inputs([str(HOSTILE)]), str(path))
    assert report.rejected == 0 and report.added == 6
    return str(path)


@pytest.fixture
def app(sample_index: str):
    return create_app({"index": sample_index, "refresh_seconds": 0})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def search(client):
    """``search(q, **params)`` -> the JSON answer of /search, asserting 200."""

    def run(q: str, **params) -> dict:
        response = client.get("/search", query_string={"q": q, **params})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return run


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skipped where absent, but a failure when CI requires it."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    message = f"real corpora not found at {SHARED_DATA} (only CI and developers have them)"
    if os.environ.get("SEARCH_REQUIRE_DATA") == "1":
        pytest.fail(message + " but SEARCH_REQUIRE_DATA=1")
    pytest.skip(message)


@pytest.fixture
def run_ingest():
    """Run ``python ingest.py ARGS`` as a user would; returns the CompletedProcess."""

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "ingest.py"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
        )

    return run


def write_jsonl(path: Path, rows: list) -> Path:
    """Write rows (dicts, or raw strings for broken lines) as JSON Lines."""
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_WORDS = (
    "भारत सरकार नदी पहाड़ किसान बारिश मानसून गाँव शहर विद्यालय बच्चे खेल क्रिकेट चुनाव संसद "
    "अर्थव्यवस्था व्यापार रेल सड़क अस्पताल डॉक्टर दवा मौसम गर्मी सर्दी त्योहार दीवाली होली "
    "कहानी कविता लेखक पुस्तक इतिहास विज्ञान तकनीक कंप्यूटर मोबाइल बाज़ार कीमत सोना चाँदी"
).split()
_GLUE = "और के में की से को ने पर है था हैं भी".split()


def hindi_docs(count: int, *, start: int = 0, source: str = "synthetic") -> list[dict]:
    """``count`` synthetic Hindi documents (deterministic), ids ``syn-<n>``."""
    docs = []
    for n in range(start, start + count):
        words = [_WORDS[(n * 7 + i * 13) % len(_WORDS)] if i % 3 else _GLUE[(n + i) % len(_GLUE)] for i in range(60)]
        docs.append({
            "id": f"syn-{n}",
            "title": f"{_WORDS[n % len(_WORDS)]} {_WORDS[(n // 7) % len(_WORDS)]} {n}",
            "body": " ".join(words) + "।",
            "source": source,
        })
    return docs


def index_ids(index: str) -> list[str]:
    """Every document id in the index (through the search service's index)."""
    from search.engine import SearchIndex

    ix = SearchIndex.open(index)
    try:
        return sorted(f["id"] for f in ix.searcher().reader().all_stored_fields())
    finally:
        ix.close()


# --------------------------------------------------------------------------
# Production serving over loopback: gunicorn workers (tests/test_serving.py,
# tests/test_concurrency.py).
# --------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 30) -> tuple[int, dict]:
    """``(status, JSON body)`` of a GET, errors included."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextlib.contextmanager
def gunicorn(index: Path, log_path: Path, workers: int = 2, threads: int = 1, config: str | None = None, **env: str):
    """Serve ``index`` with ``gunicorn -w workers --threads threads`` on a free loopback port;
    yields the base URL. ``config``: a gunicorn ``-c`` argument, e.g. ``python:search.serving``
    (the production configuration; ``-w`` and ``--threads`` still override it)."""
    import time

    port = free_port()
    environment = {**os.environ, "SEARCH_INDEX": str(index), "SEARCH_REFRESH_SECONDS": "0.2", **env}
    binary = Path(sys.executable).with_name("gunicorn")
    log = open(log_path, "w+", encoding="utf-8")  # a file: a full pipe would block the server
    server = subprocess.Popen(
        [str(binary), *(["-c", config] if config else []), "-w", str(workers), "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "search:create_app()"],
        env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to 30 s for the workers to boot
            try:
                if http_get(base + "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start: " + log_path.read_text())
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


# --------------------------------------------------------------------------
# Browser tests (tests/test_browser.py): the app served on localhost, Chromium
# driven by playwright. Nothing is downloaded: Debian's /usr/bin/chromium.
# --------------------------------------------------------------------------

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("SEARCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def serve_in_thread(wsgi_app):
    """Serve ``wsgi_app`` on 127.0.0.1 (a free port) in a thread; returns (base URL, server)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium; skipped without one, but a failure when CI requires it."""
    reason = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    if not reason and not os.access(CHROMIUM, os.X_OK):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    if reason:
        if os.environ.get("SEARCH_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " but SEARCH_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(request, chromium):
    """A fresh browser tab; on failure its screenshot goes to test-artifacts/<test>.png."""
    options = getattr(request, "param", None) or {}
    context = chromium.new_context(**{"accept_downloads": True, "locale": "hi-IN", **options})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="session")
def semantic_model() -> None:
    """The multilingual model runs here (the semantic extra); skipped where it does
    not, but a failure when CI requires it (SEARCH_REQUIRE_SEMANTIC=1)."""
    from search.embedding import semantic_status

    reason = semantic_status()
    if reason:
        if os.environ.get("SEARCH_REQUIRE_SEMANTIC") == "1":
            pytest.fail(f"semantic search unavailable ({reason}) but SEARCH_REQUIRE_SEMANTIC=1")
        pytest.skip(f"semantic search unavailable: {reason}")


@pytest.fixture
def run_embed():
    """Run ``hindi-search embed ARGS`` as a cron job would; returns the CompletedProcess."""

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "search", "embed", *args],
            capture_output=True, text=True, encoding="utf-8", timeout=timeout,
        )

    return run


MEANING = ROOT / "tests" / "data" / "meaning.jsonl"
