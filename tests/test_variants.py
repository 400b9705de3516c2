"""Tests for bench/variants.py, the Hindi orthographic-variant generator.

All sentences here are written for these tests (none come from the corpus).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.variants import KINDS, rewrite, rewrite_traced  # noqa: E402

VIRAMA = "\u094D"
ZWNJ, ZWJ = "\u200C", "\u200D"

SENTENCES = [
    "ज़ोर देकर कहा गया कि फ़ैसला अगले हफ़्ते होगा",
    "गाँव के लोग हिन्दी में सम्बन्ध की बात करते हैं",
    "सरकार ने नई योजना के लिए २०२६ तक का लक्ष्य रखा",
    "बच्चे स्कूल गए और पेड़ के नीचे पढ़ाई की",
    "मुंबई में संक्रमण के मामले बढ़े, केंद्र ने टीम भेजी",
    "वे कल दिल्ली पहुंचेंगे और पांच दिन रुकेंगे",
    "क्षेत्र में 15 अस्पताल खुले, डॉक्टरों की कमी दूर होगी",
    "ख़बर है कि कई परिवार आए लेकिन जगह नहीं मिली",
]

# A virama followed by a vowel sign / another virama / a nasal sign / a nukta
# (optionally with a joiner between), or a nukta after a vowel.
INVALID = re.compile(
    f"{VIRAMA}[{ZWNJ}{ZWJ}]?[\u093C\u0901-\u0903\u093E-\u094D]"
    "|[\u0904-\u0914\u093E-\u094C]\u093C"
)


def one(text: str, kind: str) -> str:
    """Rewrite with a single kind at rate 1 (every opportunity taken)."""
    return rewrite(text, [kind], random.Random(0), 1.0)


def test_kinds_tuple() -> None:
    assert KINDS == ("nukta", "chandrabindu", "nasal", "ye", "zw", "digits", "matra")


# --- nukta -----------------------------------------------------------------

@pytest.mark.parametrize("word,dropped,precomposed", [
    ("ज़ोर", "जोर", "\u095Bोर"),
    ("फ़ैसला", "फैसला", "\u095Eैसला"),
    ("क़ानून", "कानून", "\u0958ानून"),
    ("ख़बर", "खबर", "\u0959बर"),
    ("ग़लत", "गलत", "\u095Aलत"),
])
def test_nukta_drops_or_precomposes(word: str, dropped: str, precomposed: str) -> None:
    seen = {rewrite(word, ["nukta"], random.Random(seed)) for seed in range(30)}
    assert seen == {dropped, precomposed}
    assert unicodedata.normalize("NFC", precomposed) == word  # same text, not NFC


def test_nukta_leaves_flap_letters_alone() -> None:
    text = "पेड़ पर चढ़कर बड़ा पेड़ देखा, सड़क पर भीड़ बढ़ी"
    for seed in range(10):
        assert rewrite(text, ["nukta"], random.Random(seed)) == text
    mixed = "ज़रूरी सड़क"
    assert one(mixed, "nukta").endswith("सड़क")


# --- chandrabindu ------------------------------------------------------------

def test_chandrabindu_both_directions() -> None:
    assert one("गाँव", "chandrabindu") == "गांव"
    assert one("गांव", "chandrabindu") == "गाँव"
    assert one("हंसी", "chandrabindu") == "हँसी"
    assert one("पहुंच", "chandrabindu") == "पहुँच"
    assert one("जाएंगे", "chandrabindu") == "जाएँगे"


def test_chandrabindu_not_after_sign_above_headline() -> None:
    for word in ["मैं", "हैं", "में", "हिंदी", "सींग", "भौंकना", "कोंपल"]:
        assert one(word, "chandrabindu") == word
    # ँ -> ं is always allowed, whatever precedes it
    assert one("मैँ", "chandrabindu") == "मैं"


def test_chandrabindu_not_before_conjunct() -> None:
    assert one("संक्रमण", "chandrabindu") == "संक्रमण"
    assert one("मंत्री", "chandrabindu") == "मंत्री"


# --- nasal -----------------------------------------------------------------

@pytest.mark.parametrize("half,anusvara", [
    ("हिन्दी", "हिंदी"),
    ("सम्बन्ध", "संबंध"),
    ("गङ्गा", "गंगा"),
    ("पञ्च", "पंच"),
    ("खण्ड", "खंड"),
    ("केन्द्र", "केंद्र"),
    ("मुम्बई", "मुंबई"),
])
def test_nasal_both_directions(half: str, anusvara: str) -> None:
    assert one(half, "nasal") == anusvara
    assert one(anusvara, "nasal") == half


def test_nasal_loanword_na_before_any_stop() -> None:
    assert one("इन्डिया", "nasal") == "इंडिया"


@pytest.mark.parametrize("word", [
    "संसार", "संयम", "सिंह", "संरक्षण", "अंश", "संवाद",  # before य र ल व श ष स ह
    "जन्म", "अन्य", "उम्दा", "सम्मान", "अन्न",            # real clusters
    "देंगे", "पांच", "पहुंच",                              # nasal vowels
])
def test_nasal_leaves_non_variants_alone(word: str) -> None:
    assert one(word, "nasal") == word


# --- ye --------------------------------------------------------------------

@pytest.mark.parametrize("a,b", [
    ("गए", "गये"), ("नई", "नयी"), ("आए", "आये"), ("लिए", "लिये"),
    ("जाएगा", "जायेगा"), ("हुई", "हुयी"),
])
def test_ye_both_directions(a: str, b: str) -> None:
    assert one(a, "ye") == b
    assert one(b, "ye") == a


def test_ye_needs_a_preceding_vowel() -> None:
    assert one("ये लोग एक ईमानदार", "ye") == "ये लोग एक ईमानदार"
    assert one("भाई की लड़ाई", "ye") == "भाई की लड़ाई"  # noun suffix -आई
    assert one("स्थायी", "ye") == "स्थाई"


# --- zw --------------------------------------------------------------------

def test_zw_inserts_joiner_after_conjunct_virama() -> None:
    outs = {rewrite("क्ष", ["zw"], random.Random(seed)) for seed in range(20)}
    assert outs == {"क्" + ZWNJ + "ष", "क्" + ZWJ + "ष"}
    out = one("विद्यार्थी", "zw")
    assert out.replace(ZWNJ, "").replace(ZWJ, "") == "विद्यार्थी"
    assert out.count(ZWNJ) + out.count(ZWJ) == 2


def test_zw_skips_final_virama() -> None:
    assert one("जगत्", "zw") == "जगत्"


# --- digits ----------------------------------------------------------------

def test_digits_both_directions() -> None:
    assert one("वर्ष २०२६ में", "digits") == "वर्ष 2026 में"
    assert one("वर्ष 2026 में", "digits") == "वर्ष २०२६ में"
    assert one("१५ और 30", "digits") == "15 और ३०"


# --- matra -----------------------------------------------------------------

def test_matra_swaps_one_sign_per_word() -> None:
    assert one("दिन", "matra") == "दीन"
    assert one("दीन", "matra") == "दिन"
    assert one("पूरा", "matra") == "पुरा"
    assert one("कुछ", "matra") == "कूछ"
    word = "विद्यार्थियों"  # three candidate signs
    for seed in range(20):
        out = rewrite(word, ["matra"], random.Random(seed))
        assert sum(a != b for a, b in zip(word, out)) == 1


def test_matra_rate_chooses_words() -> None:
    text = " ".join(["दिन"] * 200)
    out = rewrite(text, ["matra"], random.Random(1), rate=0.25)
    changed = sum(w == "दीन" for w in out.split())
    assert 25 < changed < 75


# --- whole pipeline --------------------------------------------------------

def test_deterministic_with_seed() -> None:
    for text in SENTENCES:
        a = rewrite(text, KINDS, random.Random(42), rate=0.5)
        b = rewrite(text, KINDS, random.Random(42), rate=0.5)
        assert a == b
    assert rewrite(SENTENCES[0]) == rewrite(SENTENCES[0])  # rng=None is seeded
    many = {rewrite(" ".join(SENTENCES), rng=random.Random(s), rate=0.5) for s in range(5)}
    assert len(many) > 1


def test_kind_order_does_not_matter() -> None:
    text = SENTENCES[1]
    assert rewrite(text, ["nasal", "chandrabindu"], random.Random(3)) == \
        rewrite(text, ["chandrabindu", "nasal"], random.Random(3))


def test_rate_zero_and_no_kinds_are_identity() -> None:
    for text in SENTENCES:
        assert rewrite(text, rate=0.0) == text
        assert rewrite(text, kinds=[]) == text


def test_all_kinds_change_every_sentence() -> None:
    for text in SENTENCES:
        out, changed = rewrite_traced(text)
        assert out != text and changed


@pytest.mark.parametrize("kinds", [[k] for k in KINDS] + [list(KINDS)])
def test_never_invalid_sequences(kinds: list[str]) -> None:
    for text in SENTENCES:
        assert not INVALID.search(text)
        for seed in range(5):
            for rate in (1.0, 0.5):
                out = rewrite(text, kinds, random.Random(seed), rate)
                assert not INVALID.search(out), (kinds, text, out)
                assert VIRAMA * 2 not in out


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        rewrite("गए", ["spelling"])
    with pytest.raises(ValueError):
        rewrite("गए", rate=1.5)


def test_cli_rewrites_query_field(tmp_path: Path) -> None:
    records = [{"qid": f"q{i}", "query": s, "relevant": [f"d{i}"]}
               for i, s in enumerate(SENTENCES)]
    src = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    cmd = [sys.executable, str(ROOT / "bench" / "variants.py"),
           "--kinds", "nasal,digits", "--seed", "7"]
    proc = subprocess.run(cmd, input=src.encode(), capture_output=True, check=True)
    out = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert [r["qid"] for r in out] == [r["qid"] for r in records]
    assert [r["relevant"] for r in out] == [r["relevant"] for r in records]
    assert out[1]["query"] == "गाँव के लोग हिंदी में संबंध की बात करते हैं"
    assert out[2]["query"] == "सरकार ने नई योजना के लिए 2026 तक का लक्ष्य रखा"
    err = proc.stderr.decode("utf-8")
    assert re.search(r"nasal: 2/8", err) and re.search(r"digits: 2/8", err)
    assert re.search(r"any: 4/8", err)
    again = subprocess.run(cmd, input=src.encode(), capture_output=True, check=True)
    assert again.stdout == proc.stdout
