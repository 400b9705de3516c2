"""The HTTP API through Flask's test client, on the bundled sample corpus."""

from __future__ import annotations

import re

import pytest

from search import create_app
from search.analysis import Analyzer


def ids(answer: dict) -> set[str]:
    return {hit["id"] for hit in answer["hits"]}


class TestSearch:
    def test_response_shape(self, search):
        answer = search("भारत रूस", per_page=2)
        assert set(answer) >= {"query", "parsed", "total", "page", "per_page", "took_ms", "hits"}
        assert answer["query"] == "भारत रूस" and answer["page"] == 1 and answer["per_page"] == 2
        assert answer["total"] >= 3 and len(answer["hits"]) == 2
        hit = answer["hits"][0]
        assert set(hit) >= {"id", "title", "url", "source", "published", "score", "snippet"}
        assert hit["url"].startswith("https://") and re.fullmatch(r"\d{4}-\d\d-\d\d", hit["published"])

    def test_every_word_is_required(self, search, sample_records):
        answer = search("भारत रूस", per_page=100)
        analyzer = Analyzer()
        for record in sample_records:  # brute force over the analysed text
            terms = set(analyzer.terms(record["title"] + " " + record["body"]))
            has_both = set(analyzer.terms("भारत रूस")) <= terms
            assert (record["id"] in ids(answer)) == has_both, record["id"]

    def test_paging_is_consistent(self, search):
        everything = search("किसान", per_page=100)
        pages = [search("किसान", per_page=3, page=p)["hits"] for p in (1, 2, 3)]
        assert [h["id"] for page in pages for h in page] == [h["id"] for h in everything["hits"][:9]]
        assert search("किसान", per_page=3, page=2)["total"] == everything["total"]

    @pytest.mark.parametrize(
        "a, b, in_a, in_b",
        [
            ("ज़ोर", "जोर", "s003", "s014"),
            ("ज़िले", "जिले", "s005", "s045"),
            ("हिंदी", "हिन्दी", "s026", "s034"),
            ("संबंध", "सम्बन्ध", "s051", "s038"),
            ("गाँव", "गांव", "s028", "s024"),
            ("गए", "गये", "s002", "s016"),
            ("नई", "नयी", "s001", "s011"),
            ("२०२६", "2026", "s021", "s012"),
            ("फ़ैसला", "फैसला", "s004", "s019"),
            ("रक्षा", "रक्\u200cषा", "s054", "s058"),
        ],
    )
    def test_spelling_variants_find_the_same_documents(self, search, a, b, in_a, in_b):
        found_a, found_b = ids(search(a, per_page=100)), ids(search(b, per_page=100))
        assert found_a == found_b
        assert {in_a, in_b} <= found_a  # documents written either way

    def test_phrase_matches_only_adjacent_words(self, search):
        assert ids(search("सैन्य सहयोग")) == {"s054", "s055"}  # both words, anywhere
        phrase = search('"सैन्य सहयोग"')
        assert ids(phrase) == {"s054"}  # s055 has both words far apart
        assert "<mark>सैन्य</mark> <mark>सहयोग</mark>" in phrase["hits"][0]["snippet"]

    def test_phrase_spacing_and_spelling_do_not_matter(self, search):
        assert ids(search('"सैन्य   सहयोग"')) == ids(search('"सैन्य सहयोग"')) == {"s054"}

    def test_highlights_cover_whole_original_words(self, search):
        snippet = search("हिंदी")["hits"][0]["snippet"]
        marked = re.findall(r"<mark>(.*?)</mark>", snippet)
        assert marked and all(m in ("हिंदी", "हिन्दी") for m in marked)
        for answer in (search("ज़ोर"), search("रक्षा"), search("गाँव")):
            for hit in answer["hits"]:
                for word in re.findall(r"<mark>(.*?)</mark>", hit["snippet"]):
                    # the character after </mark> never continues the word
                    assert re.search(re.escape(word) + r"</mark>(?![\u0900-\u0963\u0971-\u097f])", hit["snippet"])

    def test_document_text_is_escaped(self, search):
        hit = next(h for h in search("script", per_page=100)["hits"] if h["id"] == "s060")
        snippet = hit["snippet"]
        assert "<script" not in snippet and "&lt;<mark>script</mark>&gt;" in snippet
        assert re.sub(r"</?mark>", "", snippet).count("<") == 0

    def test_stop_words_alone_still_search(self, search):
        assert search("और")["total"] > 10

    def test_latin_words_match_latin_text(self, search):
        assert "s057" in ids(search("brics"))
        assert "s058" in ids(search("ISIS/दाएश"))


