"""Search answers judged by a brute-force oracle: every hit, every total, every facet.

A small corpus written here (Hindi words and sentences of our own, several
segments, replaced and deleted documents) and random queries in the whole
documented language (words, phrases, prefixes, NOT/-, OR, AND, parentheses,
``title:``/``body:``, filters). The oracle knows nothing of the engine: it
analyses each live document's title and body with the index's analyzer and
evaluates the parsed query tree by the rules of :mod:`search.querying`'s
docstring and the README's *Search API*:

- a word: any of its terms in the title or the body (or the named field);
- a phrase: its terms at consecutive positions in one field, any of a
  romanized word's readings at its position;
- a prefix: some term of the field starting with it (prefixes are never cut
  here: ``max_prefix_terms`` is set far above the corpus' vocabulary);
- AND all, OR and ANY(…) any, NOT the complement among the live documents;
- a query without operators that finds nothing as written is searched again
  as any of its words (``SearchService.parse(q, strict=False)``);
- a filter on the stored source, category and published (ISO date text).

Each query is then asked through the public interface (``/search`` and
``/export.json``) for every sort, several page sizes paged to the end, facets
on and off: the total, the hits as a set, the facet counts and the export must
all be the oracle's, and the order must be the documented one.

The default run checks 30 random queries, always the same ones (derandomized),
and a dozen fixed ones; the long run (marked slow) draws ``SEARCH_ORACLE_EXAMPLES``
queries (200) from seed ``SEARCH_ORACLE_SEED`` (random, printed on failure).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

import pytest
from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis import strategies as st

from conftest import write_jsonl

from search import create_app, ingest, read_inputs
from search.config import Settings
from search.engine import SearchIndex
from search.filtering import AllOf, AnyOf, FilterNode, Negate, parse_filter
from search.querying import And, AnyWords, Node, Not, Or, Phrase, Prefix, QueryError, Word
from search.searching import SearchService

# --------------------------------------------------------------------------
# The corpus: our own words and sentences, no real data.
# --------------------------------------------------------------------------

#: Content words by how many documents use them: a few everywhere, most in a handful.
COMMON = ["भारत", "सरकार", "किसान", "मौसम"]
MIDDLE = ["बारिश", "नदी", "पहाड़", "चुनाव", "संसद", "व्यापार", "अस्पताल", "डॉक्टर", "क्रिकेट", "खिलाड़ी",
          "किसानों", "नदियों", "बाज़ार"]
RARE = ["त्योहार", "दीवाली", "कविता", "इतिहास", "विज्ञान", "कंप्यूटर", "सोना", "चाँदी", "मानसून", "हिन्दी",
        "हिंदी", "बीमारी", "बिमारी", "गाँव", "गांव", "भारती", "सरकारी", "किसानी"]
#: Stop words, glue between the content words (and queries of nothing else).
GLUE = ["और", "के", "में", "की", "से", "को", "ने", "पर", "है", "था", "भी"]
#: Sentences whose words stand together in some documents (phrases that match).
SENTENCES = [
    "भारत सरकार ने किसानों के लिए नई योजना शुरू की",
    "पहाड़ों पर भारी बारिश से नदी का जलस्तर बढ़ा",
    "संसद में चुनाव सुधार पर लंबी बहस हुई",
    "क्रिकेट खिलाड़ी ने शानदार शतक लगाया",
    "दीवाली के त्योहार पर सोना और चाँदी महंगे हुए",
    "अस्पताल में डॉक्टर मरीजों की जांच करते हैं",
    "मौसम विभाग ने मानसून की पहली बारिश की खबर दी",
]
#: Words no document has (queries that find nothing, and their relaxation).
ABSENT = ["समुद्र", "रेगिस्तान", "हवाई"]
#: Romanized words (read as Devanagari index terms by the parser).
ROMAN = ["bharat", "sarkar", "kisan"]

SOURCES = ["Jan Awaz", "Bharat Times", "Pahad Patrika"]
CATEGORIES = ["khel", "rajneeti", "krishi"]
#: Dates on month and year boundaries, so month/year bounds of filters are tested at their edges.
DATES = ["2025-12-31", "2026-01-01", "2026-01-15", "2026-02-28", "2026-03-01", "2026-03-31", "2026-04-10",
         "2026-06-30", "2026-07-01"]


def _documents(rng: random.Random, count: int, prefix: str) -> list[dict]:
    docs = []
    for n in range(count):
        parts: list[str] = []
        for _ in range(rng.randint(0, 2)):
            parts.append(rng.choice(SENTENCES))
        for _ in range(rng.randint(2, 9)):
            pool = rng.choices([COMMON, MIDDLE, RARE], weights=[3, 3, 1])[0]
            parts.append(rng.choice(pool))
            if rng.random() < 0.5:
                parts.append(rng.choice(GLUE))
        rng.shuffle(parts)
        doc: dict = {"id": f"{prefix}{n}"}
        kind = rng.random()
        if kind < 0.6:  # title and body
            doc["title"] = " ".join(rng.sample(COMMON + MIDDLE + RARE + GLUE, rng.randint(1, 4)))
            doc["body"] = " ".join(parts) + "।"
        elif kind < 0.9:  # body only
            doc["body"] = " ".join(parts) + "।"
        else:  # title only
            doc["title"] = " ".join(parts[:5])
        for name, values, share in (("source", SOURCES, 0.7), ("category", CATEGORIES, 0.6), ("published", DATES, 0.7)):
            if rng.random() < share:
                doc[name] = rng.choice(values)
        docs.append(doc)
    return docs


#: The documents of the first ingest (fixed: phrases for queries are drawn from their text).
DOCS = _documents(random.Random(16), 28, "d")


def _windows(texts: Iterable[str], sizes: tuple[int, ...] = (2, 3)) -> list[str]:
    """Every run of ``sizes`` consecutive words in ``texts`` (sorted: hypothesis wants a fixed list)."""
    found = set()
    for text in texts:
        words = text.replace("।", " ").split()
        for size in sizes:
            found.update(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return sorted(found)


PHRASES = _windows([*SENTENCES, *(d.get(name, "") for d in DOCS for name in ("title", "body"))])


@dataclass
class Corpus:
    """An index and what it must hold: the live documents by id."""

    index: str
    live: dict[str, dict]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    """28 documents in several segments; 8 then replaced (new text or fields), 5 deleted,
    2 added: an index with several segments and deleted documents, as ``many_segments``."""
    rng = random.Random(61)
    path = tmp_path_factory.mktemp("oracle")
    index = str(path / "index")
    ingest(read_inputs([str(write_jsonl(path / "a.jsonl", DOCS))]), index, batch_size=6, max_segments=100)
    live = {d["id"]: d for d in DOCS}
    changed = []
    for doc in rng.sample(DOCS, 8):
        new = dict(doc)
        if rng.random() < 0.5 or "body" not in doc:
            new["body"] = (doc.get("body", "") + " " + rng.choice(SENTENCES) + " नवीनतम").strip()
        for name, values in (("source", SOURCES), ("category", CATEGORIES), ("published", DATES)):
            if rng.random() < 0.3:
                new.pop(name, None)
            elif rng.random() < 0.4:
                new[name] = rng.choice(values)
        changed.append(new)
        live[new["id"]] = new
    ingest(read_inputs([str(write_jsonl(path / "b.jsonl", changed))]), index, batch_size=3, max_segments=100)
    removed = sorted(rng.sample(sorted(live), 5))
    extra = _documents(rng, 2, "e")
    rows = [{"id": doc_id, "deleted": True} for doc_id in removed] + extra
    ingest(read_inputs([str(write_jsonl(path / "c.jsonl", rows))]), index, batch_size=2, max_segments=100)
    for doc_id in removed:
        del live[doc_id]
    live.update((d["id"], d) for d in extra)

    ix = SearchIndex.open(index)
    try:
        assert ix.segment_count() > 2
        reader = ix.searcher().reader()
        assert reader.has_deletions()
        stored = {f["id"]: f for f in reader.all_stored_fields()}
    finally:
        ix.close()
    assert set(stored) == set(live)  # the index holds exactly the documents we think
    for name in ("title", "body", "source", "category", "published"):  # each field set on some, missing on others
        assert 0 < sum(1 for doc in live.values() if doc.get(name)) < len(live), name
    for doc_id, doc in live.items():
        for name in ("title", "body", "source", "category", "published"):
            assert (stored[doc_id].get(name) or "") == doc.get(name, ""), (doc_id, name)
    return Corpus(index, live)


# --------------------------------------------------------------------------
# The oracle: the query tree evaluated over every live document, in Python.
# --------------------------------------------------------------------------

TEXT_FIELDS = ("title", "body")
FACETS = ("source", "category", "published")


class Oracle:
    """What a query must find, from the documented language alone."""

    def __init__(self, corpus: Corpus, service: SearchService) -> None:
        self.service = service
        analyzer = service.index().analyzer
        self.docs = corpus.live
        self.terms = {
            doc_id: {name: analyzer.terms(doc.get(name, "")) for name in TEXT_FIELDS} for doc_id, doc in self.docs.items()
        }
        self.term_sets = {doc_id: {name: set(t) for name, t in fields.items()} for doc_id, fields in self.terms.items()}

    # -- the query tree --------------------------------------------------

    def matches(self, node: Node) -> set[str]:
        if isinstance(node, And):
            found = set(self.docs)
            for child in node.children:
                found &= self.matches(child)
            return found
        if isinstance(node, (Or, AnyWords)):
            return set().union(*(self.matches(child) for child in node.children))
        if isinstance(node, Not):
            return set(self.docs) - self.matches(node.child)
        return {doc_id for doc_id in self.docs if self.leaf(node, doc_id)}

    def leaf(self, node: Word | Phrase | Prefix, doc_id: str) -> bool:
        names = (node.field,) if node.field else TEXT_FIELDS
        if isinstance(node, Word):
            return any(term in self.term_sets[doc_id][name] for name in names for term in node.terms)
        if isinstance(node, Prefix):
            return any(term.startswith(node.prefix) for name in names for term in self.term_sets[doc_id][name])
        wanted = node.alternatives or tuple((term,) for term in node.terms)
        for name in names:
            terms = self.terms[doc_id][name]
            for start in range(len(terms) - len(wanted) + 1):
                if all(terms[start + i] in choices for i, choices in enumerate(wanted)):
                    return True
        return False

    # -- filters ----------------------------------------------------------

    def kept(self, node: FilterNode, doc_id: str) -> bool:
        if isinstance(node, AllOf):
            return all(self.kept(child, doc_id) for child in node.children)
        if isinstance(node, AnyOf):
            return any(self.kept(child, doc_id) for child in node.children)
        if isinstance(node, Negate):
            return not self.kept(node.child, doc_id)
        value = self.docs[doc_id].get(node.field, "")
        if node.op == "in":
            return value in node.values
        if node.op == "!=":  # everything else, documents without the field too
            return value != node.values[0]
        if not value:  # no date (or no value) is never equal, before or after anything
            return False
        bound = node.values[0]
        return {"=": value == bound, ">=": value >= bound, ">": value > bound,
                "<": value < bound, "<=": value <= bound}[node.op]

    # -- a whole request ---------------------------------------------------

    def answer(self, q: str, flt: str) -> set[str]:
        """The ids ``q`` finds under ``flt``; raises QueryError/FilterError as the service must."""
        allowed = set(self.docs)
        if flt.strip():
            tree = parse_filter(flt)
            allowed = {doc_id for doc_id in self.docs if self.kept(tree, doc_id)}
        node = self.service.parse(q)
        found = self.matches(node) & allowed
        if not found:  # the documented relaxation of a query without operators
            loose = self.service.parse(q, strict=False)
            if loose != node:
                found = self.matches(loose) & allowed
        return found

    def facets(self, ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """Facet counts over ``ids``: values of source and category, published by month."""
        counts: dict[str, Counter] = {name: Counter() for name in FACETS}
        for doc_id in ids:
            doc = self.docs[doc_id]
            for name in FACETS:
                value = doc.get(name, "")
                if value:
                    counts[name][value[:7] if name == "published" else value] += 1
        return {name: dict(c) for name, c in counts.items()}


# --------------------------------------------------------------------------
# The public interface, checked against the oracle.
# --------------------------------------------------------------------------

#: Settings of the app under test: prefixes never cut (the corpus has a few hundred terms),
#: a time limit no small search reaches on a loaded machine.
APP_SETTINGS = {"refresh_seconds": 0, "max_prefix_terms": 100_000, "query_time_limit": 60.0}
SORTS = ("relevance", "published", "-published")
#: Page sizes, and facets on, off, or on every other page (which also checks that asking
#: for facets changes no hit). per_page=100 (every hit on one page) first: the order
#: the smaller pages must follow.
PAGINGS = ((100, "off"), (100, "on"), (7, "alternate"), (3, "alternate"), (1, "alternate"))


@pytest.fixture(scope="module")
def service(corpus) -> SearchService:
    return SearchService(Settings.load({"index": corpus.index, **APP_SETTINGS}))


@pytest.fixture(scope="module")
def oracle(corpus, service) -> Oracle:
    return Oracle(corpus, service)


@pytest.fixture(scope="module")
def api(corpus):
    return create_app({"index": corpus.index, **APP_SETTINGS}).test_client()


def _get(api, path: str, **params) -> tuple[int, dict]:
    response = api.get(path, query_string=params)
    return response.status_code, response.get_json()


def _check_date_order(hits: list[dict], sort: str, what: str) -> None:
    """Dated hits by date (newest first for ``-published``), every undated one after them."""
    dates = [h.get("published") or "" for h in hits]
    dated = [d for d in dates if d]
    assert dates[: len(dated)] == dated, f"{what}: a hit without a date before a dated one: {dates}"
    assert dated == sorted(dated, reverse=sort == "-published"), f"{what}: not in date order: {dates}"


def check_query(api, oracle: Oracle, q: str, flt: str = "") -> int:
    """Ask ``q`` (under ``flt``) every way the API allows and compare with the oracle.

    Returns the number of requests made."""
    params = {"q": q, "filter": flt}
    try:
        expected = oracle.answer(q, flt)
    except (QueryError, ValueError) as exc:  # FilterError is a ValueError too
        for path in ("/search", "/export.json"):
            status, body = _get(api, path, **params)
            assert status == 400, (path, q, flt, status, body, str(exc))
        return 2
    want_facets = oracle.facets(expected)
    requests = 0
    for sort in SORTS:
        reference: list[str] | None = None
        for per_page, facets in PAGINGS:
            what = f"q={q!r} filter={flt!r} sort={sort} per_page={per_page} facets={facets}"
            order: list[str] = []
            hits: list[dict] = []
            pages = max(1, -(-len(expected) // per_page))
            for page in range(1, pages + 1):
                with_facets = facets == "on" or (facets == "alternate" and (page + per_page) % 2 == 1)
                extra = {"facets": ",".join(FACETS)} if with_facets else {}
                status, body = _get(api, "/search", **params, sort=sort, per_page=per_page, page=page, **extra)
                requests += 1
                assert status == 200, f"{what} page={page}: HTTP {status} {body}"
                assert body["total"] == len(expected), (
                    f"{what} page={page}: total {body['total']}, the oracle finds {len(expected)}"
                    f" (parsed {body['parsed']!r})"
                )
                if with_facets:
                    _check_facets(body["facets"], want_facets, f"{what} page={page}")
                else:
                    assert body["facets"] is None, what
                hits.extend(body["hits"])
                order.extend(h["id"] for h in body["hits"])
            assert len(order) == len(set(order)), f"{what}: an id on two pages: {order}"
            assert set(order) == expected, (
                f"{what}: found and not expected {sorted(set(order) - expected)}, "
                f"expected and not found {sorted(expected - set(order))} (parsed {body['parsed']!r})"
            )
            for hit in hits:
                doc = oracle.docs[hit["id"]]
                assert [hit.get(n) or "" for n in FACETS] == [doc.get(n, "") for n in FACETS], (what, hit)
            if sort == "relevance":
                if reference is None:
                    reference = order
                assert order == reference, f"{what}: another order than at per_page=100: {order} {reference}"
            else:
                _check_date_order(hits, sort, what)
        status, body = _get(api, "/export.json", **params, sort=sort)
        requests += 1
        what = f"/export.json q={q!r} filter={flt!r} sort={sort}"
        assert status == 200, f"{what}: HTTP {status} {body}"
        ids = [h["id"] for h in body["hits"]]
        assert (body["total"], body["exported"]) == (len(expected), len(expected)), f"{what}: {body['total']}"
        assert len(ids) == len(set(ids)) and set(ids) == expected, (
            f"{what}: found and not expected {sorted(set(ids) - expected)}, "
            f"expected and not found {sorted(expected - set(ids))}"
        )
        if sort != "relevance":
            _check_date_order(body["hits"], sort, what)
    return requests


def _check_facets(got: dict, want: dict, what: str) -> None:
    assert set(got) == set(FACETS), what
    for name in FACETS:
        assert got[name] == want[name], f"{what}: facet {name} {got[name]}, the oracle counts {want[name]}"
        values = list(got[name])
        if name == "published":
            assert values == sorted(values), f"{what}: months out of order: {values}"
        else:
            counts = list(got[name].values())
            assert counts == sorted(counts, reverse=True), f"{what}: facet {name} not most common first"


# --------------------------------------------------------------------------
# Random queries
# --------------------------------------------------------------------------

WORDS = COMMON + MIDDLE + RARE
word = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(WORDS), st.sampled_from(ABSENT), st.sampled_from(GLUE), st.sampled_from(ROMAN)
)
#: Phrases that stand in the corpus, and the same words shuffled (which mostly do not).
phrase = st.one_of(
    st.sampled_from(PHRASES).map(lambda p: f'"{p}"'),
    st.sampled_from(PHRASES).flatmap(lambda p: st.permutations(p.split())).map(lambda w: '"' + " ".join(w) + '"'),
)
prefix = st.tuples(st.sampled_from(WORDS + GLUE), st.sampled_from((2, 3))).map(lambda wn: wn[0][: wn[1]] + "*")


@st.composite
def leaf(draw) -> str:
    text = draw(st.one_of(word, word, phrase, prefix))
    if draw(st.integers(0, 5)) == 0:
        text = draw(st.sampled_from(("title:", "body:"))) + text
    return text


def expression(depth: int = 2) -> st.SearchStrategy[str]:
    """A boolean query of words, phrases and prefixes: NOT/-, OR, AND, parentheses, fields."""
    if depth == 0:
        return leaf()

    @st.composite
    def build(draw) -> str:
        kind = draw(st.sampled_from(("leaf", "leaf", "not", "and", "or", "group", "neg-group", "field-group")))
        inner = expression(depth - 1)
        if kind == "leaf":
            return draw(leaf())
        if kind == "not":
            return draw(st.sampled_from(("-", "NOT "))) + draw(leaf())
        if kind in ("and", "or"):
            parts = draw(st.lists(inner, min_size=2, max_size=3))
            joiner = " OR " if kind == "or" else draw(st.sampled_from((" ", " AND ")))
            return joiner.join(parts)
        if kind == "group":
            return "(" + draw(inner) + ")"
        if kind == "neg-group":
            return "-(" + draw(inner) + ")"
        return draw(st.sampled_from(("title:", "body:"))) + "(" + draw(inner) + ")"

    return build()


#: A query without operators: a few words and phrases (all required, any of them when
#: longer than 2 words, and relaxed to any when nothing has them all).
plain = st.lists(st.one_of(word, word, phrase), min_size=1, max_size=5).map(" ".join)

month = st.sampled_from(sorted({d[:7] for d in DATES} | {"2026-05", "2025-11"}))
day = st.sampled_from(DATES + ["2026-02-15", "2026-05-05"])
bound = st.one_of(day, month, st.sampled_from(("2025", "2026")))


@st.composite
def condition(draw) -> str:
    name = draw(st.sampled_from(("source", "category", "published")))
    if name == "published":
        kind = draw(st.sampled_from(("=", "!=", ">=", ">", "<", "<=", "TO")))
        if kind in ("=", "!="):
            return f"published {kind} {draw(day)}"
        if kind == "TO":
            return f"published {draw(bound)} TO {draw(bound)}"
        return f"published {kind} {draw(bound)}"
    values = SOURCES if name == "source" else CATEGORIES
    kind = draw(st.sampled_from(("=", "!=", "IN", "NOT IN")))
    if kind in ("=", "!="):
        return f'{name} {kind} "{draw(st.sampled_from(values))}"'
    chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
    return f"{name} {kind} [" + ", ".join(f'"{v}"' for v in chosen) + "]"


@st.composite
def filters(draw) -> str:
    if draw(st.integers(0, 2)):
        return ""
    parts = draw(st.lists(condition(), min_size=1, max_size=2))
    text = draw(st.sampled_from((" AND ", " OR "))).join(parts)
    return f"NOT ({text})" if draw(st.integers(0, 4)) == 0 else text


queries = st.one_of(expression(), expression(), plain)


# --------------------------------------------------------------------------
# The oracle itself, on facts checked by hand
# --------------------------------------------------------------------------


def test_the_oracle_reads_the_language_as_documented(corpus, oracle):
    has = {doc_id: doc.get("title", "") + " " + doc.get("body", "") for doc_id, doc in corpus.live.items()}
    sentence = {doc_id for doc_id, text in has.items() if SENTENCES[0] in text}
    assert sentence and sentence <= oracle.answer('"भारत सरकार ने"', "")
    assert oracle.answer('title:"भारत सरकार ने"', "") <= {d for d, doc in corpus.live.items() if "भारत" in doc.get("title", "")}
    assert oracle.answer("सरकार -भारत", "") == oracle.answer("सरकार", "") - oracle.answer("भारत", "")
    assert oracle.answer("सरकार OR -भारत", "") == oracle.answer("सरकार", "") | (set(has) - oracle.answer("भारत", ""))
    assert oracle.answer("हिन्दी", "") == oracle.answer("हिंदी", "")  # one word, two spellings
    # a word no document has: alone it finds nothing; beside another it is relaxed away
    assert not oracle.answer("समुद्र", "") and oracle.answer("समुद्र भारत", "") == oracle.answer("भारत", "")
    assert oracle.answer("समुद्र OR भारत", "") == oracle.answer("भारत", "")
    assert not oracle.answer("समुद्र AND भारत", "")  # an operator: read exactly as typed
    dated = {d: doc.get("published", "") for d, doc in corpus.live.items()}
    assert {d for d in oracle.answer("भारत", "published < 2026-03")} == {
        d for d in oracle.answer("भारत", "") if dated[d] and dated[d] < "2026-03-01"
    }
    assert oracle.answer("भारत", "published <= 2026-02") == oracle.answer("भारत", "published < 2026-03")
    assert oracle.answer("भारत", "published 2026-03 TO 2026-03") == {
        d for d in oracle.answer("भारत", "") if dated[d].startswith("2026-03")
    }
    without = {d for d in oracle.answer("भारत", "") if not corpus.live[d].get("category")}
    assert without and without <= oracle.answer("भारत", "category != khel")
    with pytest.raises(QueryError):
        oracle.answer("-भारत", "")


# --------------------------------------------------------------------------
# The defects found on the main branch before this test (issue 16), one by one
# --------------------------------------------------------------------------


def _containing(oracle: Oracle, word: str) -> set[str]:
    return oracle.answer(word, "")


def test_an_excluded_word_stays_out_in_date_order(api, oracle):
    """``X -Y`` sorted by date returned documents with Y (Whoosh's AndNot in a segment with deletions)."""
    q, excluded = "भारत -मौसम", _containing(oracle, "मौसम")
    assert _containing(oracle, "भारत") & excluded  # Y is in some documents with X: there is something to exclude
    for sort in SORTS:
        for path in ("/search", "/export.json"):
            status, body = _get(api, path, q=q, sort=sort, per_page=100)
            assert status == 200, body
            ids = {h["id"] for h in body["hits"]}
            assert not ids & excluded, f"{path} sort={sort}: {sorted(ids & excluded)} have मौसम"
            assert (body["total"], ids) == (len(oracle.answer(q, "")), oracle.answer(q, "")), (path, sort)


def test_or_not_total_is_one_for_every_page_size_and_sort(api, oracle):
    """``A OR -B``: the total changed with per_page and between relevance and date sorts."""
    q = "भारत OR -मौसम"
    totals = {}
    for sort in SORTS:
        for per_page in (1, 3, 7, 100):
            status, body = _get(api, "/search", q=q, sort=sort, per_page=per_page)
            assert status == 200, body
            totals[sort, per_page] = body["total"]
    assert set(totals.values()) == {len(oracle.answer(q, ""))}, totals


def test_or_not_with_facets_answers_the_counts(api, oracle):
    """``A OR -B`` with facets (as the search page asks) answered 500 (an AssertionError)."""
    q = "भारत OR -मौसम"
    status, body = _get(api, "/search", q=q, facets=",".join(FACETS))
    assert status == 200, body
    assert body["facets"] == oracle.facets(oracle.answer(q, ""))


def test_or_with_two_exclusions_answers(api, oracle):
    """``A OR -B -C`` answered 500 (a ValueError in Whoosh's compound query)."""
    q = "सरकार OR -किसान -भारत"
    status, body = _get(api, "/search", q=q, per_page=100)
    assert status == 200, body
    assert (body["total"], {h["id"] for h in body["hits"]}) == (len(oracle.answer(q, "")), oracle.answer(q, ""))


@pytest.mark.parametrize("q", ["भा* भारत", "bharat sarkar"], ids=["prefix-and-word", "romanized-words"])
def test_small_pages_are_slices_of_one_order(api, oracle, q):
    """Found here: an AND of a prefix (or a romanized word's readings) and a word it overlaps
    ranked the best hits differently for a small limit, so pages at per_page=1 lost a
    document that per_page=100 ranks near the top, and showed another twice."""
    status, body = _get(api, "/search", q=q, per_page=100)
    assert status == 200 and body["total"] == len(oracle.answer(q, "")) > 7, body
    order = [h["id"] for h in body["hits"]]
    for per_page in (1, 3, 7):
        pages = []
        for page in range(1, 4):
            status, body = _get(api, "/search", q=q, per_page=per_page, page=page)
            pages.extend(h["id"] for h in body["hits"])
        assert pages == order[: 3 * per_page], f"per_page={per_page}: {pages}, at per_page=100 {order}"


def test_export_finds_what_search_finds_when_relaxed(api, oracle):
    """Found here: a query without operators that nothing matches as a whole is searched as
    any of its words by /search, but /export.json exported nothing ("every page of a search")."""
    q = "समुद्र भारत"  # nothing has समुद्र
    expected = oracle.answer(q, "")
    assert expected == oracle.answer("भारत", "") and expected
    status, body = _get(api, "/search", q=q, per_page=100)
    assert (status, {h["id"] for h in body["hits"]}) == (200, expected)
    status, body = _get(api, "/export.json", q=q)
    assert status == 200, body
    assert (body["total"], {h["id"] for h in body["hits"]}) == (len(expected), expected)


#: Fixed queries through the whole check: the defects above, and each part of the language once.
FIXED = {
    "x-not-y": ("भारत -मौसम", ""),
    "x-or-not-y": ("भारत OR -मौसम", ""),
    "x-or-not-y-not-z": ("सरकार OR -किसान -भारत", ""),
    "relaxed": ("समुद्र भारत", ""),  # nothing has both words: any of them
    "phrase-or-title": ('"भारत सरकार" OR title:नदी', "category != khel"),
    "prefix-not-group": ("भा* -(title:किसान OR बारिश)", "published >= 2026-03"),
    "field-group": ("title:(भारत OR सरकार) body:मौसम", 'source IN ["Jan Awaz", "Bharat Times"]'),
    "any-words": ("मौसम बारिश नदी पहाड़", "NOT (published 2026-01 TO 2026-03)"),
    "stop-word": ("के", ""),
    "romanized": ("bharat sarkar", ""),
    "romanized-and-devanagari": ("bharat भारत", ""),
    "prefix-and-word": ("भा* भारत", ""),
    "filter-year-or": ("किसान", 'published < 2026 OR category = "krishi"'),
}


@pytest.mark.parametrize("name", FIXED)
def test_fixed_queries_agree_with_the_oracle(api, oracle, name):
    check_query(api, oracle, *FIXED[name])


#: Random queries of the default run: a fixed set (derandomized). It reports the first
#: failing query as drawn (shrinking one costs minutes); the long run shrinks.
DEFAULT_EXAMPLES = 30
LONG_EXAMPLES = int(os.environ.get("SEARCH_ORACLE_EXAMPLES", "200"))
LONG_SEED = int(os.environ.get("SEARCH_ORACLE_SEED", str(random.randrange(10**6))))
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


@settings(max_examples=DEFAULT_EXAMPLES, derandomize=True, deadline=None, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=_HEALTH)
@given(q=queries, flt=filters())
def test_random_queries_agree_with_the_oracle(api, oracle, q, flt):
    check_query(api, oracle, q, flt)


@pytest.mark.slow
@seed(LONG_SEED)
@settings(max_examples=LONG_EXAMPLES, deadline=None, database=None, suppress_health_check=_HEALTH)
@given(q=queries, flt=filters())
def test_many_random_queries_agree_with_the_oracle(api, oracle, q, flt):
    """The long run: ``SEARCH_ORACLE_EXAMPLES`` queries (200), seed ``SEARCH_ORACLE_SEED`` (random)."""
    note(f"rerun with SEARCH_ORACLE_SEED={LONG_SEED} SEARCH_ORACLE_EXAMPLES={LONG_EXAMPLES}")
    check_query(api, oracle, q, flt)
