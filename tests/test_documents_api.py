"""The documents API (POST /documents, PUT and DELETE /documents/<id>, POST /documents/delete)
and the API keys, through Flask's test client on a fresh index, beside ``ingest.py`` runs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from conftest import ROOT, hindi_docs, write_jsonl

from search import create_app
from search.indexing import IngestLock

KEY = "write-key-7d1c"
READ_KEY = "read-key-93ab"
AUTH = {"Authorization": f"Bearer {KEY}"}
NDJSON = "application/x-ndjson"

MONSOON = {"id": "m1", "title": "मानसून की पहली बारिश", "body": "दिल्ली में मानसून की पहली बारिश हुई।", "source": "Jan Awaz"}
SNOW = {"id": "m2", "title": "पहाड़ों पर बर्फ़बारी", "body": "शिमला में इस मौसम की पहली बर्फ़बारी हुई।"}


@pytest.fixture
def index(tmp_path) -> str:
    return str(tmp_path / "ix")


@pytest.fixture
def writer(index):
    """A client of an app with writes on (the API key set), on an empty index."""
    return create_app({"index": index, "refresh_seconds": 0, "api_key": KEY, "write_lock_wait": 0.2}).test_client()


def found(client, q: str, headers: dict | None = None) -> list[str]:
    response = client.get("/search", query_string={"q": q, "per_page": 100}, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return sorted(hit["id"] for hit in response.get_json()["hits"])


def statuses(answer: dict) -> list[tuple[int, str | None, str]]:
    return [(r["position"], r["id"], r["status"]) for r in answer["results"]]


# --------------------------------------------------------------------------
# Writes: what becomes of each record, and what a search sees right after
# --------------------------------------------------------------------------


def test_a_posted_document_is_found_by_the_next_search(writer):
    response = writer.post("/documents", json=MONSOON, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert statuses(answer) == [(1, "m1", "added")] and answer["added"] == 1 and answer["committed"] is True
    assert found(writer, "मानसून") == ["m1"]
    assert writer.get("/documents/m1").get_json()["source"] == "Jan Awaz"


def test_the_same_record_again_is_unchanged_and_a_changed_one_replaces_it(writer):
    writer.post("/documents", json=MONSOON, headers=AUTH)
    generation = writer.get("/health").get_json()["generation"]
    again = writer.post("/documents", json=MONSOON, headers=AUTH).get_json()
    assert statuses(again) == [(1, "m1", "unchanged")]
    assert writer.get("/health").get_json()["generation"] == generation  # nothing was committed
    changed = writer.post("/documents", json={**MONSOON, "body": "मुंबई में भारी जलभराव हुआ।"}, headers=AUTH).get_json()
    assert statuses(changed) == [(1, "m1", "updated")]
    assert found(writer, "जलभराव") == ["m1"] and found(writer, "दिल्ली") == []


def test_a_batch_keeps_the_good_records_beside_the_bad_ones(writer):
    batch = [MONSOON, {"title": "बिना पहचान"}, {"id": "e", "title": " ", "body": ""}, SNOW, {"id": "d", "published": "कल", "body": "x"}]
    response = writer.post("/documents", json=batch, headers=AUTH)
    assert response.status_code == 200
    answer = response.get_json()
    assert statuses(answer) == [(1, "m1", "added"), (2, None, "rejected"), (3, "e", "rejected"), (4, "m2", "added"), (5, "d", "rejected")]
    reasons = [r.get("reason", "") for r in answer["results"]]
    assert reasons[1] == "missing 'id'" and reasons[2].startswith("empty text") and "not an ISO date" in reasons[4]
    assert (answer["added"], answer["rejected"]) == (2, 3)
    assert found(writer, "पहली") == ["m1", "m2"]


def test_the_api_rejects_what_ingest_rejects_for_the_same_reasons(writer, tmp_path, run_ingest):
    """One validator: the reasons of the API's rejects are the ingest's, record for record."""
    krutidev = "Hkkjr vkSj :l us viuh nh?kZdkfyd j.kuhfrd lk>snkjh dks etcwr djus ij tksj fn;kA"
    rows = [{"id": "ok", "body": "भारत और रूस"}, {"id": ["x"], "body": "y"}, {"id": "kd", "title": "Hkkjr&:l", "body": krutidev},
            {"id": "long", "source": "स" * 201, "body": "z"}, {"id": "nb"}, [1, 2]]
    rejects = tmp_path / "rejects.jsonl"
    result = run_ingest("--index", str(tmp_path / "other"), "--rejects", str(rejects), str(write_jsonl(tmp_path / "in.jsonl", rows)))
    assert result.returncode == 1, result.stderr
    by_ingest = [json.loads(line)["reason"] for line in rejects.read_text(encoding="utf-8").splitlines()]
    answer = writer.post("/documents", json=rows, headers=AUTH).get_json()
    by_api = [r["reason"] for r in answer["results"] if r["status"] == "rejected"]
    assert by_api == by_ingest and len(by_api) == 5


def test_json_lines_give_each_record_its_line(writer):
    body = (json.dumps(MONSOON, ensure_ascii=False) + "\n\n{not json\n" + json.dumps(SNOW, ensure_ascii=False) + "\n").encode()
    response = writer.post("/documents", data=body, headers={**AUTH, "Content-Type": NDJSON})
    assert response.status_code == 200
    answer = response.get_json()
    assert statuses(answer) == [(1, "m1", "added"), (3, None, "rejected"), (4, "m2", "added")]
    assert answer["results"][1]["reason"].startswith("invalid JSON")


def test_the_last_record_of_an_id_in_a_batch_wins(writer):
    answer = writer.post("/documents", json=[MONSOON, {**MONSOON, "title": "नया शीर्षक"}], headers=AUTH).get_json()
    assert statuses(answer) == [(1, "m1", "superseded"), (2, "m1", "added")]
    assert writer.get("/documents/m1").get_json()["title"] == "नया शीर्षक"


def test_what_ingest_wrote_the_api_sees_as_unchanged_and_the_other_way(writer, index, tmp_path, run_ingest):
    assert run_ingest("--index", index, str(write_jsonl(tmp_path / "a.jsonl", [MONSOON]))).returncode == 0
    assert statuses(writer.post("/documents", json=[MONSOON, SNOW], headers=AUTH).get_json()) == [(1, "m1", "unchanged"), (2, "m2", "added")]
    again = run_ingest("--index", index, "--json", str(write_jsonl(tmp_path / "b.jsonl", [MONSOON, SNOW])))
    report = json.loads(again.stdout)
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 0, 2)


def test_put_stores_the_document_of_its_url(writer):
    response = writer.put("/documents/p1", json={"title": "बिना आईडी का शीर्षक"}, headers=AUTH)
    assert response.status_code == 200 and statuses(response.get_json()) == [(1, "p1", "added")]
    assert statuses(writer.put("/documents/p1", json={"id": "p1", "title": "बदला शीर्षक"}, headers=AUTH).get_json()) == [(1, "p1", "updated")]
    assert writer.get("/documents/p1").get_json()["title"] == "बदला शीर्षक"
    mismatch = writer.put("/documents/p1", json={"id": "p2", "title": "x"}, headers=AUTH)
    assert mismatch.status_code == 400 and mismatch.get_json()["error"] == "id_mismatch"
    for body in ([{"id": "p1", "title": "x"}], "text", {"id": "p1", "deleted": True}):
        response = writer.put("/documents/p1", json=body, headers=AUTH)
        assert response.status_code == 400 and response.get_json()["error"] == "bad_body", body
    rejected = writer.put("/documents/p1", json={"body": ""}, headers=AUTH)
    assert rejected.status_code == 422 and rejected.get_json()["results"][0]["reason"].startswith("empty text")
    assert writer.get("/documents/p1").get_json()["title"] == "बदला शीर्षक"


def test_deletes(writer):
    writer.post("/documents", json=[MONSOON, SNOW, {"id": "a/b c", "body": "तीसरा"}], headers=AUTH)
    response = writer.delete("/documents/m1", headers=AUTH)
    assert response.status_code == 200 and statuses(response.get_json()) == [(1, "m1", "deleted")]
    assert writer.get("/documents/m1").status_code == 404 and found(writer, "पहली") == ["m2"]
    missing = writer.delete("/documents/m1", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    many = writer.post("/documents/delete", json={"ids": ["m2", "nope", "a/b c"]}, headers=AUTH)
    assert many.status_code == 200
    assert statuses(many.get_json()) == [(1, "m2", "deleted"), (2, "nope", "not_found"), (3, "a/b c", "deleted")]
    assert writer.get("/stats").get_json()["documents"] == 0
    # A record with "deleted": true deletes too, as in an ingest's input.
    writer.post("/documents", json=MONSOON, headers=AUTH)
    assert statuses(writer.post("/documents", json={"id": "m1", "deleted": True}, headers=AUTH).get_json()) == [(1, "m1", "deleted")]


# --------------------------------------------------------------------------
# Bad input: a clear 4xx in JSON, never a 5xx
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, data, content_type, status, kind",
    [
        ("/documents", b"{\"id\": ", "application/json", 400, "bad_body"),
        ("/documents", b"", "application/json", 400, "bad_body"),
        ("/documents", b"[]", "application/json", 400, "bad_body"),
        ("/documents", b"42", "application/json", 400, "bad_body"),
        ("/documents", b"\xff\xfe{}", "application/json", 400, "bad_body"),
        ("/documents", b"[" * 100_000, "application/json", 400, "bad_body"),
        ("/documents", b"\n \n", NDJSON, 400, "bad_body"),
        ("/documents", b"id,title\n1,x\n", "text/csv", 415, "unsupported_media_type"),
        ("/documents", b"{}", None, 415, "unsupported_media_type"),
        ("/documents/delete", b"{\"ids\": \"m1\"}", "application/json", 400, "bad_body"),
        ("/documents/delete", b"{\"ids\": []}", "application/json", 400, "bad_body"),
        ("/documents/delete", b"{\"id\": \"m1\"}\n", NDJSON, 415, "unsupported_media_type"),
    ],
)
def test_a_body_that_cannot_be_read_is_a_json_4xx(writer, path, data, content_type, status, kind):
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    response = writer.post(path, data=data, headers=headers)
    assert response.status_code == status and response.is_json, response.data[:300]
    assert response.get_json()["error"] == kind and response.get_json()["message"]


def test_batch_and_body_limits_are_413(index):
    client = create_app({"index": index, "api_key": KEY, "max_batch": 3, "max_body_bytes": 2000}).test_client()
    docs = hindi_docs(4)
    for response in (
        client.post("/documents", json=[{"id": d["id"], "body": "x"} for d in docs], headers=AUTH),
        client.post("/documents", data="\n".join(json.dumps({"id": str(n), "body": "x"}) for n in range(4)),
                    headers={**AUTH, "Content-Type": NDJSON}),
        client.post("/documents/delete", json={"ids": ["a", "b", "c", "d"]}, headers=AUTH),
    ):
        assert response.status_code == 413 and response.get_json()["error"] == "too_many_records"
        assert "SEARCH_MAX_BATCH" in response.get_json()["message"]
    big = client.post("/documents", json=docs[:3], headers=AUTH)  # 3 records, but over 2,000 bytes
    assert big.status_code == 413 and big.get_json()["error"] == "too_large"
    assert client.post("/documents", json=[{"id": "a", "body": "x"}] * 3, headers=AUTH).status_code == 200


def test_a_record_over_the_record_limit_is_rejected_alone(index):
    client = create_app({"index": index, "api_key": KEY, "max_record_bytes": 500}).test_client()
    answer = client.post("/documents", json=[MONSOON, {"id": "big", "body": "क" * 400}], headers=AUTH).get_json()
    assert statuses(answer) == [(1, "m1", "added"), (2, "big", "rejected")]
    assert answer["results"][1]["reason"].startswith("record too large")


# --------------------------------------------------------------------------
# The ingest lock
# --------------------------------------------------------------------------


def test_a_write_while_an_ingest_holds_the_lock_is_503_with_retry_after(writer, index):
    writer.post("/documents", json=MONSOON, headers=AUTH)
    with IngestLock(index) as lock:  # as ingest.py takes it
        lock.acquire(0)
        response = writer.post("/documents", json=SNOW, headers=AUTH)
        assert response.status_code == 503 and response.get_json()["error"] == "index_locked"
        assert int(response.headers["Retry-After"]) >= 1
        assert writer.delete("/documents/m1", headers=AUTH).status_code == 503
        assert found(writer, "पहली") == ["m1"]  # reads go on
    assert writer.post("/documents", json=SNOW, headers=AUTH).status_code == 200


def test_a_write_waits_for_a_real_ingest_run(index, tmp_path):
    """A write that comes while ``ingest.py`` runs lands once the run is done (it waits
    SEARCH_WRITE_LOCK_WAIT for the lock); the run stops at its first record here until
    the test lets it go on, so the write is certain to come while the lock is held."""
    fifo = tmp_path / "feed.jsonl"
    import os

    os.mkfifo(fifo)
    run = subprocess.Popen([sys.executable, str(ROOT / "ingest.py"), "--index", index, "--json", str(fifo)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        with open(fifo, "w", encoding="utf-8") as feed:  # opens once the run reads it: it holds the lock by then
            feed.write(json.dumps(MONSOON, ensure_ascii=False) + "\n")
            feed.flush()
            client = create_app({"index": index, "api_key": KEY, "write_lock_wait": 0.1}).test_client()
            held = client.post("/documents", json=SNOW, headers=AUTH)
            assert held.status_code == 503 and held.headers["Retry-After"] == "1"
        out, err = run.communicate(timeout=120)
    finally:
        run.kill() if run.poll() is None else None
    assert run.returncode == 0, err
    client = create_app({"index": index, "api_key": KEY, "write_lock_wait": 5}).test_client()
    assert statuses(client.post("/documents", json=SNOW, headers=AUTH).get_json()) == [(1, "m2", "added")]
    assert found(client, "पहली") == ["m1", "m2"]


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


WRITES = [
    ("post", "/documents", {"json": MONSOON}),
    ("put", "/documents/m1", {"json": MONSOON}),
    ("delete", "/documents/m1", {}),
    ("post", "/documents/delete", {"json": {"ids": ["m1"]}}),
]


@pytest.mark.parametrize("method, path, body", WRITES)
def test_writes_are_off_without_an_api_key(index, method, path, body):
    client = create_app({"index": index}).test_client()
    for headers in ({}, AUTH):
        response = getattr(client, method)(path, headers=headers, **body)
        assert response.status_code == 403 and response.get_json()["error"] == "writes_disabled"
        assert "SEARCH_API_KEY" in response.get_json()["message"]


@pytest.mark.parametrize("method, path, body", WRITES)
def test_writes_need_the_api_key(writer, method, path, body):
    missing = getattr(writer, method)(path, **body)
    assert missing.status_code == 401 and missing.get_json()["error"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    for wrong in ("Bearer nope", f"Bearer {KEY}x", f"Basic {KEY}", KEY):
        response = getattr(writer, method)(path, headers={"Authorization": wrong}, **body)
        assert response.status_code in (401, 403), wrong
        assert KEY not in response.get_data(as_text=True)
    assert getattr(writer, method)(path, headers=AUTH, **body).status_code in (200, 404)  # 404: a delete of nothing


def test_a_read_key_closes_every_read_but_health_and_the_description(sample_index):
    client = create_app({"index": sample_index, "read_key": READ_KEY, "api_key": KEY}).test_client()
    reads = ["/search?q=भारत", "/suggest?q=भार", "/export.csv?q=भारत", "/export.json?q=भारत", "/documents/s054", "/stats", "/", "/widget-demo"]
    for path in reads:
        response = client.get(path)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer"), path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 403, path
        assert client.get(path, headers={"Authorization": f"Bearer {READ_KEY}"}).status_code == 200, path
        assert client.get(path, headers=AUTH).status_code == 200, path  # the write key reads too
    for path in ("/health", "/openapi.json", "/widget.js"):
        assert client.get(path).status_code == 200, path
    refused = client.post("/documents", json=MONSOON, headers={"Authorization": f"Bearer {READ_KEY}"})
    assert refused.status_code == 403  # the read key does not write


def test_reads_stay_open_without_a_read_key(writer):
    assert writer.get("/stats").status_code in (200, 503)  # an empty index: nothing ingested yet
    writer.post("/documents", json=MONSOON, headers=AUTH)
    assert writer.get("/stats").status_code == 200 and found(writer, "मानसून") == ["m1"]


def test_keys_are_never_logged_or_printed(index, caplog):
    client = create_app({"index": index, "api_key": KEY, "read_key": READ_KEY}).test_client()
    with caplog.at_level(logging.DEBUG):
        client.post("/documents", json=MONSOON, headers=AUTH)
        client.get("/search?q=x", headers={"Authorization": f"Bearer {READ_KEY}"})
        client.get("/search?q=x", headers={"Authorization": "Bearer guess"})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert '"status": 200' in logged and KEY not in logged and READ_KEY not in logged and "guess" not in logged
    env = {"SEARCH_API_KEY": KEY, "SEARCH_READ_KEY": READ_KEY, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    shown = subprocess.run([sys.executable, "-m", "search", "settings"], capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 0 and "SEARCH_API_KEY" in shown.stdout and "(set)" in shown.stdout
    assert KEY not in shown.stdout and READ_KEY not in shown.stdout


def test_cors_preflight_allows_the_authorization_header_and_the_write_methods(index):
    client = create_app({"index": index, "api_key": KEY, "cors_origins": "https://site.example"}).test_client()
    response = client.options("/documents", headers={
        "Origin": "https://site.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert response.status_code == 200
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert {"POST", "PUT", "DELETE"} <= {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    read_only = create_app({"index": index, "cors_origins": "https://site.example"}).test_client()
    methods = read_only.options("/search", headers={"Origin": "https://site.example", "Access-Control-Request-Method": "GET"})
    assert "POST" not in methods.headers["Access-Control-Allow-Methods"]


# --------------------------------------------------------------------------
# An index with vectors (hybrid search)
# --------------------------------------------------------------------------


def test_writes_leave_the_vectors_of_hybrid_search_usable(writer, index):
    """Vectors of replaced or deleted documents are simply not used until the next embed:
    a write changes nothing of the vector store, and the store still opens and answers."""
    import numpy as np

    from search.documents import parse_record
    from search.vectors import VectorStore

    writer.post("/documents", json=[MONSOON, SNOW], headers=AUTH)
    hashes = {d["id"]: parse_record(d).content_hash for d in (MONSOON, SNOW)}
    store = VectorStore(index)
    with store.writer("m", 4) as vectors:
        vectors.add([("m1", hashes["m1"]), ("m2", hashes["m2"])], np.eye(2, 4, dtype=np.float32))
        vectors.commit()
    assert statuses(writer.put("/documents/m1", json={"body": "नया पाठ"}, headers=AUTH).get_json()) == [(1, "m1", "updated")]
    assert writer.delete("/documents/m2", headers=AUTH).status_code == 200
    view = VectorStore(index).view()
    assert sorted(view.ids) == ["m1", "m2"] and view.vector("m1", hashes["m1"]) is not None
    assert found(writer, "पाठ") == ["m1"] and writer.get("/health").status_code == 200


# --------------------------------------------------------------------------
# Commits batched within SEARCH_COMMIT_WITHIN_MS
# --------------------------------------------------------------------------


def test_with_commit_within_a_write_is_pending_until_its_commit(index):
    """An hour's delay: nothing is committed before the queue is flushed (as at exit)."""
    from search.documents_api import pending_writes

    app = create_app({"index": index, "refresh_seconds": 0, "api_key": KEY, "commit_within_ms": 3_600_000})
    client = app.test_client()
    response = client.post("/documents", json=[MONSOON, {"title": "बिना पहचान"}], headers=AUTH)
    assert response.status_code == 202
    answer = response.get_json()
    assert statuses(answer) == [(1, "m1", "pending"), (2, None, "rejected")]
    assert (answer["pending"], answer["rejected"], answer["committed"], answer["commit_within_ms"]) == (1, 1, False, 3_600_000)
    assert client.put("/documents/m2", json=SNOW, headers=AUTH).status_code == 202
    assert client.delete("/documents/m1", headers=AUTH).status_code == 202
    assert client.get("/documents/m2").status_code == 503  # not even an index yet: nothing committed
    assert pending_writes(app).flush() == 3
    assert client.get("/documents/m1").status_code == 404  # added, then deleted, in the order sent
    assert found(client, "बर्फ़बारी") == ["m2"]


