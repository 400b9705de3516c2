"""Property-based tests: whatever text or query arrives, analysis and search hold up."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.analysis import Analyzer, normalise, tokenize
from search.querying import QueryError, parse

# Text that looks like what arrives: Devanagari (letters, signs, digits, danda),
# joiners, Latin, punctuation, whitespace, plus anything else Unicode has.
DEVANAGARI = st.characters(min_codepoint=0x0900, max_codepoint=0x097F)
NASTY = st.sampled_from(["\u200c", "\u200d", "\u093c", "\u094d", "\u0901", "\u0902", "।", "॥", "॰",
                         "&", "-", "/", '"', "(", ")", "*", ":", " ", "\n", "\ud800", "\x00", "\u0301"])
TEXT = st.lists(st.one_of(DEVANAGARI, NASTY, st.characters()), max_size=80).map("".join)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(TEXT)
def test_tokens_lie_inside_the_text(text):
    for word, start, end in tokenize(text):
        assert 0 <= start < end <= len(text) and text[start:end] == word


@SETTINGS
@given(TEXT)
def test_analyzer_never_raises_and_offsets_fit(text):
    positions = []
    for token in Analyzer().tokens(text):
        assert text[token.start : token.end] == token.text
        assert token.term
        positions.append(token.pos)
    assert positions == list(range(len(positions)))


@SETTINGS
@given(st.lists(st.one_of(DEVANAGARI, NASTY), min_size=1, max_size=12).map("".join))
def test_normalise_is_idempotent(word):
    once = normalise(word)
    assert normalise(once) == once
    if "\ud800" not in once:
        assert unicodedata.is_normalized("NFC", once)


@SETTINGS
@given(TEXT)
def test_parser_answers_a_tree_or_a_query_error(query):
    try:
        parse(query, Analyzer())
    except QueryError as exc:
        assert str(exc)


def test_a_100_kb_word():
    word = "क" * 100_000
    tokens = list(Analyzer().tokens(word + " भारत"))
    assert [t.end - t.start for t in tokens] == [100_000, 4]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=TEXT, page=st.one_of(st.none(), st.text(max_size=6)), per_page=st.one_of(st.none(), st.text(max_size=6)))
def test_search_answers_200_or_400_never_500(client, q, page, per_page):
    params = {k: v for k, v in {"q": q, "page": page, "per_page": per_page}.items() if v is not None}
    params = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items()}
    response = client.get("/search", query_string=params)
    assert response.status_code in (200, 400), (params, response.get_json())
    assert response.is_json
