"""The HTML search page and the widget files, through Flask's test client (no browser):
state in the URL, facets, paging, did-you-mean, escaping, headers, errors.
tests/test_browser.py drives the same page in Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from search import create_app, ingest, read_inputs

from conftest import write_jsonl


class Page(HTMLParser):
    """The elements of a page: tag, attributes and own text, in document order."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": {k: v or "" for k, v in attrs}, "text": ""}
        self.elements.append(element)
        if tag not in ("input", "meta", "link", "br", "img"):
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def find(self, tag: str | None = None, **attrs) -> list[dict]:
        return [
            e for e in self.elements
            if (tag is None or e["tag"] == tag) and all(e["attrs"].get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id: str) -> dict:
        found = self.find(id=element_id)
        assert found, f"no element #{element_id}"
        return found[0]


def get_page(client, path: str, status: int = 200, **params) -> tuple[Page, str]:
    response = client.get(path, query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    markup = response.get_data(as_text=True)
    return Page(markup), markup


def total(page: Page) -> int:
    return int(page.by_id("total")["attrs"]["data-total"])


def hit_ids(page: Page) -> list[str]:
    return [e["attrs"]["data-id"] for e in page.find("li", class_="hit")]


class TestSearchPage:
    def test_empty_page_has_the_form(self, client):
        page, _ = get_page(client, "/")
        assert page.find("form", id="search-form", method="get", action="/")
        q = page.by_id("q")
        assert q["attrs"]["role"] == "combobox" and q["attrs"]["name"] == "q"
        assert page.find("label", **{"for": "q"}), "the search box has a label"

    def test_the_empty_page_browses_the_newest_documents_with_the_whole_index_facets(self, client, search):
        """No query: the newest documents and every source's count, so an analyst can
        browse by source, category and month without typing."""
        page, _ = get_page(client, "/")
        everything = search("", facets="source,category,published")
        assert total(page) == everything["total"] > 0
        assert hit_ids(page) == [h["id"] for h in everything["hits"]]
        dates = [h["published"] for h in everything["hits"]]
        assert dates == sorted(dates, reverse=True)
        listed = page.by_id("facet-source")["text"]
        assert all(source in listed for source in everything["facets"]["source"])
        options = {o["attrs"]["value"]: "selected" in o["attrs"] for o in page.find("option")}
        assert options == {"relevance": True, "-published": False, "published": False}, "kept for the next query"
        source = next(iter(everything["facets"]["source"]))
        narrowed, _ = get_page(client, "/", source=source)
        assert total(narrowed) == everything["facets"]["source"][source]

    def test_results_match_the_api(self, client, search):
        page, markup = get_page(client, "/", q="भारत")
        answer = search("भारत", per_page=10)
        assert total(page) == answer["total"]
        assert hit_ids(page) == [h["id"] for h in answer["hits"]]
        assert "<mark>भारत</mark>" in markup
        assert page.find("html")[0]["attrs"]["lang"] == "hi"

    def test_titles_link_to_their_url(self, client, search):
        page, _ = get_page(client, "/", q="भारत")
        first = search("भारत")["hits"][0]
        assert page.find("a", href=first["url"])

    def test_markup_in_a_document_is_shown_as_text(self, client):
        page, markup = get_page(client, "/", q="हमलावरों")
        assert "s060" in hit_ids(page)
        assert "<script>alert" not in markup
        assert "&lt;script&gt;alert" in markup
        scripts = page.find("script")
        assert scripts and all(s["attrs"].get("src") and not s["text"].strip() for s in scripts)

    def test_no_inline_styles_or_handlers(self, client):
        _, markup = get_page(client, "/", q="भारत")
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", markup)

    def test_security_headers(self, client):
        response = client.get("/", query_string={"q": "भारत"})
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Content-Security-Policy" not in client.get("/search", query_string={"q": "भारत"}).headers

    def test_facets_are_checkboxes_with_counts(self, client, search):
        page, _ = get_page(client, "/", q="भारत")
        facets = search("भारत", facets="source,category")["facets"]
        for name in ("source", "category"):
            boxes = page.find("input", type="checkbox", name=name)
            assert {b["attrs"]["value"] for b in boxes} == set(facets[name])
            for box in boxes:
                label = page.find("label", **{"for": box["attrs"]["id"]})[0]["text"]
                assert str(facets[name][box["attrs"]["value"]]) in label
                assert box["attrs"]["form"] == "search-form"  # submitted with the query, no JS needed

    def test_a_ticked_source_narrows_and_keeps_the_other_counts(self, client, search):
        page, _ = get_page(client, "/", q="भारत", source="Bharat Times")
        assert total(page) == search("भारत", filter='source = "Bharat Times"')["total"]
        boxes = {b["attrs"]["value"]: b for b in page.find("input", type="checkbox", name="source")}
        assert "checked" in boxes["Bharat Times"]["attrs"]
        assert len(boxes) > 1, "the other sources are still offered, counted without this one"
        categories = search("भारत", filter='source = "Bharat Times"', facets="category")["facets"]["category"]
        assert {b["attrs"]["value"] for b in page.find("input", type="checkbox", name="category")} == set(categories)

    def test_two_values_of_a_facet_mean_either(self, client, search):
        page, _ = get_page(client, "/", q="भारत", source=["Bharat Times", "Jan Awaz"])
        assert total(page) == search("भारत", filter='source IN ["Bharat Times", "Jan Awaz"]')["total"]

    def test_date_range(self, client, search):
        page, _ = get_page(client, "/", q="भारत", **{"from": "2026-01", "to": "2026-03"})
        assert total(page) == search("भारत", filter="published 2026-01-01 TO 2026-03-31")["total"]
        assert page.by_id("from")["attrs"]["value"] == "2026-01-01"
        assert page.by_id("to")["attrs"]["value"] == "2026-03-31"

    def test_month_links_set_the_date_range(self, client, search):
        page, _ = get_page(client, "/", q="किसान")
        months = search("किसान", facets="published")["facets"]["published"]
        links = [a for a in page.find("a") if "from=" in a["attrs"].get("href", "")]
        assert [a["text"] for a in links] == list(months)
        query = parse_qs(urlsplit(links[0]["attrs"]["href"]).query)
        assert query["q"] == ["किसान"] and query["from"][0].startswith(next(iter(months)))

    def test_sort_and_paging(self, client, search):
        page, _ = get_page(client, "/", q="भारत", sort="-published", page=2)
        answer = search("भारत", sort="-published", page=2)
        assert hit_ids(page) == [h["id"] for h in answer["hits"]]
        assert page.find("option", value="-published", selected="")
        previous = page.by_id("prev-page")["attrs"]["href"]
        assert parse_qs(urlsplit(previous).query) == {"q": ["भारत"], "sort": ["-published"]}

    def test_next_page_link_keeps_the_state(self, client):
        page, _ = get_page(client, "/", q="भारत", sort="published")
        assert total(page) > 10
        href = page.by_id("next-page")["attrs"]["href"]
        assert parse_qs(urlsplit(href).query) == {"q": ["भारत"], "sort": ["published"], "page": ["2"]}
        assert page.find("span", class_="current")[0]["text"] == "1"

    def test_did_you_mean_is_a_link(self, client):
        page, _ = get_page(client, "/", q="किसन")
        link = page.by_id("did-you-mean")
        assert link["text"] == "किसान"
        assert parse_qs(urlsplit(link["attrs"]["href"]).query) == {"q": ["किसान"]}

    def test_export_links_carry_the_state(self, client, search):
        page, _ = get_page(client, "/", q="भारत", category="khel", sort="-published", page=2)
        href = page.by_id("export-csv")["attrs"]["href"]
        assert href.startswith("/export.csv?")
        query = parse_qs(urlsplit(href).query)
        assert query == {"q": ["भारत"], "filter": ['category IN ["khel"]'], "sort": ["-published"]}
        rows = client.get(href).get_data(as_text=True).splitlines()
        assert len(rows) - 1 == search("भारत", filter="category = khel")["total"]

    @pytest.mark.parametrize(
        "params, message",
        [
            ({"q": "भारत", "from": "yesterday"}, "'from' must be a date"),
            ({"q": "भारत", "page": "0"}, "'page' must be at least 1"),
            ({"q": "भारत", "sort": "best"}, "'sort' must be one of"),
            ({"q": "भारत", "filter": "source ="}, "filter: at character"),
            ({"q": '"'}, "no words"),
            ({"q": "-भारत"}, ""),
        ],
    )
    def test_mistakes_are_shown_on_the_page(self, client, params, message):
        page, _ = get_page(client, "/", status=400, **params)
        error = page.by_id("error")
        assert error["attrs"]["role"] == "alert" and message in error["text"]
        assert re.match(r"[\u0900-\u097F][^.]*।", error["text"]), "said first in Hindi, the detail after"
        assert page.by_id("q")["attrs"]["value"] == params["q"]

    def test_a_mistake_keeps_the_rest_of_the_selection(self, client, search):
        source = next(iter(search("भारत", facets="source")["facets"]["source"]))
        page, _ = get_page(client, "/", status=400, q="भारत", source=source, sort="-published", to="2026-03", **{"from": "2026-13-01"})
        assert "'from' must be a date" in page.by_id("error")["text"]
        ticked = [e for e in page.find("input", name="source") if "checked" in e["attrs"]]
        assert [e["attrs"]["value"] for e in ticked] == [source]  # kept, so the next search keeps it
        assert page.find("option", value="-published")[0]["attrs"].get("selected") is not None
        assert page.by_id("to")["attrs"]["value"] == "2026-03-31" and page.by_id("from")["attrs"]["value"] == ""

    def test_a_reversed_date_range_is_explained(self, client):
        page, _ = get_page(client, "/", status=400, q="भारत", to="2026-03-01", **{"from": "2026-05-01"})
        assert "'from' (2026-05-01) is after 'to' (2026-03-01)" in page.by_id("error")["text"]

    def test_previous_from_past_the_last_page_goes_to_the_last(self, client, search):
        last = -(-search("भारत")["total"] // 10)
        page, _ = get_page(client, "/", q="भारत", page="99")
        assert parse_qs(urlsplit(page.by_id("prev-page")["attrs"]["href"]).query)["page"] == [str(last)]

    def test_missing_index_is_a_503_page(self, tmp_path):
        client = create_app({"index": str(tmp_path / "nothing")}).test_client()
        page, _ = get_page(client, "/", status=503, q="भारत")
        assert page.by_id("error")

    @given(
        q=st.text(max_size=30),
        extra=st.dictionaries(st.sampled_from(["source", "category", "from", "to", "filter", "sort", "page"]), st.text(max_size=15)),
    )
    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    def test_nothing_typed_gives_a_500(self, client, q, extra):
        response = client.get("/", query_string={"q": q, **extra})
        assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]


class TestLinksOnlyForWebUrls:
    @pytest.fixture
    def client(self, tmp_path):
        records = [
            {"id": "a1", "title": "जावास्क्रिप्ट लिंक", "body": "खबर एक", "url": "javascript:alert(1)"},
            {"id": "a2", "title": "डेटा लिंक", "body": "खबर दो", "url": "data:text/html,<script>alert(1)</script>"},
            {"id": "a3", "title": "वेब लिंक", "body": "खबर तीन", "url": "https://example.com/a?b=1&c=<2>"},
        ]
        index = tmp_path / "index"
        ingest(read_inputs([str(write_jsonl(tmp_path / "docs.jsonl", records))]), str(index))
        return create_app({"index": str(index)}).test_client()

    def test_only_http_urls_become_links(self, client):
        page, markup = get_page(client, "/", q="खबर")
        hrefs = [a["attrs"]["href"] for a in page.find("a")]
        assert "https://example.com/a?b=1&c=<2>" in hrefs  # escaped in the markup, intact as a link
        assert "&amp;c=&lt;2&gt;" in markup
        assert not any(h.startswith(("javascript:", "data:")) for h in hrefs)


def test_many_months_are_shown_by_year(tmp_path):
    records = [
        {"id": f"m{i}", "title": "बजट खबर", "body": "बजट पर चर्चा", "published": f"{2020 + i // 12}-{i % 12 + 1:02d}-15"}
        for i in range(30)
    ]
    index = tmp_path / "index"
    ingest(read_inputs([str(write_jsonl(tmp_path / "docs.jsonl", records))]), str(index))
    client = create_app({"index": str(index)}).test_client()
    page, _ = get_page(client, "/", q="बजट")
    links = [a for a in page.find("a") if "from=" in a["attrs"].get("href", "")]
    assert [a["text"] for a in links] == ["2020", "2021", "2022"]
    query = parse_qs(urlsplit(links[1]["attrs"]["href"]).query)
    assert query["from"] == ["2021-01-01"] and query["to"] == ["2021-12-31"]
    page, _ = get_page(client, "/", q="बजट", **{"from": "2021", "to": "2021"})
    assert total(page) == 12


class TestWidgetFiles:
    def test_widget_script(self, client):
        response = client.get("/widget.js")
        assert response.status_code == 200 and response.mimetype == "text/javascript"
        body = response.get_data(as_text=True)
        assert "data-hindi-search" in body and "/suggest" in body and "/search" in body
        assert "innerHTML" not in body, "API text is inserted as text only"

    def test_demo_page_embeds_the_documented_snippet(self, client):
        page, _ = get_page(client, "/widget-demo")
        box = page.find("div", **{"data-hindi-search": ""})[0]
        assert "data-api" not in box["attrs"], "unconfigured, the widget calls the origin it came from"
        assert page.find("script", src="/widget.js", defer="")

    @pytest.mark.parametrize("path", ["/static/style.css", "/static/widget.css", "/static/search.js"])
    def test_static_files_are_served(self, client, path):
        assert client.get(path).status_code == 200


class TestFiltersShown:
    """Facet values by their labels, active filters as removable chips, the date facet
    as a histogram."""

    @pytest.fixture
    def labelled(self, sample_index):
        from search import create_app

        return create_app({"index": sample_index, "labels": "krishi=कृषि,khel=खेल"}).test_client()

    def test_facet_values_are_shown_by_their_labels(self, labelled):
        page, _ = get_page(labelled, "/", q="किसान")
        listed = page.by_id("facet-category")["text"]
        assert "कृषि" in listed and "krishi" not in listed
        box = next(e for e in page.find("input", name="category") if e["attrs"]["value"] == "krishi")
        assert box, "the value sent stays the stored one"

    def test_active_filters_are_chips_that_remove_themselves(self, labelled):
        page, _ = get_page(labelled, "/", q="भारत", category=["khel", "krishi"], filter='source = "Jan Awaz"',
                           **{"from": "2026-01-01"})
        chips = [e for e in page.find("a") if e["attrs"].get("title") == "हटाएँ (remove)"]
        texts = [c["text"] for c in chips]
        assert [t.split(" ×")[0].strip() for t in texts] == ["खेल", "कृषि", "2026-01-01 – …", 'source = "Jan Awaz"']
        without_khel = chips[0]["attrs"]["href"]
        assert "category=krishi" in without_khel and "category=khel" not in without_khel and "filter=" in without_khel
        assert "from=" not in chips[2]["attrs"]["href"] and "filter=" not in chips[3]["attrs"]["href"]
        response = labelled.get(without_khel)
        assert response.status_code == 200
        followed = Page(response.get_data(as_text=True))
        assert [c["text"].split(" ×")[0].strip() for c in followed.find("a") if c["attrs"].get("title") == "हटाएँ (remove)"] == [
            "कृषि", "2026-01-01 – …", 'source = "Jan Awaz"']

    def test_the_date_facet_is_a_histogram(self, client):
        page, _ = get_page(client, "/")
        bars = page.find("meter")
        assert bars and all(int(b["attrs"]["value"]) <= int(b["attrs"]["max"]) for b in bars)
        assert max(int(b["attrs"]["value"]) for b in bars) == int(bars[0]["attrs"]["max"])


def test_a_label_setting_that_is_not_pairs_is_refused():
    from search.config import Settings, SettingsError

    with pytest.raises(SettingsError, match="value=label pairs"):
        Settings.load({"labels": "krishi"})
