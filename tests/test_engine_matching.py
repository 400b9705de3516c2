"""Totals and facet counts from cached document sets equal what Whoosh counts itself.

``SearchIndex.find`` matches and scores every query from bitsets and score
arrays of term postings and from phrase positions decoded in bulk, never with
Whoosh's matchers. Whoosh's own answer (``WhooshReference``) is the reference
where Whoosh is right: every answer (total, hits in order, scores, facets)
must be the same, on one segment or many, with deleted documents.
"""

from __future__ import annotations

import pytest

from whoosh_reference import WhooshReference
from conftest import write_jsonl

from search import ingest, read_inputs
from search.engine import SearchIndex, SearchTimeout
from search.ranking import Ranker
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
    ours, plain = SearchIndex.open(thousands), WhooshReference(SearchIndex.open(thousands))
    for q in ["भारत", "सरकार", "के", "भारत सरकार", "और OR में", "किसान सरकार", HEADLINE,
              "भारत रूस चीन अमेरिका व्यापार समझौता", "नवीनतम"]:
        every = answer(plain, q, flt, 2000, FACETS)
        for limit in (1, 10, 50):
            mine = answer(ours, q, flt, limit, FACETS)
            assert mine == (every[0], every[1][:limit], every[2]), (q, limit)
            assert mine[0] == len(every[1])


def test_feedback_pages_agree_with_whoosh_at_every_limit(thousands):
    """Long queries re-ranked by feedback (default ranking) below the 10th hit: the
    arrays and Whoosh's own AndMaybe query give the same hits whatever the limit
    (block skipping, which drops better documents from AndMaybe, is off there)."""
    ours, plain = SearchIndex.open(thousands), WhooshReference(SearchIndex.open(thousands))
    for q in (HEADLINE, "भारत रूस चीन अमेरिका व्यापार समझौता"):
        every = answer(plain, q, "", 2000)
        assert every[0] > 100
        for limit in (11, 30, 100):
            assert answer(plain, q, "", limit)[1] == every[1][:limit], (q, limit)
            assert answer(ours, q, "", limit)[1] == every[1][:limit], (q, limit)


def test_excluded_words_are_excluded(thousands):
    """``सरकार -भारत``: Whoosh 2.7.4's own AndNot lets through a document with भारत
    in a segment with deletions; the document sets do not (and rank the rest as Whoosh)."""
    ours, plain = SearchIndex.open(thousands), WhooshReference(SearchIndex.open(thousands))
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
    # Our backend with the ranking layer on top (readings blended, feedback), as the service searches it.
    search = Ranker(index).find if isinstance(index, SearchIndex) else index.find
    found = search(node, limit=limit, filter=parse_filter(flt) if flt else None, facets=facets, sort=sort)
    return found.total, [(Score(score), stored["id"]) for score, stored in found.hits], found.facets


@pytest.mark.parametrize("which", ["sample_index", "many_segments"])
@pytest.mark.parametrize("flt", FILTERS)
def test_same_totals_hits_and_facets_as_whoosh(request, which, flt):
    path = request.getfixturevalue(which)
    ours, plain = SearchIndex.open(path), WhooshReference(SearchIndex.open(path))
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
    assert after == answer(WhooshReference(SearchIndex.open(index_dir)), "भारत", "", 1, ("source",))
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
    plain = WhooshReference(SearchIndex.open(index_dir))
    for q in QUERIES:
        assert answer(index, q, "", 10, FACETS) == answer(plain, q, "", 10, FACETS), q
    assert answer(index, "भारत", "", 100)[0] < before["भारत"][0]  # deletions seen
    assert answer(index, "नवीनतम", "", 100)[0] == len({r["id"] for r in changed} - set(gone))


# -- phrases: answered from term positions decoded in bulk (engine._PhraseScorer) --

