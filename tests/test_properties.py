"""Property-based tests: whatever text or query arrives, analysis and search hold up."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import hindi_docs, index_ids

from search import ingest, read_inputs
from search.analysis import Analyzer, normalise, tokenize
from search.documents import clean_text
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
@given(TEXT)
def test_term_spans_are_the_tokens(text):
    """Snippets' fast path (one regex split) gives exactly what tokens() gives."""
    analyzer = Analyzer()
    tokens = list(analyzer.tokens(text))
    assert analyzer.term_spans(text) == ([t.term for t in tokens], [t.start for t in tokens], [t.end for t in tokens])


@SETTINGS
@given(st.lists(st.one_of(DEVANAGARI, NASTY), min_size=1, max_size=12).map("".join))
def test_normalise_is_idempotent(word):
    once = normalise(word)
    assert normalise(once) == once
    if "\ud800" not in once:
        assert unicodedata.is_normalized("NFC", once)


@SETTINGS
@given(st.lists(TEXT, max_size=4).map(" ".join))
def test_clean_text_is_nfc_and_idempotent(text):
    """Stored text is NFC (normalised a space-separated chunk at a time, remembered)."""
    once = clean_text(text)
    assert clean_text(once) == once
    if "\ud800" not in once:
        assert unicodedata.is_normalized("NFC", once)
        assert once == clean_text(unicodedata.normalize("NFC", text))


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


# -- more hostile text: lone surrogates, marks without a base, huge words, mixed scripts --

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
MARKS = st.characters(categories=["Mn", "Mc", "Me"])  # combining marks (Devanagari and others)
SCRIPTS = st.sampled_from(["भारत", "G20", "مرحبا", "日本語", "Ελλάδα", "🙂", "ক্ষ", "ਪੰਜਾਬ", "x\u0301", "२०२६", "१५"])
MIXED = st.lists(st.one_of(DEVANAGARI, NASTY, SURROGATES, MARKS, SCRIPTS, st.characters()), max_size=60).map("".join)


@SETTINGS
@given(MIXED)
def test_offsets_fit_for_surrogates_bare_marks_and_mixed_scripts(text):
    assert_tokens_fit(text)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["क", "भारत", "a", "\u093f", "\ud800", "🙂"]), st.integers(10_000, 100_000), MIXED)
def test_offsets_fit_for_100_kb_words(unit, repeat, tail):
    word = (unit * repeat)[:100_000]
    assert_tokens_fit(word + " " + tail)
    assert_tokens_fit(tail + word)


def assert_tokens_fit(text: str) -> None:
    """Every token of ``text`` is a slice of it, with a term, positions counting up."""
    tokens = list(Analyzer().tokens(text))
    for token in tokens:
        assert 0 <= token.start < token.end <= len(text)
        assert text[token.start : token.end] == token.text and token.term
    assert [t.pos for t in tokens] == list(range(len(tokens)))
    assert [t.start for t in tokens] == sorted(t.start for t in tokens)


@SETTINGS
@given(st.lists(st.one_of(DEVANAGARI, MARKS, SURROGATES), min_size=1, max_size=12).map("".join))
def test_normalise_is_idempotent_on_bare_marks_and_surrogates(word):
    once = normalise(word)
    assert normalise(once) == once


# -- every endpoint, every parameter: 200 or 4xx, never a 5xx ---------------

ANY = st.one_of(st.none(), TEXT, st.sampled_from(["", "0", "-1", "1", "5", "100", "1e3", "99999999999999999999", "NaN"]))
FILTERS = st.one_of(
    st.none(), TEXT,
    st.sampled_from([
        "category = khel", "published >= 2026-01", "published 2020 TO 2026-12-31", "source IN [a, 'b c']",
        "NOT (category != x OR published < 2026-13-45)", "published > ", "((((", "source = \"", "category IN [",
    ]),
)
FACETS = st.one_of(st.none(), st.sampled_from(["source", "category,published", "published,source,category", "x", ",", ""]), TEXT)
SORT = st.one_of(st.none(), st.sampled_from(["relevance", "published", "-published", "+published", ""]), TEXT)


