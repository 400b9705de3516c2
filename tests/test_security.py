"""Security: document text never reaches a browser as markup, only http(s) URLs become
links, HTML answers carry the security headers, errors give no stack traces, the
denial-of-service limits hold, and no file path comes from a request.

The corpus is ``sample/hostile.jsonl``: every field of its documents tries an attack.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from test_pages import Page

from search import create_app
from search.web import CONTENT_SECURITY_POLICY

MARK = re.compile(r"</?mark>")
#: What a payload would need to run: one of its tags surviving escaping (an ``onerror=``
#: outside a tag is only text).
EXECUTABLE = re.compile(r"<\s*(script|img|svg|iframe|a\b|b\b)", re.I)


@pytest.fixture
def hostile(hostile_index):
    return create_app({"index": hostile_index, "refresh_seconds": 0}).test_client()


def test_snippets_and_titles_are_escaped(hostile):
    answer = hostile.get("/search", query_string={"q": "भारत", "per_page": 100}).get_json()
    assert answer["total"] == 6
    for hit in answer["hits"]:
        for html in (hit["snippet"], hit["title_html"]):
            assert "<" not in MARK.sub("", html), html  # only our highlight tags are markup
            assert not EXECUTABLE.search(MARK.sub("", html))
    h1 = next(h for h in answer["hits"] if h["id"] == "h1")
    assert "&lt;script&gt;" in h1["title_html"]
    assert "&amp;lt;b&amp;gt;" in h1["snippet"]  # an entity in the text stays text, escaped once more


def test_json_answers_are_json_and_never_sniffed(hostile):
    for path in ("/search?q=भारत", "/documents/h1", "/suggest?q=भार", "/export.json?q=भारत", "/stats", "/nope"):
        response = hostile.get(path)
        assert response.mimetype == "application/json", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
    stored = hostile.get("/documents/h1").get_json()
    assert stored["url"] == "javascript:alert('u1')"  # data is returned as data; rendering decides


def _page_links_and_scripts(markup: str) -> tuple[list[str], list[dict]]:
    page = Page(markup)
    hrefs = [e["attrs"]["href"] for e in page.elements if "href" in e["attrs"] and e["tag"] != "link"]
    for element in page.elements:
        handlers = [name for name in element["attrs"] if name.startswith("on")]
        assert not handlers, element
    return hrefs, page.find("script")


def test_the_search_page_links_only_web_urls_and_runs_only_its_own_scripts(hostile):
    response = hostile.get("/", query_string={"q": "भारत"})
    assert response.status_code == 200
    markup = response.get_data(as_text=True)
    hrefs, scripts = _page_links_and_scripts(markup)
    assert all(s["attrs"].get("src", "").startswith("/") and not s["text"].strip() for s in scripts)
    for href in hrefs:
        assert href.startswith(("/", "?", "#", "https://", "http://")), href
    external = [h for h in hrefs if h.startswith("http")]
    assert "https://example.com/\"><script>alert('u4')</script>?a=1&b=<2>" in external  # http(s): linked, escaped
    assert "http://example.org/h6" in external
    assert not [h for h in hrefs if "javascript" in h.lower() or h.startswith("data:")]
    smuggled = [e for e in Page(markup).elements if e["tag"] in ("img", "svg", "iframe", "b", "object", "embed")]
    assert not smuggled  # the page itself has none of these: each would be a document's markup


def test_html_answers_carry_the_security_headers(hostile):
    for path in ("/", "/?q=भारत", "/?q=भारत&from=bad-date", "/widget-demo"):
        response = hostile.get(path)
        assert response.mimetype == "text/html", path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_exports_keep_markup_as_text_and_defuse_formulas(hostile):
    response = hostile.get("/export.csv", query_string={"q": "भारत"})
    assert response.mimetype == "text/csv" and response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 6
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@", row  # a spreadsheet would run it
    exported = json.loads(hostile.get("/export.json", query_string={"q": "भारत"}).get_data(as_text=True))
    for hit in exported["hits"]:
        assert "<" not in MARK.sub("", hit["snippet"] + hit["title_html"])


def test_no_debug_mode_and_no_stack_traces(hostile, monkeypatch):
    app = create_app({"index": "/nonexistent"})
    assert not app.debug and not app.testing and app.config["PROPAGATE_EXCEPTIONS"] is not True
    client = app.test_client()

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail /srv/index")

    monkeypatch.setattr(app.extensions["search"], "search", explode)
    response = client.get("/search", query_string={"q": "भारत"})
    assert response.status_code == 500 and response.get_json()["error"] == "internal_error"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "secret" not in body and "/srv" not in body
    assert client.get("/console").status_code == 404  # no Werkzeug debugger


def test_paths_never_come_from_requests(hostile, hostile_index):
    app = create_app({"index": hostile_index, "refresh_seconds": 0})
    client = app.test_client()
    for path in ("/documents/../../etc/passwd", "/documents/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                 "/static/../../pyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml", "/../pyproject.toml"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"[project]" not in response.data and b"root:" not in response.data
    answer = client.get("/search", query_string={"q": "भारत", "index": "/etc", "SEARCH_INDEX": "/etc"}).get_json()
    assert answer["total"] == 6 and app.config["SETTINGS"].index == hostile_index


@pytest.mark.parametrize(
    "params, message",
    [
        ({"q": "भ" * 1001}, "longer than 1000 characters"),
        ({"q": "क " * 201}, "200"),
        ({"q": "भारत", "page": "1001"}, "'page' must be at most 1000"),
        ({"q": "भारत", "per_page": "101"}, "'per_page' must be at most 100"),
        ({"q": "भ*"}, "at least 2 letters"),
        ({"q": "भारत", "filter": "source = " + "x" * 1000}, "filter"),
        ({"q": "भारत", "highlight_pre_tag": "<" * 201}, "200"),
    ],
)
def test_denial_of_service_limits(hostile, params, message):
    response = hostile.get("/search", query_string=params)
    assert response.status_code == 400 and message in response.get_json()["message"], response.get_json()
    assert hostile.get("/suggest", query_string={"q": "भ" * 1001}).status_code == 400


@pytest.mark.parametrize(
    "headers",
    [{"Host": "evil.example"}, {"Host": "evil.example:8000"}, {"X-Forwarded-Host": "evil.example"},
     {"Host": 'x"><script src=//evil.example/x.js></script>'}],
    ids=["host", "host-port", "forwarded-host", "markup-in-host"],
)
def test_the_widget_demo_never_reflects_request_headers(hostile_index, headers):
    """The snippet other sites copy names this service: from SEARCH_PUBLIC_URL, never
    from the request (a forged Host would be served to everyone behind a cache)."""
    for config, api in (({}, None), ({"public_url": "https://search.example.org/"}, "https://search.example.org")):
        client = create_app({"index": hostile_index, "refresh_seconds": 0, **config}).test_client()
        response = client.get("/widget-demo", headers=headers)
        markup = response.get_data(as_text=True)
        assert response.status_code == 200 and "evil.example" not in markup, markup
        box = Page(markup).find("div", **{"data-hindi-search": ""})[0]
        assert box["attrs"].get("data-api") == api
        if api:
            assert f'{api}/widget.js' in markup, "the snippet names the configured address"