PHRASES = [
    '"के लिए"', '"है कि"', '"में भी"', '"के के"', '"एक ही चरण में"', 'title:"दिल्ली विधानसभा"',
    'body:"चुनाव आयोग"', 'title:"के लिए"', '"चुनाव आयोग" दिल्ली', '"के लिए" -"चुनाव आयोग"',
    '"चुनाव आयोग" OR "के लिए"', '"नवीनतम के"', '"bharat rus"', '"सभी सत्तर" OR दिल्ली',
]
#: (query, its positive part, both parts): Whoosh's own AndNot lets excluded documents
#: through in a segment with deletions (see test_excluded_words_are_excluded).
EXCLUDING = [
    ('"के लिए" -"चुनाव आयोग"', '"के लिए"', '"के लिए" "चुनाव आयोग"'),
    ('दिल्ली -"के लिए"', "दिल्ली", 'दिल्ली "के लिए"'),
    ('"के लिए" -दिल्ली', '"के लिए"', '"के लिए" दिल्ली'),
]


def frequent_phrases(records: list[dict], count: int) -> list[str]:
    """The most frequent runs of 2 and 3 words of the bodies, quoted: mostly stop words
    (के लिए, कहा कि ...), the phrases whose words are in most documents."""
    from collections import Counter

    runs: Counter[str] = Counter()
    for r in records:
        words = [w.strip("।,.!?\"'()") for w in r["body"].split()]
        for n in (2, 3):
            runs.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return [f'"{p}"' for p, _ in runs.most_common(count) if p.strip()]


@pytest.mark.parametrize("which", ["sample_index", "many_segments", "thousands"])
@pytest.mark.parametrize("flt", ["", "published >= 2026-06", "category != khel"])
def test_phrases_same_as_whoosh(request, which, flt, sample_records):
    """Totals, hits in order, scores and facets of phrase queries: one segment and many,
    deleted documents, filters, fields, stop words, phrases inside AND/OR/NOT."""
    path = request.getfixturevalue(which)
    ours, plain = SearchIndex.open(path), WhooshReference(SearchIndex.open(path))
    for q in PHRASES + frequent_phrases(sample_records, 25):
        every = answer(plain, q, flt, 2000, FACETS)
        assert every[0] == len(every[1])
        for limit in (1, 10, 2000):
            mine = answer(ours, q, flt, limit, FACETS if limit == 10 else ())
            assert mine[:2] == (every[0], every[1][:limit]), (q, limit)
            assert mine[2] == (every[2] if limit == 10 else {}), q


def test_phrases_in_long_documents(tmp_path):
    """Positions past 255 and 65,535 (other integer encodings in Whoosh's postings), and
    a word more than 1,000 times in one document (its positions pickled in batches)."""
    filler = "पहाड़ नदी गाँव शहर मौसम ".split()
    long_body = " ".join(filler[i % len(filler)] for i in range(70_000)) + " बारिश का मौसम आया"
    docs = [
        {"id": "long", "title": "लंबी कहानी", "body": long_body},
        {"id": "many", "title": "दोहराव", "body": " ".join(["राम राम"] * 600) + " सीता राम"},
        {"id": "mid", "title": "बीच", "body": " ".join(filler * 60) + " बारिश का मौसम फिर राम राम"},
        {"id": "short", "title": "छोटी", "body": "बारिश का मौसम और राम राम सीता राम"},
    ]
    index = str(tmp_path / "index")
    ingest(read_inputs([str(write_jsonl(tmp_path / "a.jsonl", docs))]), index)
    ours, plain = SearchIndex.open(index), WhooshReference(SearchIndex.open(index))
    for q in ['"बारिश का मौसम"', '"राम राम"', '"सीता राम"', '"मौसम पहाड़"', '"शहर मौसम पहाड़ नदी"', '"मौसम आया"']:
        every = answer(plain, q, "", 10)
        assert every[0] > 0, q
        assert answer(ours, q, "", 10) == every, q


