"""Scheduled-job behaviour of ``ingest.py``: deletes, prune, re-runs, the lock, crashes, live search."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, hindi_docs, index_ids, write_jsonl

from search import SearchRequest, SearchService, Settings
from search.analysis import Analyzer
from search.indexing import IngestLock
from search.vocabulary import Vocabulary


def report_of(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_deletes_by_flag_and_by_record(tmp_path, run_ingest):
    index = str(tmp_path / "ix")
    data = write_jsonl(tmp_path / "in.jsonl", hindi_docs(5))
    assert run_ingest("--index", index, str(data)).returncode == 0
    report = report_of(run_ingest("--index", index, "--json", "--delete", "syn-0", "syn-1", "--delete", "nope"))
    assert report["deleted"] == 2  # an unknown id is not an error and not counted
    deletes = write_jsonl(tmp_path / "del.jsonl", [{"id": "syn-2", "deleted": True}, {**hindi_docs(1, start=9)[0]}])
    report = report_of(run_ingest("--index", index, "--json", str(deletes)))
    assert (report["deleted"], report["added"]) == (1, 1)
    assert index_ids(index) == ["syn-3", "syn-4", "syn-9"]


def test_the_last_record_of_an_id_wins_and_a_rerun_writes_nothing(tmp_path, run_ingest):
    """An input that gives an id twice (an updated story appended to a feed):
    only the last record is written, so re-running the job changes nothing."""
    index = str(tmp_path / "ix")
    doc, other, gone = hindi_docs(3)
    rows = [
        doc, {"id": doc["id"], "deleted": True}, {**doc, "title": "नया शीर्षक"},  # deleted and given again
        other, {**other, "body": "दूसरा संस्करण।"},  # updated
        gone, {"id": gone["id"], "deleted": True},  # given, then deleted
    ]
    data = str(write_jsonl(tmp_path / "in.jsonl", rows))
    report = report_of(run_ingest("--index", index, "--json", data))
    assert (report["added"], report["superseded"], report["deleted"], report["read"]) == (2, 3, 0, 5)
    assert index_ids(index) == ["syn-0", "syn-1"]
    service = SearchService(Settings.load({"index": index}, environ={}))
    assert service.document("syn-0")["title"] == "नया शीर्षक" and service.document("syn-1")["body"] == "दूसरा संस्करण।"
    generation = _generation(index)
    for _ in range(2):
        report = report_of(run_ingest("--index", index, "--json", data))
        assert (report["added"], report["updated"], report["unchanged"], report["superseded"]) == (0, 0, 2, 3)
        assert _generation(index) == generation
    result = run_ingest("--index", index, data)
    assert "superseded 3" in result.stdout


def test_a_stop_before_the_first_record_is_an_interrupted_run(tmp_path):
    from search import ingest

    from conftest import hindi_docs as docs
    from search.documents import parse_record

    report = ingest((parse_record(d) for d in docs(3)), str(tmp_path / "ix"), stop=lambda: True)
    assert report.interrupted and report.read == 0


def test_reading_ahead_stops_at_its_text_budget(monkeypatch):
    """Ten thousand 50 KB bodies would be a gigabyte read ahead."""
    from search.documents import Record
    from search.indexing import _Lookahead

    monkeypatch.setattr(_Lookahead, "TEXT_LIMIT", 1000)
    items = _Lookahead(Record(id=str(n), body="क" * 300) for n in range(20))
    first = next(items)
    assert first.id == "0" and len(items._ahead) == 3  # 4 bodies read: 1,200 characters
    assert [r.id for r in items] == [str(n) for n in range(1, 20)]


def test_prune_removes_unseen_documents_of_the_same_source_only(tmp_path, run_ingest):
    index = str(tmp_path / "ix")
    feed_a = hindi_docs(4, source="feed-a")
    feed_b = hindi_docs(2, start=100, source="feed-b")
    assert run_ingest("--index", index, str(write_jsonl(tmp_path / "all.jsonl", feed_a + feed_b))).returncode == 0
    sync = write_jsonl(tmp_path / "sync.jsonl", feed_a[:2])
    report = report_of(run_ingest("--index", index, "--json", "--prune", str(sync)))
    assert (report["unchanged"], report["deleted"]) == (2, 2)
    assert index_ids(index) == ["syn-0", "syn-1", "syn-100", "syn-101"]

    # A run with rejects did not see the whole source: nothing is pruned.
    broken = write_jsonl(tmp_path / "broken.jsonl", feed_a[:1] + ["{oops"])
    report = report_of(run_ingest("--index", index, "--json", "--prune", str(broken)))
    assert report["deleted"] == 0 and "prune skipped" in report["notes"][0]
    assert len(index_ids(index)) == 4


def test_rerun_of_a_directory_writes_nothing(tmp_path, run_ingest):
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "a.jsonl", hindi_docs(30))
    (tmp_path / "in" / "b.txt").write_text("मौसम का हाल\nकल बारिश होगी।\n", encoding="utf-8")
    index = str(tmp_path / "ix")
    first = report_of(run_ingest("--index", index, "--json", "--batch-size", "7", str(tmp_path / "in")))
    assert (first["added"], first["updated"]) == (31, 0)
    files_before = sorted(os.listdir(index))
    again = report_of(run_ingest("--index", index, "--json", str(tmp_path / "in")))
    assert (again["read"], again["added"], again["updated"], again["unchanged"], again["deleted"]) == (31, 0, 0, 31, 0)
    assert sorted(os.listdir(index)) == files_before  # no new commit


def test_second_writer_times_out_with_status_75(tmp_path, run_ingest):
    index = str(tmp_path / "ix")
    data = write_jsonl(tmp_path / "in.jsonl", hindi_docs(2))
    with IngestLock(index) as lock:
        lock.acquire(wait=0)
        started = time.monotonic()
        result = run_ingest("--index", index, "--wait", "0.5", str(data))
        waited = time.monotonic() - started
    assert result.returncode == 75
    assert f"pid {os.getpid()}" in result.stderr and "--wait" in result.stderr
    assert waited >= 0.5
    assert run_ingest("--index", index, "--wait", "0", str(data)).returncode == 0  # free again


def test_lock_of_a_killed_job_is_recovered(tmp_path, run_ingest):
    index = str(tmp_path / "ix")
    holder = (
        "import os, signal, sys; sys.path.insert(0, sys.argv[2]);"
        "from search.indexing import IngestLock;"
        "IngestLock(sys.argv[1]).acquire(0); os.kill(os.getpid(), signal.SIGKILL)"
    )
    killed = subprocess.run([sys.executable, "-c", holder, index, str(ROOT / "src")])
    assert killed.returncode == -signal.SIGKILL
    assert "pid" in Path(index, "INGEST.lock").read_text()  # the lock file is left behind
    result = run_ingest("--index", index, "--wait", "0", str(write_jsonl(tmp_path / "in.jsonl", hindi_docs(3))))
    assert result.returncode == 0, result.stderr
    assert len(index_ids(index)) == 3


def _start_ingest(index: str, data: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "ingest.py"), "--index", index, "--json", *extra, str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _generation(index: str) -> int:
    """The index's latest commit generation (``_MAIN_<n>.toc``), -1 before the first."""
    names = os.listdir(index) if os.path.isdir(index) else []
    return max((int(n.rsplit("_", 1)[1].split(".")[0]) for n in names if n.endswith(".toc")), default=-1)


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun_completes(tmp_path, run_ingest):
    total = 12000
    data = write_jsonl(tmp_path / "big.jsonl", hindi_docs(total))
    index = str(tmp_path / "ix")
    job = _start_ingest(index, data, "--batch-size", "1000")
    deadline = time.monotonic() + 120
    # wait for a second commit (generation 2 or later), then kill in the middle of the next batch
    while time.monotonic() < deadline and _generation(index) < 2:
        time.sleep(0.05)
    time.sleep(0.3)
    helpers = _descendants(job.pid)  # worker processes, if the job runs any
    job.send_signal(signal.SIGKILL)
    job.communicate()
    assert job.returncode == -signal.SIGKILL
    gone_by = time.monotonic() + 10
    while time.monotonic() < gone_by and any(os.path.exists(f"/proc/{p}") and _cmdline(p) for p in helpers):
        time.sleep(0.1)
    assert not [p for p in helpers if _cmdline(p)], "worker processes outlived the killed ingest"
    committed = index_ids(index)  # opens, and holds whole batches only
    assert 0 < len(committed) < total and len(committed) % 1000 == 0

    result = run_ingest("--index", index, "--json", "--wait", "5", str(data))
    report = report_of(result)
    assert report["added"] == total - len(committed) and report["unchanged"] == len(committed)
    assert len(index_ids(index)) == total
    assert not [n for n in os.listdir(index) if n.endswith(".tmp")]  # the killed job's spill files are gone