def test_with_commit_within_a_pending_write_becomes_visible_by_itself(index):
    client = create_app({"index": index, "refresh_seconds": 0, "api_key": KEY, "commit_within_ms": 50}).test_client()
    assert client.post("/documents", json=MONSOON, headers=AUTH).status_code == 202
    import time

    for _ in range(600):  # the commit comes 50 ms after the write; give a loaded machine a minute
        if client.get("/documents/m1").status_code == 200:
            break
        time.sleep(0.1)
    assert client.get("/documents/m1").get_json()["title"] == MONSOON["title"]
    assert found(client, "मानसून") == ["m1"]


def test_a_pending_flush_that_finds_the_lock_held_keeps_its_writes(index):
    from search.documents_api import pending_writes

    app = create_app({"index": index, "refresh_seconds": 0, "api_key": KEY, "commit_within_ms": 3_600_000,
                      "write_lock_wait": 0.1})
    client = app.test_client()
    client.post("/documents", json=MONSOON, headers=AUTH)
    queue = pending_writes(app)
    with IngestLock(index) as lock:
        lock.acquire(0)
        with pytest.raises(Exception, match="another ingest"):
            queue.flush()
    assert queue.pending() == 1 and queue.flush() == 1
    assert found(client, "मानसून") == ["m1"]
