"""The search page and the widget in a real browser (Debian's Chromium via playwright),
against the app served on localhost over the sample corpus.

Run them alone with ``pytest -m browser``; they are skipped when Chromium is
missing unless ``SEARCH_REQUIRE_BROWSER=1`` (set by .ci/run). A failing test
leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from search import create_app

from conftest import serve_in_thread

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A news site</title></head>
<body><h1>A news site that embeds the search box</h1>
<div data-hindi-search data-api="{api}"></div>
<script src="{api}/widget.js" defer></script>
</body></html>
"""


#: A site with a coloured header holding a widget that opens its results in a panel over
#: the page, and a second widget writing into the site's own element, both configured
#: by data attributes.
OVERLAY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dainik Example</title>
<style>body {{ margin: 0; font-family: sans-serif; }} header {{ background: #7b1fa2; color: #fff; padding: 1rem; }}</style></head>
<body><header><h1>Dainik Example</h1>
<div id="box" data-hindi-search data-api="{api}" data-per-page="3" data-placeholder="यहाँ खोजें" data-lang="en"></div>
</header>
<main><p id="below">Today's stories, which a search must not push down.</p>
<div id="sports" data-hindi-search data-api="{api}" data-target="#sports-hits" data-filter='category = "khel"'></div>
<section id="sports-hits"></section></main>
<script src="{api}/widget.js" defer></script>
</body></html>
"""


@pytest.fixture(scope="module")
def site(sample_index):
    """``(search service URL, another origin's page embedding the widget)``, both served locally."""
    host_url: dict[str, str] = {}

    def host_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        page = OVERLAY_PAGE if environ.get("PATH_INFO") == "/overlay" else HOST_PAGE
        return [page.format(api=host_url["api"]).encode()]

    host_base, host_server = serve_in_thread(host_app)
    app = create_app({"index": sample_index, "refresh_seconds": 0, "cors_origins": host_base})
    base, server = serve_in_thread(app)
    host_url["api"] = base
    yield base, host_base
    server.shutdown()
    host_server.shutdown()


@pytest.fixture(scope="module")
def base(site):
    return site[0]


def expect(locator):
    """playwright's waiting assertions (imported late: the module is skipped without playwright)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def total(page) -> int:
    return int(page.get_attribute("#total", "data-total"))


def hit_ids(page) -> list[str]:
    return page.eval_on_selector_all("li.hit", "els => els.map(e => e.dataset.id)")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def watch_for_trouble(page) -> list[str]:
    """Collect dialogs (alert) and console errors (CSP violations, script errors)."""
    trouble: list[str] = []
    page.on("dialog", lambda d: (trouble.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("console", lambda m: trouble.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: trouble.append(f"pageerror: {e}"))
    return trouble


def test_type_a_query_and_see_highlights(base, browser_page):
    page = browser_page
    trouble = watch_for_trouble(page)
    page.goto(base + "/")
    page.fill("#q", "भारत")
    page.press("#q", "Enter")
    page.wait_for_selector("li.hit")
    assert query_of(page.url) == {"q": ["भारत"]}
    assert total(page) == 15
    marks = page.locator("li.hit mark").all_inner_texts()
    assert marks and all("भारत" in m for m in marks)
    assert trouble == []


def test_autocomplete_with_the_keyboard(base, browser_page):
    page = browser_page
    page.goto(base + "/")
    page.click("#q")
    with page.expect_response(lambda r: "/suggest" in r.url and query_of(r.url)["q"] == ["भार"]):
        page.keyboard.type("भार", delay=40)
    options = page.locator("#q-suggestions [role=option]")
    expect(options.first.locator(".hs-text")).to_have_text(re.compile("^भार"))
    assert page.get_attribute("#q", "aria-expanded") == "true"
    first = options.first.locator(".hs-text").inner_text()
    assert first.startswith("भार")
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#q", "aria-activedescendant") == options.first.get_attribute("id")
    assert options.first.get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")  # back to the first
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert query_of(page.url) == {"q": [first]}
    assert page.input_value("#q") == first and total(page) > 0


def test_escape_closes_the_suggestions(base, browser_page):
    page = browser_page
    page.goto(base + "/")
    page.fill("#q", "किसा")
    page.locator("#q-suggestions [role=option]").first.wait_for()
    page.keyboard.press("Escape")
    page.wait_for_selector("#q-suggestions", state="hidden")
    assert page.get_attribute("#q", "aria-expanded") == "false"
    assert page.input_value("#q") == "किसा"


def test_click_a_facet_and_the_count_changes(base, browser_page):
    page = browser_page
    page.goto(base + "/?q=" + "भारत")
    before = total(page)
    label = page.locator("#facet-source label").first
    source, count = re.fullmatch(r"(.+?)\s+(\d+)", label.inner_text().strip()).groups()
    page.evaluate("window.loadedOnce = true")
    label.click()  # live update: no page load
    expect(page.locator("#total")).not_to_have_attribute("data-total", str(before))
    assert total(page) == int(count) < before
    assert page.evaluate("window.loadedOnce") is True, "updated in place, not reloaded"
    assert query_of(page.url)["source"] == [source]
    assert page.locator("#facet-source input:checked").count() == 1
    assert all(page.locator("li.hit .source").all_inner_texts()) and set(page.locator("li.hit .source").all_inner_texts()) == {source}
    second = page.locator("#facet-source input:not(:checked)").first
    value = second.get_attribute("value")
    second.focus()
    page.keyboard.press("Space")  # by keyboard: the focus stays on the box after the update
    page.wait_for_url(lambda url: len(query_of(url).get("source", [])) == 2)
    expect(page.locator("#facet-source input:checked")).to_have_count(2)
    expect(page.locator(f"#facet-source input[value='{value}']")).to_be_focused()
    assert sorted(query_of(page.url)["source"]) == sorted([source, value])
    page.go_back()
    expect(page.locator("#facet-source input:checked")).to_have_count(1)
    page.go_back()  # the state is in the URL, so Back restores it
    expect(page.locator("#total")).to_have_attribute("data-total", str(before))


@pytest.mark.parametrize("browser_page", [{"locale": "en-US"}], indirect=True)  # mm/dd/yyyy
def test_a_typed_date_is_applied_when_the_field_is_left(base, browser_page):
    """Chromium fires change at every digit of the year (0002, 0020, 0202, 2026):
    applying each would rebuild the field under the typing fingers."""
    page = browser_page
    page.goto(base + "/?q=" + "भारत")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "from=" in r.url else None)
    page.click("#from")
    page.keyboard.type("03152026", delay=30)
    assert page.input_value("#from") == "2026-03-15"
    assert asked == []
    page.keyboard.press("Tab")  # to the field's calendar button
    page.keyboard.press("Tab")  # out of it, to the next field
    page.wait_for_url(lambda url: query_of(url).get("from") == ["2026-03-15"])
    expect(page.locator("#from")).to_have_value("2026-03-15")
    expect(page.locator("#to")).to_be_focused()
    assert [query_of(url)["from"] for url in asked] == [["2026-03-15"]]


@pytest.mark.parametrize("browser_page", [{"locale": "en-US"}], indirect=True)
def test_a_range_typed_while_the_first_date_applies_keeps_both(sample_index, browser_page):
    """Leaving 'from' applies it; its answer must not replace the 'to' field
    the user is typing in by then (a slow server shows it)."""
    import time

    from flask import request

    app = create_app({"index": sample_index, "refresh_seconds": 0})

    @app.before_request
    def slow_live_updates():
        if "from=" in request.query_string.decode():
            time.sleep(0.3)

    url, server = serve_in_thread(app)
    try:
        page = browser_page
        page.goto(url + "/?q=" + "भारत")
        page.click("#from")
        page.keyboard.type("03152026", delay=20)
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")  # into 'to': the update for 'from' is on its way
        expect(page.locator("#to")).to_be_focused()
        page.keyboard.type("12312026", delay=80)  # its answer comes in while typing
        assert page.input_value("#to") == "2026-12-31"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.wait_for_url(lambda u: query_of(u).get("to") == ["2026-12-31"])
        assert query_of(page.url)["from"] == ["2026-03-15"]
        expect(page.locator("#from")).to_have_value("2026-03-15")
        expect(page.locator("#to")).to_have_value("2026-12-31")
    finally:
        server.shutdown()


def test_every_month_of_the_date_facet_is_in_view(base, browser_page):
    page = browser_page
    page.goto(base + "/?q=bharat")  # about 20 months of the sample
    months = page.locator(".months li")
    assert months.count() > 12
    assert page.eval_on_selector(".months", "el => el.scrollWidth <= el.clientWidth"), "months overflow sideways"
    months.last.scroll_into_view_if_needed()
    expect(months.last).to_be_in_viewport()


def test_back_puts_the_query_back_in_the_box(base, browser_page):
    page = browser_page
    page.goto(base + "/?q=" + "भारत")
    page.locator("#facet-source label").first.click()
    page.wait_for_url(lambda url: "source" in query_of(url))
    page.fill("#q", "किसान")  # typed, not searched
    page.go_back()
    expect(page.locator("#facet-source input:checked")).to_have_count(0)
    expect(page.locator("#q")).to_have_value("भारत")


def test_a_new_query_from_a_results_page_has_a_clean_url(base, browser_page):
    page = browser_page
    page.goto(base + "/?q=" + "भारत")
    page.fill("#q", "किसान")
    with page.expect_navigation():
        page.press("#q", "Enter")
    assert urlsplit(page.url).query == "q=%E0%A4%95%E0%A4%BF%E0%A4%B8%E0%A4%BE%E0%A4%A8"  # no sort=relevance&from=&to=
    assert total(page) > 0


def test_page_forward(base, browser_page):
    page = browser_page
    page.goto(base + "/?q=" + "भारत")
    first_page = hit_ids(page)
    page.click("#next-page")
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator(".pages [aria-current=page]")).to_have_text("2")
    second_page = hit_ids(page)
    assert second_page and not set(second_page) & set(first_page)
    assert len(first_page) + len(second_page) == total(page) == 15


def test_follow_did_you_mean(base, browser_page):
    page = browser_page
    page.goto(base + "/?q=" + "किसन")
    assert total(page) == 0
    with page.expect_navigation():
        page.click("#did-you-mean")
    assert query_of(page.url) == {"q": ["किसान"]}
    assert total(page) > 0 and page.locator("li.hit mark").count() > 0


def test_download_the_csv(base, browser_page, tmp_path):
    page = browser_page
    page.goto(base + "/?q=" + "भारत" + "&sort=-published")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename == "hindi-search-results.csv"
    path = tmp_path / "results.csv"
    download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == total(page) == 15
    assert [r["published"] for r in rows] == sorted((r["published"] for r in rows), reverse=True)
    assert rows[0]["id"] == hit_ids(page)[0]


def test_markup_in_a_document_shows_as_text(base, browser_page):
    page = browser_page
    trouble = watch_for_trouble(page)
    page.goto(base + "/?q=" + "हमलावरों")
    hit = page.locator("li.hit[data-id=s060]")
    assert '<script>alert("x")</script>' in hit.locator(".snippet").inner_text()
    assert hit.locator("script").count() == 0
    assert trouble == []


@pytest.mark.parametrize("browser_page", [{"java_script_enabled": False}], indirect=True)
def test_works_without_javascript(base, browser_page):
    page = browser_page
    page.goto(base + "/")
    page.fill("#q", "भारत")
    page.press("#q", "Enter")
    page.wait_for_selector("li.hit mark")
    before = total(page)
    page.locator("#facet-category label").first.click()
    with page.expect_navigation():
        page.click("button.apply")
    assert "category" in query_of(page.url) and 0 < total(page) < before


@pytest.mark.parametrize("browser_page", [{"viewport": {"width": 390, "height": 844}, "is_mobile": True}], indirect=True)
def test_readable_on_a_phone(base, browser_page):
    page = browser_page
    page.goto(base + "/?q=" + "भारत")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing wider than the screen"
    results, filters = page.locator("#results").bounding_box(), page.locator("#filters").bounding_box()
    assert results["y"] < filters["y"], "results first on a narrow screen"
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('.snippet')).fontSize)") >= 14


def test_widget_demo(base, browser_page):
    page = browser_page
    trouble = watch_for_trouble(page)
    page.goto(base + "/widget-demo")
    page.fill("[data-hindi-search] input[type=search]", "किसा")
    page.locator("[data-hindi-search] [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator(".hs-hit").first.wait_for()
    assert page.locator(".hs-hit mark").count() > 0
    assert re.match(r"\d+ परिणाम", page.locator(".hs-status").inner_text())
    assert trouble == []


def test_widget_on_another_site_uses_cors(site, browser_page):
    base, host = site
    page = browser_page
    trouble = watch_for_trouble(page)
    page.goto(host + "/")
    assert urlsplit(host).netloc != urlsplit(base).netloc
    page.fill("[data-hindi-search] input[type=search]", "हमलावरों")
    page.press("[data-hindi-search] input[type=search]", "Enter")
    hit = page.locator(".hs-hit").first
    hit.wait_for()
    assert '<script>alert("x")</script>' in page.locator(".hs-results").inner_text()
    assert page.locator(".hs-results script").count() == 0
    assert page.evaluate("getComputedStyle(document.querySelector('.hs-button')).borderRadius") == "6px", "widget.css loaded"
    assert trouble == []


def test_widget_results_open_over_the_host_page_and_take_the_keyboard(site, browser_page):
    base, host = site
    page = browser_page
    trouble = watch_for_trouble(page)
    page.goto(host + "/overlay")
    box = page.locator("#box input[type=search]")
    expect(box).to_have_attribute("placeholder", "यहाँ खोजें")
    expect(page.locator("#box .hs-button")).to_have_text("Search")  # data-lang="en"
    below = page.locator("#below").bounding_box()
    box.fill("भारत")
    box.press("Enter")
    panel = page.locator("#box .hs-panel")
    expect(panel.locator(".hs-hit")).to_have_count(3)  # data-per-page="3"
    assert page.evaluate("getComputedStyle(document.querySelector('#box .hs-panel')).position") == "absolute"
    assert panel.bounding_box()["y"] >= box.bounding_box()["y"] + box.bounding_box()["height"], "anchored under the box"
    assert page.locator("#below").bounding_box() == below, "the host page did not move"
    assert re.match(r"\d+ results", panel.locator(".hs-status").inner_text())
    links = panel.locator(".hs-hit-title")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.className") == "hs-hit-title"
    first = page.evaluate("document.activeElement.href")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.href") == links.nth(1).get_attribute("href") != first
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == box.get_attribute("id"), "back in the box"
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    box.press("Enter")
    expect(panel).to_be_visible()
    page.click("h1")
    expect(panel).to_be_hidden()  # a click elsewhere on the page closes it
    assert trouble == []


def test_widget_writes_into_the_sites_own_element_with_its_filter(site, browser_page):
    base, host = site
    page = browser_page
    page.goto(host + "/overlay")
    sports = page.locator("#sports input[type=search]")
    sports.fill("भारत")
    sports.press("Enter")
    hits = page.locator("#sports-hits .hs-hit")
    hits.first.wait_for()
    with urllib.request.urlopen(base + "/search?" + urlencode({"q": "भारत", "filter": 'category = "khel"', "per_page": 5})) as r:
        wanted = json.load(r)
    assert hits.count() == len(wanted["hits"]) and wanted["total"] < 15  # only the filter's documents
    assert page.locator("#sports-hits .hs-status").inner_text().startswith(f"{wanted['total']} परिणाम")
    assert page.locator("#sports .hs-panel").count() == 0, "no panel: the site's element holds the results"


@pytest.fixture(scope="module")
def hostile_base(hostile_index):
    """The app over ``sample/hostile.jsonl`` (markup, ``javascript:`` URLs, entities in every field)."""
    base, server = serve_in_thread(create_app({"index": hostile_index, "refresh_seconds": 0}))
    yield base
    server.shutdown()


def test_hostile_documents_run_nothing_and_link_only_web_urls(hostile_base, browser_page):
    page = browser_page
    trouble = watch_for_trouble(page)
    page.goto(hostile_base + "/?q=" + "भारत")
    page.wait_for_selector("li.hit")
    assert total(page) == 6
    assert page.locator("main script, main img, main svg, main iframe, main b").count() == 0
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.href)")
    assert hrefs and all(urlsplit(h).scheme in ("http", "https") for h in hrefs), hrefs
    assert "https://example.com/%22%3E%3Cscript%3Ealert('u4')%3C/script%3E?a=1&b=%3C2%3E" in hrefs
    assert "<script>alert('t1')</script>" in page.locator("li.hit[data-id=h1]").inner_text()
    # The widget renders the same hits from the JSON API as text.
    page.goto(hostile_base + "/widget-demo")
    page.fill("[data-hindi-search] input[type=search]", "भारत")
    page.press("[data-hindi-search] input[type=search]", "Enter")
    page.locator(".hs-hit").first.wait_for()
    assert page.locator(".hs-results script, .hs-results img, .hs-results svg, .hs-results iframe").count() == 0
    links = page.eval_on_selector_all(".hs-results a[href]", "els => els.map(e => e.href)")
    assert all(urlsplit(h).scheme in ("http", "https") for h in links), links
    page.wait_for_timeout(300)  # time for an injected handler to fire, were there one
    assert trouble == []