def test_a_short_word_does_not_match_a_shorter_one(client):
    """नई was stemmed to न ("not"): every न in the sample was a hit and highlighted."""
    answer = client.get("/search", query_string={"q": "नई", "per_page": 50}).get_json()
    marked = {m for h in answer["hits"] for m in re.findall(r"<mark>(.*?)</mark>", h["snippet"] + h["title_html"])}
    assert answer["total"] > 0 and marked <= {"नई", "नयी"}


class TestPlaceholderSearch:
    """No query (Meilisearch's placeholder search): every document the filter keeps,
    newest first, with facets, so a site or an analyst can browse without typing."""

    @pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
    def test_no_query_lists_every_document_newest_first(self, client, params):
        answer = client.get("/search", query_string={**params, "per_page": 100}).get_json()
        everything = client.get("/stats").get_json()["documents"]
        dates = [h["published"] for h in answer["hits"] if h["published"]]
        assert answer["total"] == everything and dates == sorted(dates, reverse=True)
        assert answer["sort"] == "-published" and answer["parsed"] == "" and answer["suggestion"] is None
        assert all(h["snippet"] and "<mark>" not in h["snippet"] for h in answer["hits"])

    def test_a_filter_alone_browses_its_documents_with_facets(self, client, search):
        source = next(iter(search("भारत", facets="source")["facets"]["source"]))
        answer = search("", filter=f'source = "{source}"', facets="source,category", sort="published")
        assert answer["total"] == answer["facets"]["source"][source] > 0
        assert set(answer["facets"]["source"]) == {source}
        assert {h["source"] for h in answer["hits"]} == {source}
        dates = [h["published"] for h in answer["hits"] if h["published"]]
        assert answer["sort"] == "published" and dates == sorted(dates)

    def test_relevance_without_a_query_is_by_date(self, search):
        assert search("", sort="relevance")["sort"] == "-published"

    def test_the_export_of_a_filter_alone(self, client, search):
        wanted = search("", filter='category = "khel"', per_page=100)
        response = client.get("/export.json", query_string={"filter": 'category = "khel"'})
        assert response.status_code == 200
        assert [h["id"] for h in response.get_json()["hits"]] == [h["id"] for h in wanted["hits"]]


