"""The analyzer on real Hindi sentences: whole words, normalisation, stop words, stemming, offsets."""

from __future__ import annotations

import unicodedata

import pytest

from search.analysis import STOP_WORDS, AnalysisOptions, Analyzer, normalise, tokenize


def words(text: str) -> list[str]:
    return [w for w, _, _ in tokenize(text)]


def terms(text: str, **options) -> list[str]:
    return Analyzer(AnalysisOptions(**options)).terms(text)


class TestTokenize:
    def test_whole_devanagari_words(self):
        # Stock Whoosh gives रत | अपन | घक | रणन for this sentence.
        assert words("भारत और रूस ने अपनी दीर्घकालिक रणनीतिक साझेदारी") == [
            "भारत", "और", "रूस", "ने", "अपनी", "दीर्घकालिक", "रणनीतिक", "साझेदारी",
        ]

    def test_signs_stay_inside_words(self):
        # nukta, anusvara, chandrabindu, visarga, virama, vowel signs
        assert words("ज़िंदगी गाँव दुःख क्षेत्र श्रीमती") == ["ज़िंदगी", "गाँव", "दुःख", "क्षेत्र", "श्रीमती"]

    def test_danda_double_danda_and_abbreviation_sign_separate(self):
        assert words("बारिश हुई।फिर धूप॥अंत डॉ॰शर्मा") == ["बारिश", "हुई", "फिर", "धूप", "अंत", "डॉ", "शर्मा"]

    def test_zwj_and_zwnj_never_split(self):
        assert words("रक्\u200cषा और क्\u200dष") == ["रक्\u200cषा", "और", "क्\u200dष"]

    def test_latin_and_numbers_in_hindi_news(self):
        text = "G20 और BRICS में ISIS/दाएश पर को-विकास की बात, IRIGC-M&MTC की 22वीं बैठक 2025 या २०२५ में"
        assert words(text) == [
            "G20", "और", "BRICS", "में", "ISIS", "दाएश", "पर", "को", "विकास", "की", "बात",
            "IRIGC", "M&MTC", "की", "22", "वीं", "बैठक", "2025", "या", "२०२५", "में",
        ]

    def test_offsets_point_into_original_text(self):
        text = "  «हिन्दी» — ज़ोर, २०२६।"
        for word, start, end in tokenize(text):
            assert text[start:end] == word


class TestNormalise:
    @pytest.mark.parametrize(
        "a, b",
        [
            ("ज़ोर", "जोर"),  # nukta / no nukta
            ("\u095bोर", "ज़ोर"),  # precomposed nukta letter / consonant + nukta
            ("फ़ैसला", "फैसला"),
            ("गाँव", "गांव"),  # chandrabindu / anusvara
            ("हिन्दी", "हिंदी"),  # nasal + virama / anusvara
            ("सम्बन्ध", "संबंध"),
            ("गये", "गए"),  # ये / ए after a vowel
            ("नयी", "नई"),
            ("लिये", "लिए"),
            ("हुयी", "हुई"),  # यी / ई, and यि (its vowel length slipped) / इ
            ("सामुदायिक", "सामुदाइक"),
            ("रक्\u200cषा", "रक्षा"),  # ZWNJ
            ("२०२६", "2026"),  # Devanagari digits
            ("BRICS", "brics"),  # Latin lowercased
        ],
    )
    def test_spelling_pairs_meet(self, a, b):
        assert normalise(a) == normalise(b)

    @pytest.mark.parametrize("a, b", [("दिन", "दीन"), ("कि", "की"), ("सैन्य", "सैंय"), ("ये", "ए")])
    def test_distinct_words_stay_distinct(self, a, b):
        assert normalise(a) != normalise(b)

    def test_output_is_nfc(self):
        assert unicodedata.is_normalized("NFC", normalise("क़िला ज़िंदगी"))

    def test_idempotent(self):
        for word in ["ज़ोर", "हिन्दी", "गाँव", "गये", "२०२६", "M&MTC"]:
            assert normalise(normalise(word)) == normalise(word)