@pytest.mark.parametrize("which", ["sample_index", "many_segments", "thousands"])
@pytest.mark.parametrize("flt", ["", "published >= 2026-06"])
def test_phrases_excluded_and_excluding(request, which, flt):
    """``a -b`` with phrases: every document of ``a`` without ``b``, ranked as Whoosh ranks them."""
    path = request.getfixturevalue(which)
    ours, plain = SearchIndex.open(path), WhooshReference(SearchIndex.open(path))
    for q, positive, both in EXCLUDING:
        excluded = {doc_id for _, doc_id in answer(plain, both, flt, 2000)[1]}
        expected = [hit for hit in answer(plain, q, flt, 2000)[1] if hit[1] not in excluded]
        assert len(expected) == answer(plain, positive, flt, 1)[0] - len(excluded), q
        for limit in (1, 10, 2000):
            assert answer(ours, q, flt, limit)[:2] == (len(expected), expected[:limit]), (q, limit)
        assert answer(ours, q, flt, 10, FACETS, "-published")[0] == len(expected)


def test_phrases_follow_commits_and_deletions(tmp_path, sample_records):
    """Positions are kept per segment across commits: a later commit that replaces
    documents (deleting them in the old segment) or adds some is seen at once."""
    index_dir = str(tmp_path / "index")
    ingest(read_inputs([str(write_jsonl(tmp_path / "a.jsonl", sample_records))]), index_dir)
    index = SearchIndex.open(index_dir, refresh_seconds=0)
    assert index.warm_phrases(0.01) > 0
    phrases = ['"के लिए"', '"है कि"', '"में भी"']
    before = [answer(index, q, "", 100, FACETS) for q in phrases]
    changed = [{**r, "body": r["body"].replace("के लिए", "हेतु")} for r in sample_records[::3]]
    added = [{**r, "id": r["id"] + "-new"} for r in sample_records[:5]]
    ingest(read_inputs([str(write_jsonl(tmp_path / "b.jsonl", changed + added))]), index_dir)
    plain = WhooshReference(SearchIndex.open(index_dir))
    after = [answer(index, q, "", 100, FACETS) for q in phrases]
    assert after == [answer(plain, q, "", 100, FACETS) for q in phrases]
    assert after != before


def test_phrases_of_a_rare_and_a_common_word(tmp_path):
    """A phrase whose rare word is in a few documents reads the common word's postings
    only in the blocks of those documents (on one segment and many, deletions too)."""
    docs = [{"id": f"d{i}", "title": "कहानी", "body": f"गाँव के लोग और शहर के लोग {i}"} for i in range(1500)]
    for i in (7, 700, 1400):
        docs[i]["body"] += " अद्वितीय के साथ"
    index = str(tmp_path / "index")
    ingest(read_inputs([str(write_jsonl(tmp_path / "a.jsonl", docs))]), index, batch_size=600, max_segments=100)
    ingest(read_inputs([str(write_jsonl(tmp_path / "b.jsonl", [{**docs[700], "body": "बदला"}]))]), index)
    ours, plain = SearchIndex.open(index), WhooshReference(SearchIndex.open(index))
    for q in ['"अद्वितीय के"', '"अद्वितीय के साथ"', '"के साथ"', '"लोग और शहर"']:
        every = answer(plain, q, "", 2000)
        assert every[0] > 0, q
        assert answer(ours, q, "", 10) == (every[0], every[1][:10], {}), q


@pytest.mark.parametrize("q", ['"के लिए"', 'दिल्ली "के लिए"', '"के लिए" -दिल्ली'])
def test_phrases_stop_at_the_time_limit(thousands, q):
    index = SearchIndex.open(thousands)
    with pytest.raises(SearchTimeout):
        index.find(parse(q, index.analyzer), limit=10, time_limit=1e-9)
    assert index.find(parse(q, index.analyzer), limit=10, time_limit=60).total > 0
