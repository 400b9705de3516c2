"""Totals and facet counts from cached document sets equal what Whoosh counts itself.

``SearchIndex.find`` counts a query's matches from bitsets of term postings
instead of running the query a second time, counts facets the same way, and
scores phrase queries in one run that also counts. ``shortcuts=False`` leaves
all of it to Whoosh: every answer (total, hits in order, scores, facets) must
be the same either way, on one segment or many, with deleted documents.
"""

from __future__ import annotations

import pytest

from conftest import write_jsonl

from search import ingest, read_inputs
from search.engine import SearchIndex
from search.filtering import parse_filter
from search.querying import parse

HEADLINE = "पुतिन और मोदी की शिखर वार्ता में रक्षा सौदों पर बनी अहम सहमति, तेल पर चुप्पी"

QUERIES = [
    "भारत", "भारत रूस", "सरकार", "किसान OR मजदूर", "सरकार -दिल्ली", "(भारत OR चीन) सीमा",
    "भार*", "title:मानसून", '"सैन्य सहयोग"', 'भारत "सैन्य सहयोग"', HEADLINE, "कोरोना", "के",
    "bharat rus", "भारत रूस चीन अमेरिका व्यापार समझौता", "कोरोना कोरोना वायरस टीका", "bharat rus sainya sahyog",
    "सरकार किसान मानसून बारिश दिल्ली मुंबई", "भारत-रूस सैन्य सहयोग दिल्ली", "भार* रूस चीन व्यापार",
]
FILTERS = ["", "published >= 2026-01", "category != khel", "source = \"Jan Awaz\" OR category = khel"]
FACETS = ("source", "category", "published")


@pytest.fixture(scope="module")
def many_segments(tmp_path_factory, sample_records) -> str:
    """The sample in many small segments, every story then replaced once (deleted documents)."""
    path = tmp_path_factory.mktemp("segments")
    index = str(path / "index")
    ingest(read_inputs([str(write_jsonl(path / "a.jsonl", sample_records))]), index, batch_size=7, max_segments=100)
    changed = [{**r, "body": r["body"] + " नवीनतम"} for r in sample_records[::2]]
    ingest(read_inputs([str(write_jsonl(path / "b.jsonl", changed))]), index, batch_size=9, max_segments=100)
    assert SearchIndex.open(index).segment_count() > 2
    return index


class Score(float):
    """A score equal to another within 1e-9: long queries are summed in another order than Whoosh's."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and abs(self - other) <= 1e-9 * max(abs(self), abs(other), 1.0)

    __hash__ = float.__hash__


def answer(index: SearchIndex, q: str | None, flt: str, limit: int, facets=(), sort="relevance"):
    node = None if q is None else parse(q, index.analyzer, roman=lambda w: index.read_roman(w))
    found = index.find(node, limit=limit, filter=parse_filter(flt) if flt else None, facets=facets, sort=sort)
    return found.total, [(Score(score), stored["id"]) for score, stored in found.hits], found.facets


@pytest.mark.parametrize("which", ["sample_index", "many_segments"])
@pytest.mark.parametrize("flt", FILTERS)
def test_same_totals_hits_and_facets_as_whoosh(request, which, flt):
    path = request.getfixturevalue(which)
    ours, plain = SearchIndex.open(path), SearchIndex.open(path, shortcuts=False)
    for q in QUERIES:
        everything = answer(plain, q, flt, 100)
        assert everything[0] == len(everything[1])  # the sample is smaller than 100 hits
        for limit in (1, 3, 100):
            for facets in ((), FACETS):
                assert answer(ours, q, flt, limit, facets) == answer(plain, q, flt, limit, facets), (q, limit)
        assert answer(ours, q, flt, 2, FACETS, "-published") == answer(plain, q, flt, 2, FACETS, "-published")
    assert answer(ours, None, flt, 1, FACETS) == answer(plain, None, flt, 1, FACETS)


def test_deleted_documents_are_not_counted(many_segments, sample_records):
    index = SearchIndex.open(many_segments)
    assert index.doc_count() == len(sample_records)
    assert answer(index, "नवीनतम", "", 1)[0] == len(sample_records[::2])
    assert answer(index, None, "", 1)[0] == len(sample_records)


def test_a_filter_nothing_passes_finds_nothing(sample_index):
    """Whoosh itself counts every match when the filter keeps no document at all."""
    total, hits, facets = answer(SearchIndex.open(sample_index), "भारत", 'source = "nobody"', 10, ("source",))
    assert (total, hits, facets) == (0, [], {"source": {}})


def test_counts_follow_new_commits(tmp_path, sample_records):
    """The document sets belong to one index generation: a commit is seen at the next refresh."""
    index_dir = str(tmp_path / "index")
    ingest(read_inputs([str(write_jsonl(tmp_path / "a.jsonl", sample_records[:30]))]), index_dir)
    index = SearchIndex.open(index_dir, refresh_seconds=0)
    before = answer(index, "भारत", "", 1, ("source",))
    ingest(read_inputs([str(write_jsonl(tmp_path / "b.jsonl", sample_records[30:]))]), index_dir)
    after = answer(index, "भारत", "", 1, ("source",))
    assert after == answer(SearchIndex.open(index_dir, shortcuts=False), "भारत", "", 1, ("source",))
    assert after[0] > before[0]
