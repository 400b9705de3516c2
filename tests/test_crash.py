"""Crash injection: ingest jobs killed with SIGKILL at random moments, some of them
timed to land inside a commit, and stopped with SIGTERM/SIGINT.

After every kill the index must open, hold every document committed before the
kill exactly once (the committed documents are always a prefix of the input:
whole batches, in order), and find them by search; a re-run must bring the
index to exactly the input. ``SEARCH_CRASH_KILLS`` sets the number of kills
(default 20; CI runs fewer), ``SEARCH_CRASH_SEED`` the random seed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, hindi_docs, index_ids, write_jsonl

from search import SearchRequest, SearchService, Settings
from search.cli import EXIT_INTERRUPTED

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("SEARCH_CRASH_KILLS", "20"))
SEED = int(os.environ.get("SEARCH_CRASH_SEED", str(random.randrange(10**6))))
TOTAL, BATCH = 16000, 800


def _start(index: str, data: Path, procs: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "ingest.py"), "--index", index, "--json", "--wait", "30",
         "--batch-size", str(BATCH), "--procs", str(procs), str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_commit_start(index: str, job: subprocess.Popen, limit: float) -> bool:
    """Poll until the job starts a commit (it creates ``vocabulary.dirty`` just before)."""
    marker = os.path.join(index, "vocabulary.dirty")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and job.poll() is None:
        if os.path.exists(marker):
            return True
        time.sleep(0.002)
    return False


def _number(doc_id: str) -> int:
    return int(doc_id.split("-")[1])


def check_committed(index: str, at_least: int) -> int:
    """The index opens; its documents are syn-0 … syn-(m-1), each once, m ≥ ``at_least``
    and a whole number of batches; a few of them, picked at random, are found by search."""
    if not os.path.isdir(index) or not any(n.endswith(".toc") for n in os.listdir(index)):  # killed that early
        assert at_least == 0
        return 0
    ids = index_ids(index)
    assert len(ids) == len(set(ids)), "a document is in the index twice"
    numbers = sorted(_number(i) for i in ids)
    assert numbers == list(range(len(numbers))), "the committed documents are not whole batches in order"
    assert len(numbers) >= at_least, f"committed documents were lost: {len(numbers)} < {at_least}"
    assert len(numbers) % BATCH == 0 or len(numbers) == TOTAL
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0}))
    for n in random.sample(numbers, min(3, len(numbers))):
        hits = service.search(SearchRequest(q=str(n), per_page=100)).hits  # the number is in its title
        assert f"syn-{n}" in [h.id for h in hits]
    return len(numbers)


def test_sigkill_at_random_moments_and_inside_commits(tmp_path, run_ingest):
    rng = random.Random(SEED)
    print(f"crash test: {KILLS} kills, seed {SEED} (SEARCH_CRASH_SEED)")
    data = write_jsonl(tmp_path / "big.jsonl", hindi_docs(TOTAL))
    index = str(tmp_path / "ix")
    committed, kills, in_commit = 0, 0, 0
    attempts = 0
    while kills < KILLS:
        attempts += 1
        assert attempts < KILLS * 4, "the jobs kept finishing before they could be killed"
        if committed == TOTAL:  # finished: start over, so every kill hits real work
            for name in os.listdir(index):
                os.remove(os.path.join(index, name))
            committed = 0
        procs = rng.choice((1, 2))
        job = _start(index, data, procs)
        aim_at_commit = kills % 3 == 2  # every third kill waits for a commit to start
        if aim_at_commit:
            hit = _wait_for_commit_start(index, job, 60)
            time.sleep(rng.uniform(0, 0.05))
        else:
            time.sleep(rng.uniform(0.3, 3.0))
            hit = False
        if job.poll() is not None:  # finished before the kill
            out, err = job.communicate()
            assert job.returncode == 0, err
            committed = check_committed(index, committed)
            continue
        job.send_signal(signal.SIGKILL)
        job.communicate()
        assert job.returncode == -signal.SIGKILL
        kills += 1
        in_commit += hit
        committed = check_committed(index, committed)
    print(f"crash test: survived {kills} kills ({in_commit} inside a commit) in {attempts} runs")
    result = run_ingest("--index", index, "--json", "--wait", "30", "--batch-size", str(BATCH), str(data))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == TOTAL - committed and report["unchanged"] == committed
    assert check_committed(index, committed) == TOTAL
    assert not [n for n in os.listdir(index) if n.endswith(".tmp") or n == "vocabulary.dirty"]
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0}))
    assert service.stats()["documents"] == TOTAL
    assert service.search(SearchRequest(q="भारत OR सरकार OR नदी OR किसान")).total == TOTAL  # every doc has one


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_stop_at_a_batch_boundary_with_a_report(tmp_path, run_ingest, signum):
    data = write_jsonl(tmp_path / "big.jsonl", hindi_docs(TOTAL))
    index = str(tmp_path / "ix")
    job = _start(index, data, procs=2)
    assert _wait_for_commit_start(index, job, 60)  # the job is well under way
    time.sleep(0.3)
    job.send_signal(signum)
    out, err = job.communicate(timeout=120)
    assert job.returncode == EXIT_INTERRUPTED, err
    assert "stopped by signal" in err and "Traceback" not in err
    report = json.loads(out)
    assert report["interrupted"] is True and any("interrupted" in n for n in report["notes"])
    stored = index_ids(index)
    assert len(stored) == report["added"] < TOTAL  # everything reported is committed, nothing else
    assert sorted(_number(i) for i in stored) == list(range(len(stored)))
    assert not [n for n in os.listdir(index) if n.endswith(".tmp") or n == "vocabulary.dirty"]
    result = run_ingest("--index", index, "--json", "--batch-size", str(BATCH), str(data))
    assert result.returncode == 0, result.stderr
    again = json.loads(result.stdout)
    assert (again["added"], again["unchanged"]) == (TOTAL - len(stored), len(stored))
    assert len(index_ids(index)) == TOTAL
