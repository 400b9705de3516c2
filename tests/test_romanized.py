"""Romanized (Hinglish) queries: the phonetic key, and /search on the sample corpus."""

from __future__ import annotations

import re
import time

import pytest

from search import create_app
from search.romanized import best_matches, candidate_keys, is_roman, key, similarity


def ids(answer: dict) -> list[str]:
    return [hit["id"] for hit in answer["hits"]]


def marked(answer: dict) -> set[str]:
    return {word for hit in answer["hits"] for word in re.findall(r"<mark>(.*?)</mark>", hit["snippet"])}


class TestKey:
    """Loose romanizations of one Hindi word share the key of its Devanagari spelling."""

    @pytest.mark.parametrize(
        "devanagari, spellings",
        [
            ("भारत", ["bharat", "bhaarat", "bharath", "BHARAT"]),
            ("सहयोग", ["sahyog", "sahayog", "sahyoga"]),
            ("की", ["ki", "kee"]),
            ("में", ["me", "mein", "main", "mai"]),
            ("विकास", ["vikas", "wikas", "vikaas"]),
            ("शांति", ["shanti", "santi", "shaanti"]),
            ("छात्र", ["chhatra", "chatra", "chaatr"]),
            ("योजना", ["yojana", "yojna", "yojnaa"]),
            ("संबंध", ["sambandh", "sanbandh", "sabandh"]),
            ("आतंकवाद", ["aatankwad", "atankvad", "aatankvaad"]),
            ("ज़िंदगी", ["zindagi", "jindagi", "zindgi"]),
            ("फ़ैसला", ["faisla", "phaisla", "faisala"]),
        ],
    )
    def test_spellings_meet(self, devanagari, spellings):
        assert {key(s) for s in spellings} == {key(devanagari)}

    @pytest.mark.parametrize("a, b", [("भारत", "रूस"), ("किसान", "कितना"), ("मोदी", "मानसून"), ("bharat", "barsat")])
    def test_different_words_differ(self, a, b):
        assert key(a) != key(b)

    def test_inflected_word_finds_its_stem(self):
        # the index holds stems: करेंगे -> कर, किसानों -> किसान
        assert key("कर") in candidate_keys("karenge")
        assert key("किसान") in candidate_keys("kisano")
        # ड़ is ड in the index: larki = लड़की
        assert key("लडक") in candidate_keys("larki")

    def test_closer_spelling_ranks_first(self):
        assert similarity("sahyog", "सहयोग") > similarity("sahyog", "सुहाग")
        assert similarity("bharat", "भारत") > similarity("bharat", "भर")
        assert similarity("kisan", "किसान") > similarity("kisan", "किसी")
        assert [t for t, _ in best_matches("rus", ["रूस", "रस्सी", "राशि"], limit=1)] == ["रूस"]

    def test_is_roman(self):
        assert is_roman("bharat") and is_roman("G20") and is_roman("BRICS")
        assert not is_roman("भारत") and not is_roman("2026")


