"""The search API beyond keywords (filter, facets, sort, snippet options, suggest,
did-you-mean, documents, stats, limits, access log) through Flask's test client,
checked against brute-force answers over the sample corpus."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter

import pytest

from search import create_app
from search.analysis import Analyzer

ANALYZER = Analyzer()


def ids(answer: dict) -> set[str]:
    return {hit["id"] for hit in answer["hits"]}


def having(records: list[dict], *words: str) -> list[dict]:
    """Brute force: the records whose analysed title+body contain every word."""
    terms = [ANALYZER.word(w)[0] for w in words]
    return [r for r in records if set(terms) <= set(ANALYZER.terms(r["title"] + " " + r["body"]))]


def get(client, path: str, **params) -> tuple[int, dict]:
    response = client.get(path, query_string=params)
    assert response.is_json
    return response.status_code, response.get_json()


class TestFilter:
    @pytest.mark.parametrize(
        "flt, keep",
        [
            ('source = "Jan Awaz"', lambda r: r["source"] == "Jan Awaz"),
            ("source != 'Jan Awaz'", lambda r: r["source"] != "Jan Awaz"),
            ('category IN ["krishi", "rajneeti"]', lambda r: r["category"] in ("krishi", "rajneeti")),
            ("category NOT IN [krishi]", lambda r: r["category"] != "krishi"),
            (
                "published >= 2025-03-01 AND published < 2025-07-01",
                lambda r: "2025-03-01" <= r["published"] < "2025-07-01",
            ),
            ("published > 2026-10-09", lambda r: r["published"] > "2026-10-09"),
            ("published 2025-03-10 TO 2025-05-27", lambda r: "2025-03-10" <= r["published"] <= "2025-05-27"),
            ("published <= 2025-01-31", lambda r: r["published"] <= "2025-01-31"),
            ("published = 2025-01-08", lambda r: r["published"] == "2025-01-08"),
            (
                'NOT (source = "Jan Awaz" OR category = krishi) AND published >= 2026',
                lambda r: not (r["source"] == "Jan Awaz" or r["category"] == "krishi") and r["published"] >= "2026",
            ),
        ],
    )
    def test_filter_matches_brute_force(self, search, sample_records, flt, keep):
        for q in ("और", "किसान"):  # a broad and a narrow query
            expected = {r["id"] for r in having(sample_records, q) if keep(r)}
            answer = search(q, filter=flt, per_page=100)
            assert ids(answer) == expected and answer["total"] == len(expected), (q, flt)
            assert search(q, filter=flt, per_page=1)["total"] == len(expected)  # exact beyond the page

    def test_response_echoes_the_filter_as_understood(self, search):
        answer = search("भारत", filter="category in [khel]  and published>=2025-06")
        assert answer["filter"] == 'category IN ["khel"] AND published >= "2025-06-01"'
        assert search("भारत")["filter"] is None

    @pytest.mark.parametrize(
        "flt, message",
        [
            ("published >= 2020-03-01 AND published <", "at character 40: expected a value"),
            ("source = ", "expected a value"),
            ("colour = red", "unknown field 'colour'"),
            ('source = "Jan', "never closed"),
            ("category >= khel", "compares dates only"),
        ],
    )
    def test_malformed_filter_is_400_saying_where(self, client, flt, message):
        status, body = get(client, "/search", q="भारत", filter=flt)
        assert status == 400 and body["error"] == "bad_filter" and message in body["message"]


class TestFacets:
    def test_counts_cover_the_whole_result_set(self, search, sample_records):
        matching = having(sample_records, "और")
        answer = search("और", facets="source,category,published", per_page=1)
        assert len(answer["hits"]) == 1
        facets = answer["facets"]
        assert facets["source"] == dict(Counter(r["source"] for r in matching))
        assert facets["category"] == dict(Counter(r["category"] for r in matching))
        assert facets["published"] == dict(sorted(Counter(r["published"][:7] for r in matching).items()))
        assert sum(facets["source"].values()) == answer["total"] == len(matching)

    def test_counts_follow_the_filter(self, search, sample_records):
        matching = [r for r in having(sample_records, "और") if r["published"] >= "2026-01-01"]
        answer = search("और", facets="category", filter="published >= 2026")
        assert answer["facets"] == {"category": dict(Counter(r["category"] for r in matching))}

    def test_facets_are_most_common_first_and_months_in_order(self, search):
        facets = search("और", facets="source,published")["facets"]
        assert list(facets["source"].values()) == sorted(facets["source"].values(), reverse=True)
        months = list(facets["published"])
        assert months == sorted(months) and all(re.fullmatch(r"\d{4}-\d\d", m) for m in months)

    def test_whole_sample_corpus(self, client):
        _, stats = get(client, "/stats")
        assert stats["sources"] == {s: 15 for s in stats["sources"]} and len(stats["sources"]) == 4
        assert len(stats["categories"]) == 10 and set(stats["categories"].values()) == {6}

    def test_no_facets_unless_asked(self, search):
        assert search("भारत")["facets"] is None

    @pytest.mark.parametrize("facets", ["colour", "source,url", "title"])
    def test_unknown_facet_is_400(self, client, facets):
        status, body = get(client, "/search", q="भारत", facets=facets)
        assert status == 400 and "'facets' takes source, category, published" in body["message"]


class TestSort:
    def test_by_date_both_ways(self, search, sample_records):
        expected = sorted(r["published"] for r in having(sample_records, "और"))
        oldest = search("और", sort="published", per_page=100)
        newest = search("और", sort="-published", per_page=100)
        assert [h["published"] for h in oldest["hits"]] == expected
        assert [h["published"] for h in newest["hits"]] == expected[::-1]
        assert oldest["sort"] == "published" and ids(oldest) == ids(newest)
        assert all(h["score"] == 0 for h in newest["hits"])

    def test_undated_documents_come_last_both_ways(self, tmp_path):
        from search import ingest, read_inputs

        from conftest import write_jsonl

        records = [
            {"id": "old", "title": "किसान", "body": "किसान", "published": "2025-01-01"},
            {"id": "undated1", "title": "किसान", "body": "किसान"},
            {"id": "new", "title": "किसान", "body": "किसान", "published": "2026-01-01"},
            {"id": "undated2", "title": "किसान", "body": "किसान मेला"},
        ]
        index = str(tmp_path / "index")
        dated = [r for r in records if "published" in r]
        ingest(read_inputs([str(write_jsonl(tmp_path / "docs.jsonl", dated))]), index)
        # Segments of their own holding no date at all (newest first had failed on them: HTTP 500).
        for n, record in enumerate(r for r in records if "published" not in r):
            ingest(read_inputs([str(write_jsonl(tmp_path / f"more{n}.jsonl", [record]))]), index, max_segments=0)
        client = create_app({"index": index}).test_client()
        for sort, dated in (("published", ["old", "new"]), ("-published", ["new", "old"])):
            for q in ("किसान", '"किसान मेला" OR किसान'):  # (a phrase goes another way through the engine)
                _, answer = get(client, "/search", q=q, sort=sort)
                order = [h["id"] for h in answer["hits"]]
                assert order[:2] == dated and set(order[2:]) == {"undated1", "undated2"}, (sort, q)

    def test_relevance_is_the_default(self, search):
        default, relevance = search("भारत रूस"), search("भारत रूस", sort="relevance")
        assert default["hits"] == relevance["hits"] and default["sort"] == "relevance"
        scores = [h["score"] for h in default["hits"]]
        assert scores == sorted(scores, reverse=True) and scores[0] > 0

    def test_sorted_paging_is_consistent(self, search):
        everything = [h["id"] for h in search("और", sort="-published", per_page=100)["hits"]]
        paged = [h["id"] for p in (1, 2, 3) for h in search("और", sort="-published", per_page=4, page=p)["hits"]]
        assert paged == everything[:12]

    def test_unknown_sort_is_400(self, client):
        status, body = get(client, "/search", q="भारत", sort="date")
        assert status == 400 and "'sort' must be one of relevance, published, -published" in body["message"]


class TestSnippets:
    def test_custom_tags_wrap_matches_and_text_stays_escaped(self, search):
        answer = search("script", highlight_pre_tag='<em class="hl">', highlight_post_tag="</em>", per_page=100)
        hit = next(h for h in answer["hits"] if h["id"] == "s060")
        assert '<em class="hl">script</em>' in hit["snippet"] and "<mark>" not in hit["snippet"]
        assert re.sub(r'<em class="hl">|</em>', "", hit["snippet"]).count("<") == 0

    def test_empty_tags_give_plain_text(self, search):
        hit = search("किसान", highlight_pre_tag="", highlight_post_tag="")["hits"][0]
        assert "<" not in hit["snippet"] and "किसान" in hit["snippet"]

    def test_snippet_length_follows_snippet_chars(self, search):
        for chars in (40, 120, 400):
            for hit in search("और", snippet_chars=chars, per_page=20)["hits"]:
                plain = re.sub(r"</?mark>", "", hit["snippet"]).strip("…")
                assert len(plain) <= chars + 2  # + a closing danda and a space

    def test_several_fragments(self, search):
        one = search("किसान", snippet_chars=40)["hits"][0]["snippet"]
        three = search("किसान", snippet_chars=40, snippets=3)["hits"][0]["snippet"]
        assert three.count("<mark>") > one.count("<mark>")
        assert " … " in three and "……" not in three

    def test_fragments_start_and_end_at_word_boundaries(self, search, sample_records):
        bodies = {r["id"]: r["body"] for r in sample_records}
        for hit in search("और", snippet_chars=50, snippets=2, per_page=30)["hits"]:
            for fragment in re.sub(r"</?mark>", "", hit["snippet"]).split("…"):
                fragment = fragment.strip()
                if not fragment:
                    continue
                body = bodies[hit["id"]]
                at = body.find(fragment)
                assert at >= 0, fragment
                before = body[at - 1] if at > 0 else " "
                after = body[at + len(fragment)] if at + len(fragment) < len(body) else " "
                assert not re.match(r"[\u0900-\u0963\u0971-\u097f\w]", before), (before, fragment)
                assert not re.match(r"[\u0900-\u0963\u0971-\u097f\w]", after), (fragment, after)

    def test_a_huge_body_is_highlighted_from_its_first_100000_characters(self, tmp_path):
        """Highlighting a 10 MB body took seconds a hit: a match past the first
        100,000 characters still finds the document, shown by its start."""
        from search import ingest, read_inputs
        from search.highlighting import MAX_HIGHLIGHTED_CHARS

        from conftest import write_jsonl

        filler = "बारिश हुई। " * (MAX_HIGHLIGHTED_CHARS // 10)
        body = "किसान मेले में आए। " + filler + "अंतरिक्ष यान उड़ा।"
        records = [{"id": "long", "title": "लंबी खबर", "body": body}]
        index = str(tmp_path / "index")
        ingest(read_inputs([str(write_jsonl(tmp_path / "docs.jsonl", records))]), index)
        client = create_app({"index": index}).test_client()
        _, near = get(client, "/search", q="किसान")
        assert near["hits"][0]["snippet"].startswith("<mark>किसान</mark> मेले में आए।")
        _, far = get(client, "/search", q="अंतरिक्ष")
        assert far["total"] == 1 and far["hits"][0]["snippet"].startswith("किसान मेले में आए।")
        assert "<mark>" not in far["hits"][0]["snippet"]

    def test_title_is_highlighted_too(self, search):
        hit = search("मानसून सत्र")["hits"][0]
        assert "<mark>मानसून</mark>" in hit["title_html"]
        assert re.sub(r"</?mark>", "", hit["title_html"]) == hit["title"]

    def test_title_html_is_escaped(self, search, sample_records):
        for hit in search("और", per_page=100)["hits"]:
            assert re.sub(r"</?mark>", "", hit["title_html"]) == hit["title"].replace("&", "&amp;").replace(
                "<", "&lt;"
            ).replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#x27;")

    def test_phrase_and_prefix_matches_are_highlighted(self, search):
        phrase = search('"सैन्य सहयोग"')["hits"][0]
        assert "<mark>सैन्य</mark> <mark>सहयोग</mark>" in phrase["snippet"]
        for hit in search("किसा*", per_page=100)["hits"]:
            marked = re.findall(r"<mark>(.*?)</mark>", hit["snippet"] + hit["title_html"])
            assert marked and all(m.startswith("किसा") for m in marked)

    @pytest.mark.parametrize(
        "params, message",
        [
            ({"snippet_chars": "0"}, "'snippet_chars' must be at least 1"),
            ({"snippet_chars": "5000"}, "'snippet_chars' must be at most 2000"),
            ({"snippets": "6"}, "'snippets' must be at most 5"),
            ({"snippets": "दो"}, "'snippets' must be a positive whole number"),
            ({"highlight_pre_tag": "<" * 201}, "'highlight_pre_tag' must be at most 200 characters"),
        ],
    )
    def test_bad_snippet_parameters_are_400(self, client, params, message):
        status, body = get(client, "/search", q="भारत", **params)
        assert status == 400 and message in body["message"]


class TestSuggest:
    def test_partial_syllable_completes_to_surface_words(self, client):
        status, body = get(client, "/suggest", q="भार")
        assert status == 200
        words = [c["text"] for c in body["completions"]]
        assert words[:2] == ["भारत", "भारतीय"]  # most common first, written forms, not stems (भारत is also
        assert all(w.startswith("भार") for w in words)  # the stem of भारतीय)
        counts = [c["documents"] for c in body["completions"]]
        assert counts == sorted(counts, reverse=True)

    def test_counts_are_document_frequencies(self, client, sample_records):
        body = get(client, "/suggest", q="भार")[1]
        for completion in body["completions"]:
            word = completion["text"]
            expected = sum(
                1 for r in sample_records if word in {t.text for t in ANALYZER.tokens(r["title"] + " " + r["body"])}
            )
            assert completion["documents"] >= expected > 0

    def test_only_the_last_word_is_completed(self, client):
        body = get(client, "/suggest", q="किसान सम्")[1]
        assert body["completions"] and all(c["query"].startswith("किसान सम्") for c in body["completions"])
        assert {c["text"] for c in body["completions"]} >= {"सम्मान"}

    @pytest.mark.parametrize("typed", ['"भार', "-भार", "(भार", 'मोदी "भार'])
    def test_a_word_after_a_quote_or_minus_is_completed_too(self, client, typed):
        body = get(client, "/suggest", q=typed)[1]
        kept = typed[: len(typed) - len("भार")]
        assert body["completions"] and [c["query"] for c in body["completions"]] == [
            kept + c["text"] for c in body["completions"]
        ]

    def test_titles_leave_out_excluded_words(self, client):
        with_russia = get(client, "/suggest", q="भारत रूस ")[1]["titles"]
        assert with_russia and all("रूस" in t["title"] for t in with_russia)
        for q in ("भारत -रूस", "भारत NOT रूस "):
            titles = get(client, "/suggest", q=q)[1]["titles"]
            assert titles and not any("रूस" in t["title"] for t in titles), q

    def test_spelling_variants_complete_alike(self, client):
        nukta = [c["text"] for c in get(client, "/suggest", q="ज़ो")[1]["completions"]]
        plain = [c["text"] for c in get(client, "/suggest", q="जो")[1]["completions"]]
        assert nukta == plain and nukta

    def test_titles(self, client):
        body = get(client, "/suggest", q="मानसू")[1]
        assert body["titles"] and all("मानसून" in t["title"] for t in body["titles"])

    @pytest.mark.parametrize("typed, word", [("दिल्ली", "दिल्ली"), ("मुंबई", "मुंबई"), ("हिंदी", "हिंदी|हिन्दी"), ("दिल्ली में डेंगू", "डेंगू")])
    def test_titles_of_a_whole_word_ending_in_a_vowel_sign(self, client, typed, word):
        """दिल्ली is indexed as its stem दिल्ल: as a prefix alone it matched no title."""
        titles = get(client, "/suggest", q=typed)[1]["titles"]
        assert titles and all(re.search(word, t["title"]) for t in titles)
        assert {t["id"] for t in titles} >= {t["id"] for t in get(client, "/suggest", q=typed + " ")[1]["titles"]}

    @pytest.mark.parametrize("typed, wanted", [("bhar", {"भारत", "भारतीय"}), ("kis", {"किसानों", "किसान"}),
                                               ("modi", {"मोदी"}), ("dill", {"दिल्ली"})])
    def test_a_latin_prefix_completes_with_the_index_words_in_devanagari(self, client, typed, wanted):
        completions = get(client, "/suggest", q=typed)[1]["completions"]
        top = [c["text"] for c in completions[: len(wanted)]]
        assert set(top) == wanted, completions
        assert all(c["roman"][0] == typed[0] for c in completions if "roman" in c), "nothing far-fetched"
        counts = [c["documents"] for c in completions[: len(wanted)]]
        assert counts == sorted(counts, reverse=True), "most common first"

    def test_a_latin_prefix_after_other_words_keeps_them_and_finds_titles(self, client):
        body = get(client, "/suggest", q="bharat ru")[1]
        assert body["completions"][0]["query"] == "bharat रूस"
        assert body["titles"] and all("रूस" in t["title"] for t in body["titles"])

    def test_limit(self, client):
        assert len(get(client, "/suggest", q="क", limit=3)[1]["completions"]) == 3
        status, body = get(client, "/suggest", q="क", limit=21)
        assert status == 400 and "'limit' must be at most 20" in body["message"]

    @pytest.mark.parametrize("q", ["", "  ", "क" * 1001])
    def test_bad_q_is_400(self, client, q):
        assert get(client, "/suggest", q=q)[0] == 400

    @pytest.mark.parametrize("q", ["*", '"', "(", "-", "title:", "\x00", "क ", "ि", "OR"])
    def test_odd_input_never_500(self, client, q):
        assert get(client, "/suggest", q=q)[0] == 200


class TestDidYouMean:
    @pytest.mark.parametrize(
        "wrong, right",
        [
            ("किसन", "किसान"),  # matra dropped
            ("बरिश", "बारिश"),
            ("सरकर", "सरकार"),
            ("चुनव आयोग", "चुनाव आयोग"),  # only the unknown word is corrected
            ("क्रिकट", "क्रिकेट"),  # e-matra dropped
            ("मानसूण", "मानसून"),  # wrong consonant
        ],
    )
    def test_misspelling_gets_a_suggestion_that_finds_documents(self, search, wrong, right):
        answer = search(wrong)
        # Nothing has every word; a query of several words then finds any of
        # them (parsed ANY), and the correction is offered all the same.
        assert answer["total"] == 0 or answer["parsed"].startswith("ANY(")
        assert answer["suggestion"] == right
        assert search(answer["suggestion"])["total"] > 0

    @pytest.mark.parametrize("variant", ["ज़ोर", "जोर", "फ़ैसला", "फैसला", "गाँव"])
    def test_nukta_and_chandrabindu_need_no_suggestion(self, search, variant):
        answer = search(variant)  # normalisation already finds them
        assert answer["total"] > 0 and answer["suggestion"] is None

    def test_no_suggestion_when_results_are_plenty(self, search):
        assert search("भारत")["suggestion"] is None

    def test_no_suggestion_for_gibberish(self, search):
        assert search("ज़्ज़्ज़्ज़्")["suggestion"] is None


class TestDocuments:
    def test_one_document(self, client, sample_records):
        status, body = get(client, "/documents/s001")
        assert status == 200
        record = next(r for r in sample_records if r["id"] == "s001")
        assert body == {k: record[k] for k in ("id", "title", "body", "url", "published", "source", "category")}

    @pytest.mark.parametrize("doc_id", ["nope", "s0011", "a/b", "%E0%A4"])
    def test_unknown_is_404_json(self, client, doc_id):
        response = client.get("/documents/" + doc_id)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"


class TestStats:
    def test_stats(self, client, sample_records):
        status, body = get(client, "/stats")
        assert status == 200 and body["documents"] == len(sample_records)
        assert sum(body["sources"].values()) == len(sample_records)
        assert body["index_bytes"] > 10_000 and re.match(r"\d{4}-\d\d-\d\dT", body["last_ingest"])
        assert body["vocabulary_words"] > 500

    def test_missing_index_is_503(self, tmp_path):
        client = create_app({"index": str(tmp_path / "none")}).test_client()
        for path in ("/stats", "/suggest?q=क", "/documents/s001"):
            assert client.get(path).status_code == 503


class TestLimits:
    def test_time_limit_gives_503_json(self, sample_index):
        client = create_app({"index": sample_index, "query_time_limit": 1e-9}).test_client()
        status, body = get(client, "/search", q="और")
        assert status == 503 and body["error"] == "timeout" and "took longer than" in body["message"]

    def test_prefix_expansion_cap_is_a_setting(self, sample_index):
        capped = create_app({"index": sample_index, "max_prefix_terms": 1}).test_client()
        free = create_app({"index": sample_index}).test_client()
        assert get(capped, "/search", q="कि*")[1]["total"] < get(free, "/search", q="कि*")[1]["total"]

    def test_query_and_filter_length_limits(self, sample_index):
        client = create_app({"index": sample_index, "max_query_chars": 10, "max_filter_chars": 20}).test_client()
        assert "longer than 10" in get(client, "/search", q="भारत रूस चीन जापान")[1]["message"]
        status, body = get(client, "/search", q="भारत", filter="source = " + "x" * 30)
        assert status == 400 and "longer than 20" in body["message"]
        # blank means no filter, but not past the limit (found by the schemathesis fuzz)
        assert get(client, "/search", q="भारत", filter=" " * 20)[0] == 200
        status, body = get(client, "/export.json", q="भारत", filter="\u0085" * 30)
        assert status == 400 and "longer than 20" in body["message"]

    def test_terms_limit(self, sample_index):
        client = create_app({"index": sample_index, "max_query_terms": 3}).test_client()
        assert "more than 3 words" in get(client, "/search", q="भारत रूस चीन जापान")[1]["message"]


class TestAccessLog:
    def test_one_json_line_per_request_without_document_text(self, client, caplog, sample_records):
        with caplog.at_level(logging.INFO, logger="search.access"):
            client.get("/search", query_string={"q": "किसान", "filter": "category = krishi"})
            client.get("/nope")
        lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "search.access"]
        assert len(lines) == 2
        search_line, missing = lines
        assert search_line["query"] == "किसान" and search_line["status"] == 200 and search_line["hits"] > 0
        assert search_line["total"] == search_line["hits"] and search_line["took_ms"] >= 0
        assert search_line["filter"] == "category = krishi" and search_line["path"] == "/search"
        assert missing["status"] == 404
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert not any(r["body"][:30] in logged or r["title"] in logged for r in sample_records)

    @pytest.mark.parametrize("mode", ["hash", "none"])
    def test_queries_can_be_kept_out_of_the_log(self, sample_index, caplog, mode):
        client = create_app({"index": sample_index, "log_queries": mode}).test_client()
        with caplog.at_level(logging.INFO, logger="search.access"):
            client.get("/search", query_string={"q": "किसान आंदोलन"})
        (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "search.access"]
        assert "किसान" not in json.dumps(line, ensure_ascii=False) and line["query_chars"] == 12
        assert ("query_sha256" in line) == (mode == "hash")

    def test_bad_log_mode_is_refused(self, sample_index):
        with pytest.raises(ValueError, match="log_queries"):
            create_app({"index": sample_index, "log_queries": "all"})
