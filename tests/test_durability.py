"""Durability and checksums: what an ingest reports as committed survives a power cut,
and a file changed on disk afterwards is noticed.

Whoosh itself never calls ``fsync`` and keeps no checksums. Here every commit
flushes its new files, then the renamed table of contents, then the directory
(``SEARCH_FSYNC``, on by default), and each new segment gets a side file of the
sizes and CRC-32s of its files (``MAIN_<id>.sums``), written and flushed before
the table of contents that names the segment. Flushing is shown by recording the
``fsync`` calls of an ingest run in this process, in order with its renames.
"""

from __future__ import annotations

import json
import os
import zlib

import pytest
from conftest import hindi_docs, index_ids, write_jsonl

from search import ingest, read_inputs


class _Events(list):
    """The calls, and at each rename of a table of contents (by its place in the
    list) the segment files the directory holds then."""

    present: dict[int, list[str]]


@pytest.fixture
def disk_calls(monkeypatch):
    """Every ``os.fsync`` (as the path of its descriptor), ``os.rename`` and ``os.replace``
    of this process, in order; the calls still happen."""
    events = _Events()
    fsync, rename, replace = os.fsync, os.rename, os.replace

    def recorded_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recorded(kind, call):
        def run(src, dst, *args, **kwargs):
            events.append((kind, os.path.abspath(src), os.path.abspath(dst)))
            if dst.endswith(".toc"):  # what the new table of contents may name, as it is renamed
                folder = os.path.dirname(os.path.abspath(dst))
                present[len(events) - 1] = [os.path.join(folder, n) for n in os.listdir(folder)
                                            if n.startswith("MAIN_") and n != "MAIN_WRITELOCK"]
            return call(src, dst, *args, **kwargs)
        return run

    present: dict[int, list[str]] = {}
    events.present = present  # type: ignore[attr-defined]

    monkeypatch.setattr(os, "fsync", recorded_fsync)
    monkeypatch.setattr(os, "rename", recorded("rename", rename))
    monkeypatch.setattr(os, "replace", recorded("replace", replace))
    return events


def _run(tmp_path, docs: int = 250, batch_size: int = 100, **kwargs) -> str:
    index = str(tmp_path / "ix")
    data = write_jsonl(tmp_path / "docs.jsonl", hindi_docs(docs))
    report = ingest(read_inputs([str(data)]), index, batch_size=batch_size, **kwargs)
    assert report.added == docs
    return index


def test_every_commit_is_flushed_before_and_after_it_becomes_visible(tmp_path, disk_calls, monkeypatch):
    """On by default: the table of contents before its rename, the directory after it,
    the vocabulary before it replaces the old one, the directory after that."""
    monkeypatch.delenv("SEARCH_FSYNC", raising=False)
    index = os.path.realpath(_run(tmp_path))
    synced = [e[1] for e in disk_calls if e[0] == "fsync"]
    tables = [e for e in disk_calls if e[0] == "rename" and e[2].endswith(".toc")]
    assert [os.path.basename(e[2]) for e in tables] == ["_MAIN_0.toc", "_MAIN_1.toc", "_MAIN_2.toc", "_MAIN_3.toc"]
    for event in tables:
        at = disk_calls.index(event)
        before, after = [e[1] for e in disk_calls[:at] if e[0] == "fsync"], disk_calls[at + 1]
        assert event[1] in before, "the table of contents is flushed before its rename"
        assert after == ("fsync", index), "and the directory right after it"
    segment_files = [os.path.join(index, n) for n in os.listdir(index) if n.startswith("MAIN_") and n != "MAIN_WRITELOCK"]
    assert segment_files and set(segment_files) <= set(synced)  # when: the next test
    # The vocabulary: the new file before it replaces the old one, the directory after.
    saves = [e for e in disk_calls if e[0] == "replace" and e[2].endswith("vocabulary.json")]
    assert len(saves) == 3
    for event in saves:
        at = disk_calls.index(event)
        assert ("fsync", event[1]) in disk_calls[:at] and disk_calls[at + 1] == ("fsync", index)


def test_each_segment_is_flushed_before_the_commit_that_names_it(tmp_path, disk_calls):
    """When a table of contents is renamed into place, every segment file it may name
    (all the directory holds then, the new segments' and their sums) is on disk."""
    _run(tmp_path, docs=450)
    assert len(disk_calls.present) == 6  # the empty index, then five commits
    for at, files in disk_calls.present.items():
        flushed = {e[1] for e in disk_calls[:at] if e[0] == "fsync"}
        assert set(files) <= flushed, (disk_calls[at], sorted(set(files) - flushed))
    assert any(f.endswith(".sums") for files in disk_calls.present.values() for f in files)


def test_no_fsync_with_the_setting_off(tmp_path, disk_calls, monkeypatch):
    monkeypatch.setenv("SEARCH_FSYNC", "0")
    _run(tmp_path)
    assert [e for e in disk_calls if e[0] == "fsync"] == []
    assert [e for e in disk_calls if e[0] == "rename"]  # the commits themselves happened


def _sums(index: str) -> dict[str, dict]:
    return {n.split(".")[0]: json.loads(open(os.path.join(index, n), encoding="ascii").read())
            for n in os.listdir(index) if n.endswith(".sums")}


def _crc(path: str) -> int:
    with open(path, "rb") as f:
        return zlib.crc32(f.read())


@pytest.mark.slow
def test_every_segment_has_checksums_workers_and_merges_too(tmp_path):
    """The segments written by worker processes, and the one a merge writes, are summed
    by the ingest process at its commit, like its own."""
    import whoosh.index

    index = _run(tmp_path, docs=2500, batch_size=1200, procs=3)
    live = {s.segment_id() for s in whoosh.index.open_dir(index)._segments()}
    assert len(live) > 3  # the ingest's own segments and the workers'
    sums = _sums(index)
    assert set(sums) == live
    for segment, saved in sums.items():
        assert saved["format"] == 1 and list(saved["crc32"]) == [segment + ".seg"]
        path = os.path.join(index, segment + ".seg")
        assert saved["crc32"][segment + ".seg"] == [os.path.getsize(path), _crc(path)]
    ingest(read_inputs([os.devnull]), index, max_segments=1)  # changes nothing: no merge
    assert set(_sums(index)) == live
    more = write_jsonl(tmp_path / "more.jsonl", hindi_docs(5, start=9000))
    ingest(read_inputs([str(more)]), index, max_segments=1)
    (merged,) = {s.segment_id() for s in whoosh.index.open_dir(index)._segments()}
    assert set(_sums(index)) == {merged}  # the merged-away segments' sums went with them
    assert len(index_ids(index)) == 2505


def test_an_index_written_before_checksums_is_read_and_said_unverified(tmp_path):
    """Segments without sums (an earlier version wrote them) are read as before, with a
    note in the ingest report; a merge writes them again, with sums."""
    index = _run(tmp_path)
    for name in os.listdir(index):
        if name.endswith(".sums"):
            os.remove(os.path.join(index, name))
    more = write_jsonl(tmp_path / "more.jsonl", hindi_docs(5, start=9000))
    report = ingest(read_inputs([str(more)]), index)
    assert report.added == 5
    assert any("3 segment(s)" in note and "not verified" in note for note in report.notes), report.notes
    one = write_jsonl(tmp_path / "one.jsonl", hindi_docs(1, start=9100))
    ingest(read_inputs([str(one)]), index, max_segments=1)  # a run that changes something, then merges
    again = ingest(read_inputs([os.devnull]), index)
    assert not any("not verified" in note for note in again.notes), again.notes
    assert len(_sums(index)) == 1 and len(index_ids(index)) == 256
