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


@pytest.fixture(scope="module")
def thousands(tmp_path_factory, sample_records) -> str:
    """1,500 documents recombined from the sample's sentences, in several segments, some
    replaced: common words match over 1,000 documents (the best-first walk of _TopDocs)."""
    import random

    rng = random.Random(8)
    sentences = [s.strip() + "।" for r in sample_records for s in r["body"].split("।") if s.strip()]
    sources = sorted({r["source"] for r in sample_records})
    docs = [
        {"id": f"m{i}", "title": rng.choice(sample_records)["title"], "body": " ".join(rng.sample(sentences, 4)),
         "source": rng.choice(sources), "published": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}
        for i in range(1500)
    ]
    path = tmp_path_factory.mktemp("thousands")
    index = str(path / "index")
    ingest(read_inputs([str(write_jsonl(path / "a.jsonl", docs))]), index, batch_size=500, max_segments=100)
    changed = [{**d, "body": d["body"] + " नवीनतम"} for d in docs[::5]]
    ingest(read_inputs([str(write_jsonl(path / "b.jsonl", changed))]), index, max_segments=100)
    return index


@pytest.mark.parametrize("flt", ["", "published >= 2026-06"])
def test_thousands_of_matches_same_as_whoosh(thousands, flt):
    ours, plain = SearchIndex.open(thousands), SearchIndex.open(thousands, shortcuts=False)
    for q in ["भारत", "सरकार", "के", "भारत सरकार", "और OR में", "किसान सरकार", HEADLINE,
              "भारत रूस चीन अमेरिका व्यापार समझौता", "नवीनतम"]:
        every = answer(plain, q, flt, 2000, FACETS)
        for limit in (1, 10, 50):
            mine = answer(ours, q, flt, limit, FACETS)
            assert mine == (every[0], every[1][:limit], every[2]), (q, limit)
            assert mine[0] == len(every[1])


def test_excluded_words_are_excluded(thousands):
    """``सरकार -भारत``: Whoosh 2.7.4's own AndNot lets through a document with भारत
    in a segment with deletions; the document sets do not (and rank the rest as Whoosh)."""
    ours, plain = SearchIndex.open(thousands), SearchIndex.open(thousands, shortcuts=False)
    total, hits, _ = answer(ours, "सरकार -भारत", "", 2000)
    assert total == len(hits) == answer(plain, "सरकार", "", 1)[0] - answer(plain, "सरकार भारत", "", 1)[0]
    for _, doc_id in hits:
        stored = ours.stored(doc_id)
        assert "भारत" not in ours.analyzer.terms(stored["title"] + " " + stored["body"])
    whoosh_hits = [h for h in answer(plain, "सरकार -भारत", "", 2000)[1] if h in hits]
    assert [h for h in hits if h in whoosh_hits] == whoosh_hits  # the same order
    assert answer(ours, "सरकार -भारत", "", 10)[1] == hits[:10]


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
        # Every match collected and scored: no block skipping, whose quality
        # bounds can drop a better document from a short top N.
        everything = answer(plain, q, flt, 100, FACETS)
        assert everything[0] == len(everything[1])  # the sample is smaller than 100 hits
        for limit in (1, 3, 100):
            for facets in ((), FACETS):
                total, hits, counts = answer(ours, q, flt, limit, facets)
                assert (total, hits) == (everything[0], everything[1][:limit]), (q, limit)
                assert counts == (everything[2] if facets else {})
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


def test_postings_kept_across_commits_follow_deletions(tmp_path, sample_records):
    """Decoded postings are kept per segment from one commit to the next: documents a
    later commit replaces or deletes in an old segment drop out, new segments are read."""
    index_dir = str(tmp_path / "index")
    ingest(read_inputs([str(write_jsonl(tmp_path / "a.jsonl", sample_records))]), index_dir)
    index = SearchIndex.open(index_dir, refresh_seconds=0)
    before = {q: answer(index, q, "", 10, FACETS) for q in QUERIES}  # every term's postings read
    changed = [{**r, "body": r["body"] + " नवीनतम"} for r in sample_records[::3]]
    gone = [r["id"] for r in sample_records[1::7]]
    ingest(read_inputs([str(write_jsonl(tmp_path / "b.jsonl", changed))]), index_dir)
    answer(index, "नवीनतम", "", 10)  # the new segment's postings read too
    ingest(read_inputs([]), index_dir, delete_ids=gone)
    plain = SearchIndex.open(index_dir, shortcuts=False)
    for q in QUERIES:
        assert answer(index, q, "", 10, FACETS) == answer(plain, q, "", 10, FACETS), q
    assert answer(index, "भारत", "", 100)[0] < before["भारत"][0]  # deletions seen
    assert answer(index, "नवीनतम", "", 100)[0] == len({r["id"] for r in changed} - set(gone))