class TestStopAndStem:
    def test_stop_words_are_marked_not_dropped(self):
        tokens = list(Analyzer().tokens("भारत और रूस"))
        assert [(t.text, t.stop) for t in tokens] == [("भारत", False), ("और", True), ("रूस", False)]
        assert [t.pos for t in tokens] == [0, 1, 2]

    def test_query_side_drops_stop_words(self):
        assert Analyzer().terms("भारत और रूस के बीच", drop_stop=True) == ["भारत", "रुस"]  # ू folded

    def test_stop_list_is_normalised(self):
        assert "कहां" in STOP_WORDS and "कहाँ" not in STOP_WORDS

    def test_stemming_joins_inflections(self):
        assert terms("देश देशों") == ["देश", "देश"]
        assert terms("साझेदारी साझेदारियाँ साझेदारियां") == ["साझेदार"] * 3
        assert terms("लड़कियाँ लड़कियां") == ["लडक", "लडक"]  # nukta folded too

    def test_a_stem_keeps_two_letters(self):
        """Snowball leaves one letter: नई, नए -> न, the word "not" (q=नई found every
        न); भाई -> भ; मां, माता -> म. The longest suffix that leaves two goes."""
        assert terms("नई नए नयी") == ["नइ", "नए", "नइ"] and "न" not in terms("नई नए नये नयी")
        assert terms("भाई भाइयों") == ["भा", "भा"] and terms("माता माताएं") == ["मात", "मात"]
        assert terms("होगी होगा") == ["होग", "होग"]
        assert terms("नई भाई होगी", min_stem=1) == ["न", "भ", "ह"]

    def test_an_index_from_before_min_stem_keeps_its_terms(self):
        """Its tokenizer was pickled without the option: it reads as Snowball's 1."""
        import pickle

        from search.engine import HindiTokenizer

        old = HindiTokenizer(AnalysisOptions())
        state = old.__getstate__()
        del state["options"]["min_stem"]
        revived = HindiTokenizer.__new__(HindiTokenizer)
        revived.__setstate__(state)
        assert revived.options.min_stem == 1
        assert pickle.loads(pickle.dumps(old)).options.min_stem == 2

    def test_latin_words_are_not_stemmed(self):
        assert terms("BRICS COVID-19") == ["brics", "covid", "19"]

    def test_each_step_can_be_switched_off(self):
        assert terms("हिन्दी देशों", stem=False) == ["हिंदि", "देशों"]
        assert terms("हिन्दी देशों", stem=False, fold_vowels=False) == ["हिंदी", "देशों"]
        assert terms("हिन्दी देशों", normalise=False, stem=False, fold_vowels=False) == ["हिन्दी", "देशों"]
        assert not any(t.stop for t in Analyzer(AnalysisOptions(stop=False)).tokens("भारत और रूस"))

    def test_two_slips_in_one_word_still_meet(self):
        # ई spelled यी after a vowel, then its length slipped: मुंबई -> मुँबयि
        analyzer = Analyzer()
        assert analyzer.terms("मुँबयि में कयि मरीज", drop_stop=True) == ["मुंब", "मरिज"]
        assert analyzer.terms("मुंबई में कई मरीज", drop_stop=True) == ["मुंब", "मरिज"]

    def test_opening_terms_are_the_first_index_terms(self):
        analyzer, text = Analyzer(), "भारत और रूस ने हिन्दी में"
        assert analyzer.opening_terms(text, 4) == analyzer.index_terms(text)[:4] == ["भारत", "और", "रुस", "ने"]
        assert analyzer.opening_terms(text, 0) == []
        assert analyzer.opening_terms(text, 99) == analyzer.index_terms(text)

    def test_nothing_left_of_a_lone_mark(self):
        assert terms("\u200c \u093c") == []


@pytest.mark.data
def test_seed_article_words_are_whole(shared_data):
    """Every token of the real seed article is a whole word of its text."""
    text = (shared_data / "seed" / "article.txt").read_text(encoding="utf-8")
    tokens = list(Analyzer().tokens(text))
    assert len(tokens) > 300
    for token in tokens:
        assert text[token.start : token.end] == token.text
        if token.text.isascii():  # 22 in 22वीं is a number token next to a word
            continue
        before = text[token.start - 1] if token.start else " "
        after = text[token.end] if token.end < len(text) else " "
        for neighbour in (before, after):  # a word never stops next to a letter or sign
            assert not ("\u0900" <= neighbour <= "\u0963" or "\u0971" <= neighbour <= "\u097f")
    found = {t.term for t in tokens}
    assert {"भारत", "रुस", "सैन्य", "सहयोग", "irigc", "m&mtc"} <= found
    assert "रत" not in found


@pytest.mark.parametrize("options", [AnalysisOptions(), AnalysisOptions(stem=False, normalise=False)])
def test_term_positions_are_the_tokens_grouped_by_term(options):
    """The ingest's one-pass grouping gives exactly the terms and positions of ``tokens``."""
    analyzer = Analyzer(options)
    text = "भारत और रूस ने भारत के साथ, ज़ोर-जोर से \u200c हिन्दी में G20 और २०२६ में भारत।"
    expected: dict[str, list[int]] = {}
    for token in analyzer.tokens(text):
        expected.setdefault(token.term, []).append(token.pos)
    assert analyzer.term_positions(text) == expected
    assert list(analyzer.term_positions(text)) == list(expected)  # first-occurrence order
