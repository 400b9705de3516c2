"""Hybrid search through the public interfaces: ``ingest.py``, ``hindi-search embed``
and ``/search`` with ``mode``, on a corpus written for these tests
(``tests/data/meaning.jsonl``: twelve short Hindi news items on different topics).

The model runs for real (the semantic extra); these tests are marked
``semantic`` and skipped where it cannot run, unless CI requires it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import MEANING, write_jsonl
from search import create_app

pytestmark = pytest.mark.semantic

#: Shares no word with m01 ("शहर के बड़े अस्पतालों में बिस्तर कम पड़े"): hospitals and
#: beds in other words. Lexically it finds only m02, which has अभाव (lack) of rain.
NO_SHARED_WORD = "चिकित्सालयों में शैय्याओं का अभाव"


@pytest.fixture(scope="module")
def meaning_index(tmp_path_factory, semantic_model) -> str:
    """The corpus ingested and embedded, read-only for the tests that use it."""
    path = str(tmp_path_factory.mktemp("meaning") / "index")
    subprocess.run([sys.executable, "ingest.py", "--index", path, str(MEANING), "--quiet"], check=True,
                   cwd=Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-m", "search", "embed", "--index", path, "--json", "--procs", "1"],
                          capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    assert report["embedded"] == 12 and report["documents"] == 12
    return path


def client_for(index: str, **settings):
    return create_app({"index": index, "semantic": 1, "refresh_seconds": 0, **settings}).test_client()


def ask(client, q: str, **params) -> dict:
    response = client.get("/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(answer: dict) -> list[str]:
    return [hit["id"] for hit in answer["hits"]]


def test_a_match_in_other_words_is_found_in_hybrid_mode_only(meaning_index):
    client = client_for(meaning_index)
    lexical = ask(client, NO_SHARED_WORD, mode="lexical")
    assert "m01" not in ids(lexical) and lexical["mode"] == "lexical"
    hybrid = ask(client, NO_SHARED_WORD)  # a long query: auto mode fuses it
    assert hybrid["mode"] == "hybrid" and hybrid["parsed"].startswith("hybrid: ")
    assert "m01" in ids(hybrid)[:3]
    assert ids(hybrid)[0] == ids(lexical)[0], "the word match stays first"
    semantic = ask(client, NO_SHARED_WORD, mode="semantic")
    assert ids(semantic)[0] == "m01" and semantic["mode"] == "semantic"


def test_short_keyword_queries_stay_lexical_unless_asked(meaning_index):
    client = client_for(meaning_index)
    assert ask(client, "अस्पताल")["mode"] == "lexical"
    assert ask(client, "अस्पताल", mode="hybrid")["mode"] == "hybrid"


def test_romanized_queries_are_not_fused(meaning_index):
    answer = ask(client_for(meaning_index), "aspatal mein bistar kam", mode="hybrid")
    assert answer["mode"] == "lexical"  # the model does not read Latin-script Hindi


def test_phrases_exclusions_fields_and_filters_hold_in_hybrid_mode(meaning_index):
    client = client_for(meaning_index)
    stored = {r["id"]: r for r in map(json.loads, MEANING.read_text(encoding="utf-8").splitlines())}
    # Every document is near enough to be a candidate (12 < semantic_candidates).
    answer = ask(client, 'बीमार लोगों को इलाज नहीं मिला -दिल्ली', mode="hybrid", per_page=100)
    assert answer["mode"] == "hybrid" and answer["total"] == len(answer["hits"])
    assert "m07" not in ids(answer)  # the one document with दिल्ली
    assert answer["total"] == 11
    quoted = ask(client, '"बिस्तर कम" मरीजों का हाल बुरा', mode="hybrid", per_page=100)
    assert ids(quoted) == ["m01"] and quoted["total"] == 1
    titled = ask(client, "title:बाजार गांव की खेती", mode="hybrid", per_page=100)
    assert set(ids(titled)) == {r for r, doc in stored.items() if "बाजार" in doc["title"]}
    filtered = ask(client, NO_SHARED_WORD, mode="hybrid", filter="category = swasthya", per_page=100)
    assert ids(filtered) == ["m01"] and filtered["total"] == 1
    semantic = ask(client, NO_SHARED_WORD + " -अस्पतालों", mode="semantic", per_page=100)
    assert "m01" not in ids(semantic)


def test_totals_pages_and_facets_agree_in_hybrid_mode(meaning_index):
    client = client_for(meaning_index, semantic_candidates=5)
    whole = ask(client, NO_SHARED_WORD, mode="hybrid", per_page=100, facets="category")
    assert whole["total"] == len(whole["hits"]) == len(set(ids(whole)))
    assert whole["total"] == 1 + 5 - ("m02" in ids(ask(client, NO_SHARED_WORD, mode="semantic", per_page=5)))
    paged = []
    for page in range(1, 10):
        paged += ids(ask(client, NO_SHARED_WORD, mode="hybrid", per_page=2, page=page))
    assert paged == ids(whole)
    assert sum(whole["facets"]["category"].values()) == whole["total"]
    by_date = ask(client, NO_SHARED_WORD, mode="hybrid", per_page=100, sort="-published")
    assert sorted(ids(by_date)) == sorted(ids(whole))
    dates = [hit["published"] for hit in by_date["hits"]]
    assert dates == sorted(dates, reverse=True)


def test_vectors_follow_replacements_and_deletions(tmp_path, semantic_model, run_ingest, run_embed):
    index = str(tmp_path / "index")
    assert run_ingest("--index", index, str(MEANING), "--quiet").returncode == 0
    assert run_embed("--index", index, "--procs", "1").returncode == 0
    client = client_for(index)
    assert "m01" in ids(ask(client, NO_SHARED_WORD))
    # m01 becomes a story about cricket; m07 is deleted.
    replaced = {"id": "m01", "title": "क्रिकेट का रोमांचक मुकाबला", "body": "आखिरी गेंद पर छक्का लगाकर टीम ने मैच जीता।",
                "category": "khel", "source": "Nagar Darpan", "published": "2026-03-02"}
    assert run_ingest("--index", index, str(write_jsonl(tmp_path / "m01.jsonl", [replaced])), "--quiet").returncode == 0
    assert run_ingest("--index", index, "--delete", "m07", "--quiet").returncode == 0
    # Before the next embed, the old vector of m01 is not used: it is of another version.
    semantic = ask(client, NO_SHARED_WORD, mode="semantic", per_page=100)
    assert "m01" not in ids(semantic) and "m07" not in ids(semantic)
    assert client.get("/stats").get_json()["semantic"]["documents"] == 11
    done = run_embed("--index", index, "--json", "--procs", "1")
    report = json.loads(done.stdout)
    assert (report["embedded"], report["unchanged"], report["dropped"], report["documents"]) == (1, 10, 2, 11)
    state = json.loads((Path(index) / "vectors" / "state.json").read_text())
    assert state["rows"] == 11
    semantic = ask(client, "क्रिकेट मैच में छक्का", mode="semantic")
    assert ids(semantic)[0] == "m01"
    assert "m01" not in ids(ask(client, NO_SHARED_WORD, mode="semantic", per_page=3))
    again = json.loads(run_embed("--index", index, "--json").stdout)
    assert (again["embedded"], again["dropped"], again["unchanged"]) == (0, 0, 11)  # idempotent


@pytest.mark.slow
def test_a_kill_during_embedding_loses_nothing_committed(tmp_path, semantic_model, run_ingest, run_embed):
    rows = [json.loads(line) for line in MEANING.read_text(encoding="utf-8").splitlines()]
    # 240 documents: the corpus twenty times over, each copy with its own id and a distinct word.
    many = [{**row, "id": f"{row['id']}-{n}", "body": f"{row['body']} अंक{n}"} for n in range(20) for row in rows]
    index = str(tmp_path / "index")
    assert run_ingest("--index", index, str(write_jsonl(tmp_path / "many.jsonl", many)), "--quiet").returncode == 0
    state = Path(index) / "vectors" / "state.json"
    job = subprocess.Popen([sys.executable, "-m", "search", "embed", "--index", index, "--procs", "1",
                            "--batch", "4", "--commit-every", "8"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if state.exists() and json.loads(state.read_text())["rows"] >= 16:
                break
            time.sleep(0.05)
        else:
            pytest.fail("no vectors committed in time")
        time.sleep(0.3)  # into the middle of the next batches
        os.kill(job.pid, signal.SIGKILL)
    finally:
        job.wait()
    committed = json.loads(state.read_text())["rows"]
    assert 16 <= committed < 240
    client = client_for(index)
    assert ask(client, NO_SHARED_WORD, mode="semantic")["total"] > 0
    assert client.get("/health").get_json()["semantic"]["available"] is True
    assert client.get("/stats").get_json()["semantic"]["vectors"] == committed
    report = json.loads(run_embed("--index", index, "--json", "--procs", "1").stdout)
    assert report["unchanged"] == committed and report["embedded"] == 240 - committed and report["dropped"] == 0
    assert json.loads(state.read_text())["rows"] == 240
    assert client.get("/stats").get_json()["semantic"]["vectors"] == 240


def test_a_signal_stops_embedding_at_a_batch_with_what_is_done_committed(tmp_path, semantic_model, run_ingest):
    rows = [json.loads(line) for line in MEANING.read_text(encoding="utf-8").splitlines()]
    many = [{**row, "id": f"{row['id']}-{n}"} for n in range(10) for row in rows]
    index = str(tmp_path / "index")
    assert run_ingest("--index", index, str(write_jsonl(tmp_path / "many.jsonl", many)), "--quiet").returncode == 0
    state = Path(index) / "vectors" / "state.json"
    job = subprocess.Popen([sys.executable, "-m", "search", "embed", "--index", index, "--procs", "1", "--batch", "4",
                            "--commit-every", "4", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (state.exists() and json.loads(state.read_text())["rows"] >= 4) and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)
    out, _ = job.communicate(timeout=60)
    assert job.returncode == 3
    report = json.loads(out)
    assert report["interrupted"] is True
    assert json.loads(state.read_text())["rows"] == report["embedded"] < 120


def test_embedding_waits_for_another_embed_then_exits_75(tmp_path, semantic_model, run_ingest, run_embed):
    from search.vectors import VectorStore

    index = str(tmp_path / "index")
    assert run_ingest("--index", index, str(MEANING), "--quiet").returncode == 0
    with VectorStore(index).writer("someone", 384):
        done = run_embed("--index", index, "--wait", "0.2")
    assert done.returncode == 75 and "another process" in done.stderr


def test_health_says_when_nothing_is_embedded_yet(tmp_path, semantic_model, run_ingest):
    index = str(tmp_path / "index")
    assert run_ingest("--index", index, str(MEANING), "--quiet").returncode == 0
    client = client_for(index)
    answer = ask(client, NO_SHARED_WORD)
    assert answer["mode"] == "lexical"  # auto: no vectors, no fusion
    state = client.get("/stats").get_json()["semantic"]
    assert state["available"] is False and "hindi-search embed" in state["reason"]
    shutil.rmtree(index)