class TestRomanizedSearch:
    """Latin-script queries against the Devanagari sample corpus, through /search."""

    def test_single_word(self, search):
        answer = search("kisaan")
        assert answer["total"] >= 3
        assert {"किसान", "किसानों"} & marked(answer)
        assert "किसान" in answer["parsed"].split("|")

    def test_keywords_rank_the_right_story_first(self, search):
        answer = search("modi putin baithak")
        assert ids(answer)[0] == "s054"
        assert {"मोदी", "पुतिन"} <= marked(answer)

    def test_a_rare_misreading_does_not_outrank_the_right_one(self, search):
        """bharat may be भारत or भारी (heavy); भारी is the rarer word, so as a
        plain reading it scored more: title:bharat ranked a भारी title first."""
        titles = [h["title"] for h in search("title:bharat", per_page=50)["hits"]]
        heavy = [i for i, t in enumerate(titles) if "भारी" in t and "भारत" not in t]
        india = [i for i, t in enumerate(titles) if "भारत" in t]
        assert heavy and len(india) >= 5 and max(india) < min(heavy)

    def test_several_romanized_words(self, search):
        answer = search("bharat rus sainya sahyog")
        assert "s054" in ids(answer)
        assert {"भारत", "रूस", "सैन्य", "सहयोग"} <= marked(answer)
        parsed = answer["parsed"]
        for term in ("bharat|", "भारत", "रुस", "सैन्य", "सहयोग"):  # index terms: vowel length folded
            assert term in parsed

    def test_quoted_phrase_needs_the_words_together(self, search):
        answer = search('"sainya sahyog"')
        assert ids(answer) == ["s054"]
        assert "<mark>सैन्य</mark> <mark>सहयोग</mark>" in answer["hits"][0]["snippet"]
        assert answer["parsed"].startswith('"sainya|सैन्य sahyog|सहयोग')

    def test_phrase_with_a_romanized_stop_word(self, search):
        answer = search('"bharat aur rus"')
        assert "s054" in ids(answer) and answer["total"] >= 2
        assert "<mark>भारत</mark> <mark>और</mark> <mark>रूस</mark>" in answer["hits"][0]["snippet"]

    def test_mixed_scripts(self, search):
        answer = search("modi की मास्को")
        assert ids(answer)[0] == "s015"
        assert {"मोदी", "मास्को"} <= marked(answer)
        phrase = search('"भारत aur रूस"')
        assert "s054" in ids(phrase)
        assert "<mark>और</mark>" in phrase["hits"][0]["snippet"]

    def test_romanized_stop_words_are_dropped_from_keywords(self, search):
        answer = search("monsoon ke baad dilli")
        assert ids(answer)[0] == "s020"
        assert "के" not in answer["parsed"] and "ke" not in answer["parsed"].split()

    @pytest.mark.parametrize("q, doc", [("BRICS", "s057"), ("G20", "s056"), ("isro", "s025"), ("ISRO", "s025")])
    def test_latin_words_still_match_latin_text(self, search, q, doc):
        answer = search(q)
        assert ids(answer)[0] == doc
        assert q.upper() in marked(answer)

    def test_devanagari_queries_are_unchanged(self, sample_index, search):
        off = create_app({"index": sample_index, "refresh_seconds": 0, "roman_candidates": 0}).test_client()
        for q in ("भारत रूस", '"सैन्य सहयोग"', "मानसून -दिल्ली", "(भारत OR चीन) सीमा", "भार*"):
            with_reading = search(q, per_page=20)
            without = off.get("/search", query_string={"q": q, "per_page": 20}).get_json()
            assert with_reading["parsed"] == without["parsed"]
            assert [(h["id"], h["score"], h["snippet"]) for h in with_reading["hits"]] == [
                (h["id"], h["score"], h["snippet"]) for h in without["hits"]
            ]

    def test_reading_can_be_switched_off(self, sample_index):
        off = create_app({"index": sample_index, "refresh_seconds": 0, "roman_candidates": 0}).test_client()
        answer = off.get("/search", query_string={"q": "kisaan"}).get_json()
        assert answer["total"] == 0 and answer["parsed"] == "kisaan"

    def test_odd_latin_input_never_fails(self, search):
        for q in ("x", "zzzzzzzz", "a b c d e f g", '"q"', "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "mein ke ki"):
            search(q)


def test_words_of_a_new_commit_are_read_from_latin(tmp_path, sample_records):
    """Phonetic keys are filed per segment: a word first committed after the
    server has read romanized queries is found by its Latin spelling."""
    from conftest import write_jsonl

    from search import ingest, read_inputs
    from search.engine import SearchIndex

    index_dir = str(tmp_path / "index")
    ingest(read_inputs([str(write_jsonl(tmp_path / "a.jsonl", sample_records))]), index_dir)
    index = SearchIndex.open(index_dir, refresh_seconds=0)
    assert [t for t, _ in index.read_roman("bharat")][:1] == ["भारत"]
    assert not any(t.startswith("झुमर") for t, _ in index.read_roman("jhumri"))
    story = {"id": "new-1", "title": "झुमरी तलैया में मेला", "body": "झुमरी तलैया के मेले में भीड़ उमड़ी।"}
    ingest(read_inputs([str(write_jsonl(tmp_path / "b.jsonl", [story]))]), index_dir)
    # the new segment's keys are filed in the background: no search waits for them
    deadline = time.monotonic() + 10
    while "झुमर" not in [t for t, _ in index.read_roman("jhumri")]:  # the index term (stemmed)
        assert time.monotonic() < deadline, "the new commit's words were never filed"
        time.sleep(0.05)
    assert [t for t, _ in index.read_roman("bharat")][:1] == ["भारत"]


class TestRomanCompletions:
    """A Latin prefix completed with Devanagari words (search.romanized.RomanCompletions)."""

    WORDS = {"सरकार": 90, "सरकारी": 40, "सर्कस": 5, "सहयोग": 30, "दिल्ली": 60, "दिल": 80, "देखा": 70,
             "भारत": 50, "बार": 200, "किसान": 20, "कसम": 90}

    def complete(self, prefix: str) -> list[str]:
        from search.romanized import RomanCompletions

        return [word for word, _, _ in RomanCompletions(self.WORDS).complete(prefix)]

    def test_spoken_spelling_drops_the_medial_a(self):
        assert self.complete("sark")[:2] == ["सरकार", "सरकारी"]  # sarkaar, not sarakaar
        assert self.complete("sahyo") == ["सहयोग"]

    def test_as_typed_before_folded(self):
        assert self.complete("bhar")[:2] == ["भारत", "बार"]  # bh is भ first, then ब
        assert self.complete("dill")[0] == "दिल्ली"

    def test_a_silent_english_h(self):
        assert self.complete("dilhi")[0] == "दिल्ली"  # dili: h after l is not written in Hindi

    def test_nothing_far_fetched(self):
        assert "कसम" not in self.complete("kis")  # a vowel off in the first syllable
        assert self.complete("x") == [] and self.complete("zzzz") == []