@pytest.mark.slow
def test_search_keeps_answering_during_ingest_and_sees_new_documents(tmp_path, run_ingest):
    index = str(tmp_path / "ix")
    assert run_ingest("--index", index, str(write_jsonl(tmp_path / "first.jsonl", hindi_docs(200)))).returncode == 0
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0}))
    assert service.search(SearchRequest(q="भारत")).total > 0
    new_docs = hindi_docs(3000, start=200)
    new_docs[-1]["title"] = "अंतिम दस्तावेज़ ज्वालामुखी"
    job = _start_ingest(index, write_jsonl(tmp_path / "more.jsonl", new_docs), "--batch-size", "250")
    errors: list[BaseException] = []
    totals: list[list[int]] = [[], []]  # per thread: the order each thread saw

    def keep_searching(seen: list[int]) -> None:
        while job.poll() is None:
            try:
                seen.append(service.search(SearchRequest(q="भारत OR किसान")).total)
            except BaseException as exc:  # noqa: BLE001 - any error fails the test
                errors.append(exc)
                return

    threads = [threading.Thread(target=keep_searching, args=(seen,)) for seen in totals]
    for t in threads:
        t.start()
    out, err = job.communicate(timeout=300)
    for t in threads:
        t.join()
    assert job.returncode == 0, err
    assert not errors, errors[0]
    for seen in totals:
        assert len(seen) > 10 and seen == sorted(seen)  # answers all along, never fewer documents
        assert len(set(seen)) > 1  # saw commits while the ingest ran
    final = service.search(SearchRequest(q="ज्वालामुखी"))
    assert [h.id for h in final.hits] == ["syn-3199"]
    assert service.health()["documents"] == 3200


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
                found += kids
                stack += kids
        except OSError:
            continue
    return found


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


