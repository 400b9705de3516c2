"""``ingest.py`` run as a user runs it: JSON Lines in, report and exit status out."""

from __future__ import annotations

import json

import pytest

from conftest import write_jsonl

from search import SearchRequest, SearchService, Settings

GOOD = {"id": "d1", "title": "मानसून की पहली बारिश", "body": "दिल्ली में मानसून की पहली बारिश हुई।"}


def ids_for(index: str, q: str) -> list[str]:
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0}))
    return sorted(h.id for h in service.search(SearchRequest(q=q, per_page=100)).hits)


def test_creates_index_and_reports(tmp_path, run_ingest):
    index = tmp_path / "new" / "index"
    data = write_jsonl(tmp_path / "in.jsonl", [GOOD, {**GOOD, "id": "d2"}])
    result = run_ingest("--index", str(index), str(data))
    assert result.returncode == 0, result.stderr
    assert "read 2, added 2, updated 0, unchanged 0" in result.stdout
    assert ids_for(str(index), "मानसून") == ["d1", "d2"]


def test_bad_lines_rejected_with_line_numbers_good_lines_land(tmp_path, run_ingest):
    rows = [
        GOOD,  # 1
        "{not json",  # 2
        {"title": "बिना पहचान"},  # 3 missing id
        {"id": "d4", "title": "", "body": "   "},  # 4 empty text
        {"id": "d5", "title": ["सूची"]},  # 5 wrong type
        {"id": "d6", "body": "क्रिकेट मैच में भारत जीता", "published": "कल"},  # 6 bad date
        [1, 2],  # 7 not an object
        {"id": "d8", "body": "हॉकी टीम ने क्रिकेट के बाद अभ्यास किया"},  # 8 good
    ]
    data = write_jsonl(tmp_path / "in.jsonl", rows)
    result = run_ingest("--index", str(tmp_path / "ix"), str(data))
    assert result.returncode == 1
    err = result.stderr
    for line, reason in [
        (2, "invalid JSON"),
        (3, "missing 'id'"),
        (4, "empty text"),
        (5, "'title' must be a string"),
        (6, "'published' is not an ISO date"),
        (7, "a record must be a JSON object"),
    ]:
        assert f"in.jsonl:{line}: rejected: {reason}" in err, err
    assert "read 2, added 2" in result.stdout and "rejected 6" in result.stdout
    assert ids_for(str(tmp_path / "ix"), "क्रिकेट") == ["d8"]
    assert ids_for(str(tmp_path / "ix"), "मानसून") == ["d1"]


def test_rerun_is_idempotent_and_changed_documents_replace(tmp_path, run_ingest):
    index = str(tmp_path / "ix")
    data = write_jsonl(tmp_path / "in.jsonl", [GOOD, {**GOOD, "id": "d2"}])
    assert run_ingest("--index", index, str(data)).returncode == 0
    again = run_ingest("--index", index, str(data), "--json")
    report = json.loads(again.stdout)
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 0, 2)

    changed = write_jsonl(tmp_path / "changed.jsonl", [{**GOOD, "body": "मुंबई में भारी बारिश से जलभराव हुआ।"}])
    result = run_ingest("--index", index, str(changed))
    assert "added 0, updated 1" in result.stdout
    assert ids_for(index, "जलभराव") == ["d1"]
    assert ids_for(index, "दिल्ली") == ["d2"]  # the old text of d1 is gone
    assert ids_for(index, "बारिश") == ["d1", "d2"]  # once each


def test_stdin_and_date_alias(tmp_path, run_ingest):
    line = json.dumps({"id": "x", "body": "चुनाव आयोग ने तारीखें घोषित कीं", "date": "2020-03-05"}, ensure_ascii=False)
    result = run_ingest("--index", str(tmp_path / "ix"), "-", stdin=line + "\n")
    assert result.returncode == 0, result.stderr
    service = SearchService(Settings.load({"index": str(tmp_path / "ix")}))
    assert service.search(SearchRequest(q="चुनाव")).hits[0].published == "2020-03-05"