class TestErrors:
    @pytest.mark.parametrize(
        "params, message",
        [
            ({"q": "भारत", "page": "0"}, "'page' must be at least 1"),
            ({"q": "भारत", "page": "-3"}, "'page' must be at least 1"),
            ({"q": "भारत", "page": "दो"}, "'page' must be a positive whole number"),
            ({"q": "भारत", "per_page": "1.5"}, "'per_page' must be a positive whole number"),
            ({"q": "भारत", "per_page": "0"}, "'per_page' must be at least 1"),
            ({"q": "भारत", "per_page": "101"}, "'per_page' must be at most 100"),
            ({"q": "भारत", "page": "100000"}, "'page' must be at most 1000"),
            ({"q": '"'}, "no words"),
            ({"q": "-भारत"}, "only excludes"),
            ({"q": "भ*"}, "at least 2 letters"),
            ({"q": "भारत " * 300}, "longer than 1000 characters"),
            ({"q": "(" * 243 + "भारत"}, "nests parentheses deeper than 50"),  # was a RecursionError
        ],
    )
    def test_bad_requests_are_400_with_a_message(self, client, params, message):
        response = client.get("/search", query_string=params)
        assert response.status_code == 400
        body = response.get_json()
        assert message in body["message"] and body["error"]

    @pytest.mark.parametrize(
        "q", ["((((", '""""', "OR AND NOT", "title:", "*:*", "\x00\x07", "‍", "भारत" * 200, "%%%", "a" * 999]
    )
    def test_odd_input_never_500(self, client, q):
        response = client.get("/search", query_string={"q": q})
        assert response.status_code in (200, 400)
        assert response.is_json

    @pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%E0%A4"])
    def test_invalid_utf8_never_500(self, client, raw):
        response = client.get("/search?q=" + raw)
        assert response.status_code in (200, 400) and response.is_json

    def test_unknown_route_is_json_404(self, client):
        response = client.get("/nope")
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"


class TestHealth:
    def test_ok(self, client, sample_records):
        assert client.get("/health").get_json() == {
            "status": "ok", "documents": len(sample_records), "generation": 1,
            "semantic": {"enabled": False, "available": False, "reason": "off (set SEARCH_SEMANTIC=1)"},
        }

    def test_missing_index_is_503_json(self, tmp_path):
        client = create_app({"index": str(tmp_path / "missing")}).test_client()
        response = client.get("/health")
        assert response.status_code == 503
        assert response.get_json()["status"] == "error" and "no index" in response.get_json()["message"]
        assert client.get("/search?q=भारत").status_code == 503


    def test_index_from_another_analysis_version_is_503(self, sample_index, monkeypatch):
        monkeypatch.setattr("search.engine.index.ANALYSIS_VERSION", 999)
        response = create_app({"index": sample_index}).test_client().get("/health")
        assert response.status_code == 503 and "ingest the documents again" in response.get_json()["message"]


class TestCors:
    def test_no_origin_allowed_by_default(self, client):
        response = client.get("/search?q=भारत", headers={"Origin": "https://site.example"})
        assert "Access-Control-Allow-Origin" not in response.headers

    def test_configured_origins(self, sample_index):
        client = create_app({"index": sample_index, "cors_origins": "https://site.example"}).test_client()
        allowed = client.get("/search?q=भारत", headers={"Origin": "https://site.example"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://site.example"
        other = client.get("/search?q=भारत", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers

    def test_a_shared_cache_keeps_answers_per_origin(self, sample_index):
        client = create_app({"index": sample_index, "cors_origins": "https://site.example"}).test_client()
        for headers in ({"Origin": "https://site.example"}, {"Origin": "https://evil.example"}, {}):
            assert "Origin" in client.get("/search?q=भारत", headers=headers).headers.get("Vary", ""), headers

    @pytest.mark.parametrize("origins", ["https://site.example", "*"])
    def test_preflight_allows_the_requested_headers(self, sample_index, origins):
        client = create_app({"index": sample_index, "cors_origins": origins}).test_client()
        response = client.options("/search?q=भारत", headers={
            "Origin": "https://site.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-requested-with, content-type",
        })
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] in ("https://site.example", "*")
        assert "GET" in response.headers["Access-Control-Allow-Methods"]
        assert response.headers["Access-Control-Allow-Headers"] == "x-requested-with, content-type"
        refused = client.options("/search", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "Access-Control-Allow-Methods" not in refused.headers or origins == "*"

    def test_config_from_environment(self, sample_index, monkeypatch):
        monkeypatch.setenv("SEARCH_CORS_ORIGINS", "*")
        monkeypatch.setenv("SEARCH_INDEX", sample_index)
        client = create_app().test_client()
        response = client.get("/search?q=भारत", headers={"Origin": "https://any.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*"