@pytest.mark.slow
def test_a_dead_worker_fails_the_job_cleanly_and_a_rerun_completes(tmp_path, run_ingest):
    total = 4000
    data = write_jsonl(tmp_path / "big.jsonl", hindi_docs(total))
    index = str(tmp_path / "ix")
    job = _start_ingest(index, data, "--procs", "2", "--batch-size", "2000")
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and job.poll() is None and not workers:
        workers = [p for p in _descendants(job.pid) if b"spawn_main" in _cmdline(p)]
        time.sleep(0.02)
    assert workers, "the ingest never started a worker process"
    os.kill(workers[0], signal.SIGKILL)  # as the OOM killer would
    out, err = job.communicate(timeout=120)  # fails, does not hang
    assert job.returncode == 2, (out, err)
    assert "worker process" in err and "re-run" in err
    committed = index_ids(index) if _generation(index) >= 0 else []
    assert len(committed) % 2000 == 0  # whole batches only

    report = report_of(run_ingest("--index", index, "--json", "--procs", "2", "--batch-size", "2000", str(data)))
    assert report["added"] + report["unchanged"] == total
    assert len(index_ids(index)) == total


def test_progress_bar_only_on_a_terminal(tmp_path, run_ingest):
    import pty

    data = write_jsonl(tmp_path / "in.jsonl", hindi_docs(20))
    piped = run_ingest("--index", str(tmp_path / "a"), str(data))
    assert piped.returncode == 0 and piped.stderr == ""  # cron mail stays clean

    main_fd, tty_fd = pty.openpty()
    job = subprocess.run(
        [sys.executable, str(ROOT / "ingest.py"), "--index", str(tmp_path / "b"), str(data)],
        stdout=subprocess.PIPE, stderr=tty_fd, timeout=120,
    )
    os.close(tty_fd)
    drawn = os.read(main_fd, 65536).decode("utf-8", "replace")
    os.close(main_fd)
    assert job.returncode == 0
    assert "1/1 files" in drawn and "20 read" in drawn and "docs/s" in drawn
    assert b"read 20, added 20" in job.stdout


def test_vocabulary_follows_deletes_and_is_rebuilt_after_a_crash_between_commit_and_save(tmp_path, run_ingest):
    index = Path(tmp_path / "ix")
    docs = [{"id": "v1", "body": "ज्वालामुखी फटा"}, {"id": "v2", "body": "किसान मेला"}]
    assert run_ingest("--index", str(index), str(write_jsonl(tmp_path / "in.jsonl", docs))).returncode == 0
    words = lambda: Vocabulary.load(str(index), Analyzer())._words  # noqa: E731
    assert "ज्वालामुखी" in words()
    assert run_ingest("--index", str(index), "--delete", "v1").returncode == 0
    assert "ज्वालामुखी" not in words() and "किसान" in words()

    # A job killed after its commit but before saving the vocabulary leaves the marker:
    (index / "vocabulary.json").write_text(json.dumps({"format": 1, "words": {}}), encoding="utf-8")
    (index / "vocabulary.dirty").touch()
    assert run_ingest("--index", str(index), os.devnull).returncode == 0
    assert "किसान" in words() and not (index / "vocabulary.dirty").exists()


def test_parallel_ingest_writes_what_one_process_writes(tmp_path, run_ingest):
    """``--procs 2`` splits documents between processes (and their vocabulary
    counts): the search results and the vocabulary are those of ``--procs 1``."""
    docs = hindi_docs(2500)
    docs[1500]["body"] += " ज़ोर जोर हिन्दी हिंदी"  # two spellings of one word in one document
    data = write_jsonl(tmp_path / "in.jsonl", docs)
    vocabularies, answers = [], []
    for procs in ("1", "2"):
        index = tmp_path / f"ix{procs}"
        report = report_of(run_ingest("--index", str(index), "--json", "--procs", procs, "--batch-size", "1200", str(data)))
        assert report["added"] == len(docs)
        vocabularies.append(Vocabulary.load(str(index), Analyzer())._words)
        service = SearchService(Settings.load({"index": str(index)}))
        results = [service.search(SearchRequest(q=q, per_page=100)) for q in ("किसान", "हिंदी", "\"भारत सरकार\"", "2499")]
        # which documents match, and how each scores (the order of equal scores depends on the segments)
        answers.append([(r.total, sorted((h.id, round(h.score, 6)) for h in r.hits) if r.total <= 100 else None)
                        for r in results])
    assert vocabularies[0] == vocabularies[1]
    assert answers[0] == answers[1]