def test_missing_file_is_a_usage_error(tmp_path, run_ingest):
    result = run_ingest("--index", str(tmp_path / "ix"), str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2
    assert "nope.jsonl" in result.stderr


def test_hindi_search_ingest_is_the_same_command(tmp_path):
    from search.cli import main

    data = write_jsonl(tmp_path / "in.jsonl", [GOOD])
    assert main(["ingest", "--quiet", "--index", str(tmp_path / "ix"), str(data)]) == 0
    assert ids_for(str(tmp_path / "ix"), "बारिश") == ["d1"]


def test_a_run_leaving_many_segments_merges_them(tmp_path, sample_records):
    """Searches run once per segment: a run that leaves more than ``max_segments``
    merges them into one, and every search answers as on the unmerged index."""
    from search import ingest, read_inputs
    from search.engine import SearchIndex

    source = write_jsonl(tmp_path / "docs.jsonl", sample_records)
    merged, unmerged = str(tmp_path / "merged"), str(tmp_path / "unmerged")
    ingest(read_inputs([str(source)]), merged, batch_size=5, max_segments=1)
    ingest(read_inputs([str(source)]), unmerged, batch_size=5, max_segments=100)
    assert SearchIndex.open(merged).segment_count() == 1
    assert SearchIndex.open(unmerged).segment_count() > 1
    one, many = (SearchService(Settings.load({"index": i}, environ={})) for i in (merged, unmerged))
    for q in ("भारत", "सरकार OR किसान", '"सैन्य सहयोग"', "पुतिन और मोदी की शिखर वार्ता में रक्षा सहमति"):
        a, b = one.search(SearchRequest(q=q, per_page=100)), many.search(SearchRequest(q=q, per_page=100))
        assert a.total == b.total > 0
        assert [h.id for h in a.hits] == [h.id for h in b.hits]
        # Merging re-sums field lengths from their one-byte per-document form,
        # so BM25's average length (and each score) moves by a hair.
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], rel=0.01)
    # A run that changes nothing writes nothing, not even a merge.
    before = sorted(p.name for p in (tmp_path / "unmerged").iterdir())
    ingest(read_inputs([str(source)]), unmerged, max_segments=1)
    assert sorted(p.name for p in (tmp_path / "unmerged").iterdir()) == before


def test_an_input_error_read_ahead_during_a_commit_fails_only_the_batch_it_is_in(tmp_path):
    """With worker processes, the ingest reads the next records while a commit waits for
    them; an error met there is raised where the loop reaches it, so the batches before
    it are committed, as without reading ahead, and the batch it is in is not."""
    from conftest import hindi_docs, index_ids

    from search import ingest
    from search.documents import parse_record

    def items():
        for doc in hindi_docs(2500):
            yield parse_record(doc)
        raise RuntimeError("the input went away")

    index = str(tmp_path / "ix")
    with pytest.raises(RuntimeError, match="went away"):
        ingest(items(), index, procs=2, batch_size=1200)
    assert index_ids(index) == sorted(f"syn-{n}" for n in range(2400))


def test_looking_ids_up_one_by_one_gives_what_reading_every_hash_gives(tmp_path):
    """``look_up_ids`` (the documents API: a few records into a large index) asks the index
    for each id's hash instead of reading them all first; every run reports the same."""
    from conftest import hindi_docs

    from search import ingest
    from search.documents import Delete, parse_record

    docs = hindi_docs(6)
    runs = [
        [parse_record(d) for d in docs[:4]],
        [parse_record(docs[0]), parse_record({**docs[1], "title": "नया"}), Delete("syn-2"), Delete("nope"), parse_record(docs[4])],
        [Delete("syn-1"), parse_record(docs[2]), parse_record({**docs[1], "title": "फिर"}), parse_record(docs[5])],
        [parse_record(d) for d in docs] + [Delete("syn-0")],
    ]
    reports = {}
    for look_up in (False, True):
        index = str(tmp_path / f"ix-{look_up}")
        outcomes: list[list[str]] = []
        for items in runs:
            told: list[str] = []
            ingest(items, index, batch_size=2, look_up_ids=look_up, on_outcome=lambda item, outcome: told.append(outcome))
            outcomes.append(told)
        reports[look_up] = outcomes
    assert reports[True] == reports[False]
    assert reports[True][1] == ["unchanged", "updated", "deleted", "not_found", "added"]
