"""Storage faults and damaged indexes: a full disk, a read-only or forbidden index
directory, a truncated segment, a wrong ``--index``. Ingest fails with a clear
message and its own exit status and never writes over what it cannot read; the
service keeps answering (``/health`` says what is wrong, searches get a 503 JSON).

Disk full and read-only are simulated with the storage fault hook
(``SEARCH_FAULT_INJECT=ERRNO:N``, see ``search.engine``), which can fail any file
at any point of a run; a read-only directory is also tested for real (as root,
whom ``chmod`` does not stop, through ``setpriv`` as ``nobody``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, hindi_docs, index_ids, write_jsonl

from search import create_app
from search.cli import EXIT_DAMAGED, EXIT_LOCKED, EXIT_OK, EXIT_STORAGE
from search.engine import FAULT_INJECT_ENV

BATCH = 100


def ingest_with_fault(fault: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "ingest.py"), *args],
        capture_output=True, text=True, encoding="utf-8", timeout=300,
        env={**os.environ, FAULT_INJECT_ENV: fault},
    )


def answers(index: str) -> dict[str, tuple[int, dict]]:
    client = create_app({"index": index, "refresh_seconds": 0}).test_client()
    out = {}
    for path in ("/health", "/search?q=भारत", "/suggest?q=भार", "/documents/syn-1", "/stats", "/export.csv?q=भारत"):
        response = client.get(path)
        out[path.split("?")[0].rsplit("/", 1)[0] if path.startswith("/documents/") else path.split("?")[0]] = (response.status_code, response.get_json(silent=True) or {})
    return out


@pytest.fixture
def committed_index(tmp_path, run_ingest) -> str:
    """An index holding syn-0 … syn-299 in three commits."""
    index = str(tmp_path / "ix")
    data = write_jsonl(tmp_path / "first.jsonl", hindi_docs(300))
    assert run_ingest("--index", index, "--batch-size", str(BATCH), str(data)).returncode == EXIT_OK
    return index


@pytest.mark.parametrize("nth_file", [1, 2, 3, 4, 6, 9, 14])
def test_disk_full_at_any_file_fails_cleanly_and_keeps_the_last_commit(committed_index, tmp_path, run_ingest, nth_file):
    """ENOSPC at the nth file the ingest creates: in a spill file, a segment, the
    table of contents (inside the commit) or a later batch."""
    more = write_jsonl(tmp_path / "more.jsonl", hindi_docs(1000))
    result = ingest_with_fault(f"ENOSPC:{nth_file}", "--index", committed_index, "--procs", "1",
                               "--batch-size", str(BATCH), "--json", str(more))
    assert result.returncode == EXIT_STORAGE, result.stderr
    assert "No space left on device" in result.stderr and "stays searchable" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    ids = index_ids(committed_index)  # opens; whole batches only, each document once
    assert len(ids) == len(set(ids)) and len(ids) % BATCH == 0 and len(ids) >= 300
    served = answers(committed_index)
    assert served["/health"][0] == 200 and served["/health"][1]["documents"] == len(ids)
    assert served["/search"][0] == 200 and served["/documents"][0] == 200
    # Space again: the re-run completes the job and leaves nothing behind.
    again = run_ingest("--index", committed_index, "--batch-size", str(BATCH), "--json", str(more))
    assert again.returncode == EXIT_OK, again.stderr
    assert json.loads(again.stdout)["added"] == 1000 - len(ids)
    assert len(index_ids(committed_index)) == 1000
    assert not [n for n in os.listdir(committed_index) if n.endswith(".tmp") or n == "vocabulary.dirty"]


@pytest.mark.parametrize("fault", ["EROFS:1", "EACCES:1", "EDQUOT:2"])
def test_read_only_or_forbidden_index_directory(committed_index, tmp_path, fault):
    more = write_jsonl(tmp_path / "more.jsonl", hindi_docs(50, start=1000))
    result = ingest_with_fault(fault, "--index", committed_index, str(more))
    assert result.returncode == EXIT_STORAGE, result.stderr
    assert f"cannot write the index at {committed_index!r}" in result.stderr
    assert len(index_ids(committed_index)) == 300
    assert answers(committed_index)["/search"][0] == 200


def test_a_really_read_only_directory(tmp_path, run_ingest):
    """A directory whose mode forbids writing, for real: as an ordinary user; as root
    (whom the mode does not stop) the ingest runs as ``nobody`` through ``setpriv``."""
    as_user: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: the injected EROFS/EACCES tests above cover it")
        as_user = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    shared = tempfile.mkdtemp(prefix="readonly-")  # under /tmp, readable by nobody
    try:
        index = os.path.join(shared, "ix")
        first = write_jsonl(Path(shared, "first.jsonl"), hindi_docs(30))
        assert run_ingest("--index", index, str(first)).returncode == EXIT_OK
        more = write_jsonl(Path(shared, "more.jsonl"), hindi_docs(30, start=100))
        for path in (shared, first, more):
            os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)
        os.chmod(index, 0o555)  # read and enter, not write
        result = subprocess.run([*as_user, sys.executable, str(ROOT / "ingest.py"), "--index", index, str(more)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == EXIT_STORAGE, result.stderr
        assert "Permission denied" in result.stderr and "Traceback" not in result.stderr
        os.chmod(index, 0o755)
        assert len(index_ids(index)) == 30
        assert answers(index)["/search"][0] == 200
    finally:
        shutil.rmtree(shared, ignore_errors=True)  # root may delete in a 0o555 directory


def _truncate_largest_segment(index: str, keep: float) -> None:
    segment = max((n for n in os.listdir(index) if n.endswith(".seg")), key=lambda n: os.path.getsize(os.path.join(index, n)))
    path = os.path.join(index, segment)
    with open(path, "r+b") as f:
        f.truncate(int(os.path.getsize(path) * keep))


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_truncated_segment_health_503_ingest_refuses_rebuild_recovers(committed_index, tmp_path, run_ingest, keep):
    _truncate_largest_segment(committed_index, keep)
    served = answers(committed_index)  # the app starts; nothing crashes
    status, body = served["/health"]
    assert status == 503 and body["status"] == "error" and "rebuild" in body["message"]
    for path in ("/search", "/suggest", "/documents", "/stats", "/export.csv"):
        assert served[path][0] == 503 and served[path][1]["error"] == "index_unavailable", path
    files_before = {n: os.path.getsize(os.path.join(committed_index, n)) for n in os.listdir(committed_index)}

    more = write_jsonl(tmp_path / "more.jsonl", hindi_docs(300))
    refused = run_ingest("--index", committed_index, str(more))
    assert refused.returncode == EXIT_DAMAGED and "--rebuild" in refused.stderr and "nothing was written" in refused.stderr
    assert {n: os.path.getsize(os.path.join(committed_index, n)) for n in os.listdir(committed_index)} == files_before

    rebuilt = run_ingest("--index", committed_index, "--rebuild", "--json", str(more))
    assert rebuilt.returncode == EXIT_OK, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["added"] == 300
    assert len(index_ids(committed_index)) == 300
    assert answers(committed_index)["/health"] == (200, {"status": "ok", "documents": 300, "generation": 1, "semantic": {"enabled": False, "available": False, "reason": "off (set SEARCH_SEMANTIC=1)"}})
    assert not set(files_before) & {n for n in os.listdir(committed_index) if n.endswith(".seg")}  # old segments gone


def test_missing_index_and_wrong_directory(tmp_path, run_ingest):
    missing = str(tmp_path / "nowhere")
    status, body = answers(missing)["/health"]
    assert status == 503 and "run ingest first" in body["message"]
    assert answers(missing)["/search"][0] == 503

    wrong = tmp_path / "home"
    wrong.mkdir()
    (wrong / "notes.txt").write_text("मेरी फ़ाइल", encoding="utf-8")
    data = write_jsonl(tmp_path / "in.jsonl", hindi_docs(3))
    for extra in ((), ("--rebuild",)):  # --rebuild replaces an index, never writes among a stranger's files
        result = run_ingest("--index", str(wrong), *extra, str(data))
        assert result.returncode == EXIT_DAMAGED and "notes.txt" in result.stderr and "right directory" in result.stderr
    assert sorted(os.listdir(wrong)) == ["INGEST.lock", "notes.txt"]
    assert (wrong / "notes.txt").read_text(encoding="utf-8") == "मेरी फ़ाइल"

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".gitkeep").touch()  # as the repository's index/ directory
    assert run_ingest("--index", str(empty), str(data)).returncode == EXIT_OK


def test_the_fault_hook_refuses_a_malformed_setting(tmp_path):
    result = ingest_with_fault("disk full please", "--index", str(tmp_path / "ix"), "/dev/null")
    assert result.returncode != 0 and "ERRNO:N" in result.stderr
    shutil.rmtree(tmp_path / "ix", ignore_errors=True)


# -- clean states after a crash: nothing is ever taken for another application's files --


def leftovers(index: str) -> list[str]:
    """Files of ``index`` that a clean index does not hold: spill directories, temporary
    tables of contents and vocabularies, the dirty marker, files of unreferenced segments."""
    import whoosh.index

    live = {s.segment_id() for s in whoosh.index.open_dir(index)._segments()}
    found = []
    for name in os.listdir(index):
        segment = name.split(".")[0] if name.startswith("MAIN_") and name != "MAIN_WRITELOCK" else None
        if (name.endswith(".tmp") or ".toc." in name or name.startswith(".vocabulary-")
                or name == "vocabulary.dirty" or (segment is not None and segment not in live)):
            found.append(name)
    return sorted(found)


@pytest.mark.parametrize("rebuild", [False, True], ids=["ingest", "rebuild"])
def test_what_a_kill_inside_the_first_commit_leaves_is_recovered(tmp_path, run_ingest, rebuild):
    """What a SIGKILL inside the first commit of a new index leaves: the lock note and half
    the empty index's table of contents, under Whoosh's temporary name ``_MAIN_0.toc.<time>``
    (renamed into place once written). Every later ingest, --rebuild too, refused the
    directory as foreign files (exit 5)."""
    index = tmp_path / "ix"
    index.mkdir()
    (index / "INGEST.lock").touch()
    (index / "_MAIN_0.toc.1764612345.1234567").write_bytes(b"\x04\x08\x08\xff\xff\xcf\xc7\x00")
    data = write_jsonl(tmp_path / "docs.jsonl", hindi_docs(20))
    result = run_ingest("--index", str(index), *(["--rebuild"] if rebuild else []), "--json", str(data))
    assert result.returncode == EXIT_OK, result.stderr
    assert len(index_ids(str(index))) == 20 and leftovers(str(index)) == []


def test_temporary_files_of_a_killed_commit_go_at_the_next_run(committed_index, tmp_path, run_ingest):
    """A table of contents or vocabulary a killed commit did not rename into place is
    removed by the next run (they survived every recovery)."""
    for name in ("_MAIN_4.toc.1764612345.1234567", ".vocabulary-k3j4h5g6"):
        Path(committed_index, name).write_bytes(b"half a file")
    result = run_ingest("--index", committed_index, "--json", os.devnull)
    assert result.returncode == EXIT_OK, result.stderr
    assert leftovers(committed_index) == []
    assert len(index_ids(committed_index)) == 300


def test_stats_while_a_commit_removes_files(committed_index):
    """/stats lists the directory, then asks each file's size: a commit deleting files in
    between (its clean-up) made it a 500 (FileNotFoundError)."""
    import threading

    client = create_app({"index": committed_index, "refresh_seconds": 0}).test_client()
    stop = threading.Event()

    def churn(worker: int) -> None:  # files come and go, as a commit's clean-up removes the old ones
        n = 0
        while not stop.is_set():
            path = os.path.join(committed_index, f"MAIN_{worker}{n % 50:015d}.seg")
            with open(path, "wb"):
                pass
            os.remove(path)
            n += 1

    workers = [threading.Thread(target=churn, args=(n,)) for n in range(2)]
    for worker in workers:
        worker.start()
    try:
        statuses = {client.get("/stats").status_code for _ in range(300)}
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert statuses == {200}


# -- crash injection: killed at each file of a commit, or as the vocabulary is saved --


def test_a_kill_inside_the_first_commit_of_a_new_index(tmp_path, run_ingest):
    """The same for real: killed as it creates its first file (the empty index's table of
    contents, under its temporary name), then run again."""
    index = str(tmp_path / "ix")
    data = write_jsonl(tmp_path / "docs.jsonl", hindi_docs(50))
    killed = ingest_with_fault("KILL:1", "--index", index, str(data))
    assert killed.returncode == -9, killed.stderr
    assert [n for n in os.listdir(index) if n.startswith("_MAIN_0.toc.")]
    again = run_ingest("--index", index, "--json", str(data))
    assert again.returncode == EXIT_OK, again.stderr
    assert json.loads(again.stdout)["added"] == 50 and len(index_ids(index)) == 50
    assert leftovers(index) == []


def _kill_and_recover(index: str, pristine: str, data: Path, fault: str, run_ingest) -> bool:
    """Run the job on a copy of ``pristine`` with ``fault`` (``KILL:N``…); when it was
    killed, re-run it: it must finish the job exactly and leave nothing behind. False
    when the fault never struck (the run created fewer files)."""
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(pristine, index)
    args = ("--index", index, "--procs", "1", "--batch-size", "150", str(data))
    killed = ingest_with_fault(fault, *args)
    if killed.returncode == EXIT_OK:
        return False
    assert killed.returncode == -9, killed.stderr
    ids = index_ids(index)
    assert len(ids) == len(set(ids)) and len(ids) in (50, 200), fault  # before or after the commit
    again = run_ingest(*args)
    assert again.returncode == EXIT_OK, (fault, again.stderr)
    assert len(index_ids(index)) == 200 and leftovers(index) == [], fault
    return True


@pytest.mark.slow
def test_a_kill_at_every_file_of_a_run_recovers_cleanly(tmp_path, run_ingest):
    """Crash injection at each point of a run in turn: killed as it creates its 1st, 2nd, …
    file of its commit (spill file, segment parts, the segment, its sums, the table of
    contents), or halfway through writing the vocabulary; a re-run must finish the job
    exactly and leave nothing behind."""
    pristine, index = str(tmp_path / "pristine"), str(tmp_path / "ix")
    assert run_ingest("--index", pristine, str(write_jsonl(tmp_path / "first.jsonl", hindi_docs(50)))).returncode == 0
    data = write_jsonl(tmp_path / "more.jsonl", hindi_docs(200))  # 150 new documents: one commit
    nth = 0
    while _kill_and_recover(index, pristine, data, f"KILL:{nth + 1}", run_ingest):
        nth += 1
        assert nth < 100, "the run never finished"
    assert nth > 10  # the files of one commit


def test_a_kill_while_saving_the_vocabulary(tmp_path, run_ingest):
    """Killed halfway through writing the vocabulary of a commit: the half file and the
    dirty marker stay; the next run rebuilds the word list and removes the half file."""
    pristine = str(tmp_path / "pristine")
    assert run_ingest("--index", pristine, str(write_jsonl(tmp_path / "first.jsonl", hindi_docs(50)))).returncode == 0
    data = write_jsonl(tmp_path / "more.jsonl", hindi_docs(200))
    assert _kill_and_recover(str(tmp_path / "ix"), pristine, data, "KILL:1:vocabulary", run_ingest)


@pytest.mark.parametrize("nth_save", [1, 2])
def test_disk_full_while_saving_the_vocabulary(committed_index, tmp_path, run_ingest, nth_save):
    """ENOSPC after a commit is visible, while the side file of /suggest is written: the
    documents ARE committed, so the message says so, the report is printed, no partial
    temporary file stays, and the next ingest rebuilds the word list."""
    more = write_jsonl(tmp_path / "more.jsonl", hindi_docs(1000))
    result = ingest_with_fault(f"ENOSPC:{nth_save}:vocabulary", "--index", committed_index, "--procs", "1",
                               "--batch-size", str(BATCH), "--json", str(more))
    assert result.returncode == EXIT_STORAGE, result.stderr
    assert "Traceback" not in result.stderr and "not committed" not in result.stderr
    assert "No space left on device" in result.stderr and "are committed" in result.stderr
    assert "vocabulary" in result.stderr and "rebuild" in result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == nth_save * BATCH == len(index_ids(committed_index)) - 300
    assert any("vocabulary" in note for note in report["notes"])
    assert not [n for n in os.listdir(committed_index) if n.startswith(".vocabulary-")]
    assert os.path.exists(os.path.join(committed_index, "vocabulary.dirty"))  # the next run rebuilds it

    again = run_ingest("--index", committed_index, "--batch-size", str(BATCH), "--json", str(more))
    assert again.returncode == EXIT_OK, again.stderr
    assert json.loads(again.stdout)["added"] == 1000 - 300 - nth_save * BATCH
    assert leftovers(committed_index) == []
    from search.analysis import Analyzer
    from search.vocabulary import Vocabulary

    saved = Vocabulary.load(committed_index, Analyzer())
    assert saved.documents() == Vocabulary.from_documents(Analyzer(), hindi_docs(1000)).documents()


# -- damaged data: found by checksums, or by the error reading it raises --------------

ENDPOINTS = ("/health", "/search", "/suggest", "/documents", "/stats", "/export.csv")


def _flip_bytes(path: str, start: int, length: int, times: int = 3) -> None:
    """Flip a few bits inside ``path[start:start + length]``, as a failing disk does."""
    with open(path, "r+b") as f:
        for at in range(start + length // 4, start + length, max(1, length // times)):
            f.seek(at)
            byte = f.read(1)
            f.seek(at)
            f.write(bytes([byte[0] ^ 0x55]))


def _part(path: str, ending: str) -> tuple[int, int]:
    """Offset and length of the part ``*<ending>`` inside a compound segment file."""
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.filedb.structfile import StructFile

    with open(path, "rb") as f:
        parts = CompoundStorage(StructFile(f), use_mmap=False)
        return next(parts.range(name) for name in parts._dir if name.endswith(ending))


def _segments(index: str) -> list[str]:
    return sorted(os.path.join(index, n) for n in os.listdir(index) if n.endswith(".seg"))


def test_a_flipped_bit_in_a_segment_is_found_by_its_checksum(committed_index, tmp_path, run_ingest):
    """One flipped byte that Whoosh reads without noticing (the answers were silently
    wrong, /health 200): every endpoint is a 503 naming the file; ingest refuses to
    write (exit 5) and --rebuild replaces the index."""
    segment = _segments(committed_index)[1]
    _flip_bytes(segment, os.path.getsize(segment) // 2, 1, times=1)
    served = answers(committed_index)
    for path in ENDPOINTS:
        status, body = served[path]
        assert status == 503, (path, status)
        assert os.path.basename(segment) in body["message"] and "checksum" in body["message"], path
    assert served["/search"][1]["error"] == "index_unavailable"
    files_before = {n: os.path.getsize(os.path.join(committed_index, n)) for n in os.listdir(committed_index)}
    more = write_jsonl(tmp_path / "more.jsonl", hindi_docs(10, start=5000))
    refused = run_ingest("--index", committed_index, str(more))
    assert refused.returncode == EXIT_DAMAGED and "checksum" in refused.stderr and "--rebuild" in refused.stderr
    assert {n: os.path.getsize(os.path.join(committed_index, n)) for n in os.listdir(committed_index)} == files_before
    rebuilt = run_ingest("--index", committed_index, "--rebuild", str(more))
    assert rebuilt.returncode == EXIT_OK, rebuilt.stderr
    assert answers(committed_index)["/health"] == (200, {"status": "ok", "documents": 10, "generation": 1, "semantic": {"enabled": False, "available": False, "reason": "off (set SEARCH_SEMANTIC=1)"}})


def test_damage_in_an_index_written_before_checksums(committed_index):
    """Without sums (an index of an earlier version) damage shows only when it is read: the
    decoding error (zlib.error) made queries and exports 500 while /health said 200. Now
    the search that meets it is a 503, and so is every endpoint after it, /health too."""
    for name in os.listdir(committed_index):
        if name.endswith(".sums"):
            os.remove(os.path.join(committed_index, name))
    for segment in _segments(committed_index):
        _flip_bytes(segment, *_part(segment, ".pst"))  # inside compressed posting blocks
    client = create_app({"index": committed_index, "refresh_seconds": 0}).test_client()
    assert client.get("/health").status_code == 200  # nothing read yet looks wrong
    every_word = " OR ".join("भारत सरकार नदी पहाड़ किसान बारिश मानसून गाँव शहर विद्यालय बच्चे खेल".split())
    for path in ("/search", "/export.csv"):
        response = client.get(path, query_string={"q": every_word})
        assert response.status_code == 503, (path, response.status_code)
        message = response.get_json()["message"]
        assert "damaged" in message and "before checksums" in message and "--rebuild" in message
    for path in ("/health", "/search?q=भारत", "/suggest?q=भार", "/documents/syn-1", "/stats"):
        assert client.get(path).status_code == 503, path


def test_another_applications_whoosh_index(tmp_path, run_ingest):
    """A Whoosh index of another schema at SEARCH_INDEX: every endpoint was a 500 and
    ingest a traceback; now a 503 and exit 5 saying what it is, and --rebuild replaces it."""
    import whoosh.fields
    import whoosh.index

    index = tmp_path / "theirs"
    index.mkdir()
    theirs = whoosh.index.create_in(str(index), whoosh.fields.Schema(
        path=whoosh.fields.ID(stored=True, unique=True), content=whoosh.fields.TEXT(stored=True)))
    with theirs.writer() as writer:
        writer.add_document(path="/a", content="their own text")
    served = answers(str(index))
    for path in ENDPOINTS:
        status, body = served[path]
        assert status == 503 and "not a hindi-search index" in body["message"], (path, status)
    data = write_jsonl(tmp_path / "docs.jsonl", hindi_docs(5))
    refused = run_ingest("--index", str(index), str(data))
    assert refused.returncode == EXIT_DAMAGED, refused.stderr
    assert "not a hindi-search index" in refused.stderr and "Traceback" not in refused.stderr
    rebuilt = run_ingest("--index", str(index), "--rebuild", str(data))
    assert rebuilt.returncode == EXIT_OK, rebuilt.stderr
    assert len(index_ids(str(index))) == 5 and leftovers(str(index)) == []


# -- one ingest at a time, whatever happens to INGEST.lock ------------------------


def test_a_deleted_lock_file_does_not_let_a_second_run_in(committed_index, tmp_path, run_ingest):
    """The lock is on the index directory itself: deleting INGEST.lock (only a note of who
    holds it) used to let a second run in, which then deleted the first one's files."""
    import time

    first = subprocess.Popen(
        [sys.executable, str(ROOT / "ingest.py"), "--index", committed_index, "--json", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )
    try:
        note = os.path.join(committed_index, "INGEST.lock")
        for _ in range(600):  # the first run holds the lock and has opened its writer
            with open(note, encoding="utf-8") as f:
                held = f.read().startswith(f"pid {first.pid}")
            if held and os.path.isdir(os.path.join(committed_index, "MAIN.tmp")):
                break
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("the first run did not start")
        os.remove(note)
        second = run_ingest("--index", committed_index, "--wait", "0", "--json", os.devnull)
        assert second.returncode == EXIT_LOCKED, second.stderr
        assert "another ingest" in second.stderr
        docs = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in hindi_docs(150, start=300))
        out, err = first.communicate(docs, timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == EXIT_OK, err
    assert json.loads(out)["added"] == 150
    assert len(index_ids(committed_index)) == 450 and leftovers(committed_index) == []