def _clean(params: dict) -> dict:
    """Drop absent parameters; text with lone surrogates as a browser would send it (replaced)."""
    return {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items() if v is not None}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/search", "/export.csv", "/export.json", "/suggest", "/"]),
    q=st.one_of(TEXT, MIXED), filter=FILTERS, facets=FACETS, sort=SORT, page=ANY, per_page=ANY, limit=ANY,
    snippet_chars=ANY, snippets=ANY, pre=st.one_of(st.none(), TEXT), post=st.one_of(st.none(), TEXT),
)
def test_every_endpoint_answers_200_or_4xx_for_any_parameters(
    client, path, q, filter, facets, sort, page, per_page, limit, snippet_chars, snippets, pre, post
):
    params = _clean({
        "q": q, "filter": filter, "facets": facets, "sort": sort, "page": page, "per_page": per_page,
        "limit": limit, "snippet_chars": snippet_chars, "snippets": snippets,
        "highlight_pre_tag": pre, "highlight_post_tag": post,
    })
    response = client.get(path, query_string=params)
    assert 200 <= response.status_code < 500, (path, params, response.get_data(as_text=True)[:300])
    if path != "/" and response.status_code >= 400:
        assert response.is_json and response.get_json()["message"]


# -- randomly corrupted input: exactly the bad records are rejected ----------

CORRUPTIONS_JSONL = {
    "cut": lambda line: line[: max(1, len(line) // 2)],  # half an object is never JSON
    "not UTF-8": lambda line: line.encode("utf-8")[:5] + b"\xff\xfe" + line.encode("utf-8")[5:],
    "not an object": lambda line: "[" + line + "]",
    "no id": lambda line: json.dumps({k: v for k, v in json.loads(line).items() if k != "id"}, ensure_ascii=False),
    "bad date": lambda line: json.dumps({**json.loads(line), "published": "2026-13-45"}, ensure_ascii=False),
    "number body": lambda line: json.dumps({**json.loads(line), "body": 42, "title": ""}, ensure_ascii=False),
}
CORRUPTIONS_CSV = {
    "extra cell": lambda row: row + ["अतिरिक्त"],
    "no id": lambda row: [""] + row[1:],
    "bad date": lambda row: row[:3] + ["कल"],
    "no text": lambda row: [row[0], " ", "", row[3]],
}


def _ingest_and_check(path: Path, bad_lines: set[int], good_ids: set[str]) -> None:
    with tempfile.TemporaryDirectory() as index:
        report = ingest(read_inputs([str(path)]), index)
        assert {r.line for r in report.rejects} == bad_lines
        assert all(r.reason and r.source == str(path) for r in report.rejects)
        assert report.added == len(good_ids)
        assert set(index_ids(index)) == good_ids
    print(f"corrupted input {path.suffix}: {len(bad_lines)} rejected, {len(good_ids)} kept")  # figures with -s


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.data())
def test_corrupted_json_lines_reject_exactly_the_bad_records(count, data):
    docs = hindi_docs(count)
    for doc in docs:
        doc["published"] = "2026-05-01"
    lines: list[bytes] = []
    bad: set[int] = set()
    for number, doc in enumerate(docs, start=1):
        line = json.dumps(doc, ensure_ascii=False)
        kind = data.draw(st.sampled_from([None, None, *CORRUPTIONS_JSONL]))
        if kind is not None:
            bad.add(number)
            corrupted = CORRUPTIONS_JSONL[kind](line)
            lines.append(corrupted if isinstance(corrupted, bytes) else corrupted.encode("utf-8"))
        else:
            lines.append(line.encode("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "feed.jsonl")
        path.write_bytes(b"\n".join(lines) + b"\n")
        _ingest_and_check(path, bad, {d["id"] for n, d in enumerate(docs, start=1) if n not in bad})


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.data())
def test_corrupted_csv_rejects_exactly_the_bad_records(count, data):
    docs = hindi_docs(count)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "title", "body", "published"])
    bad: set[int] = set()
    for number, doc in enumerate(docs, start=2):  # the header is line 1
        row = [doc["id"], doc["title"], doc["body"], "2026-05-01"]
        kind = data.draw(st.sampled_from([None, None, *CORRUPTIONS_CSV]))
        if kind is not None:
            bad.add(number)
            row = CORRUPTIONS_CSV[kind](row)
        writer.writerow(row)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "feed.csv")
        path.write_text(out.getvalue(), encoding="utf-8")
        _ingest_and_check(path, bad, {d["id"] for n, d in enumerate(docs, start=2) if n not in bad})
