"""HTTP caching and compression through Flask's test client: gzip and brotli as the
client asks, weak ETags keyed on the index commit and the request, 304s that skip
the search, Cache-Control per endpoint, versioned static files.

The test client hands the body over as sent (compressed), and keeps a streamed
answer's request context until its body is read, so every test reads each body."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import brotli
import pytest

from conftest import write_jsonl
from search import create_app, ingest, read_inputs

STATIC = Path(__file__).resolve().parent.parent / "src" / "search" / "static"


def warm(app):
    """The app with its warm-up done (the vocabulary loaded), so its answer state is settled."""
    app.extensions["search"].warm_up(background=False)
    return app


@pytest.fixture
def client(sample_index):
    return warm(create_app({"index": sample_index, "refresh_seconds": 0})).test_client()


def get(client, url, **headers):
    response = client.get(url, headers=headers)
    response.get_data()  # read it: a streamed answer holds its request context until then
    return response


def decoded(response) -> bytes:
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        return brotli.decompress(body)
    assert encoding is None, encoding
    return body


def without_timing(body: bytes) -> dict:
    answer = json.loads(body)
    answer.pop("took_ms", None)
    return answer


SEARCH = "/search?q=%E0%A4%AD%E0%A4%BE%E0%A4%B0%E0%A4%A4"  # q=भारत
SUGGEST = "/suggest?q=%E0%A4%AD%E0%A4%BE%E0%A4%B0"  # q=भार


# --------------------------------------------------------------------------
# Compression
# --------------------------------------------------------------------------


class TestCompression:
    @pytest.mark.parametrize("encoding", ["gzip", "br"])
    def test_json_is_compressed_as_asked_and_decodes_to_the_same_answer(self, client, encoding):
        plain = get(client, SEARCH)
        packed = get(client, SEARCH, **{"Accept-Encoding": encoding})
        assert plain.headers.get("Content-Encoding") is None
        assert packed.headers["Content-Encoding"] == encoding
        assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(plain.get_data())
        assert without_timing(decoded(packed)) == without_timing(plain.get_data())

    @pytest.mark.parametrize(
        "accept, chosen",
        [("gzip, deflate, br", "br"), ("gzip", "gzip"), ("br;q=0.5, gzip", "gzip"), ("identity", None), ("", None),
         ("compress", None)],
    )
    def test_the_clients_preference_decides(self, client, accept, chosen):
        assert get(client, SEARCH, **{"Accept-Encoding": accept}).headers.get("Content-Encoding") == chosen

    @pytest.mark.parametrize("url", [SEARCH, "/health", "/search?page=0", "/nope", "/static/style.css"])
    def test_every_answer_varies_on_accept_encoding(self, client, url):
        assert "Accept-Encoding" in get(client, url).headers.get("Vary", "")

    def test_a_small_body_is_sent_as_it_is(self, client):
        health = get(client, "/health", **{"Accept-Encoding": "gzip, br"})
        assert len(health.get_data()) < 500 and health.headers.get("Content-Encoding") is None

    @pytest.mark.parametrize("url", ["/", "/?q=%E0%A4%AD%E0%A4%BE%E0%A4%B0%E0%A4%A4", "/openapi.json", "/widget.js",
                                     "/static/style.css", "/static/search.js", "/static/widget.css"])
    def test_html_css_and_javascript_are_compressed(self, client, url):
        plain = get(client, url)
        packed = get(client, url, **{"Accept-Encoding": "gzip"})
        assert plain.status_code == packed.status_code == 200
        assert packed.headers["Content-Encoding"] == "gzip"
        if url.startswith("/static/") or url == "/widget.js":
            assert decoded(packed) == plain.get_data() == (STATIC / url.rsplit("/", 1)[1]).read_bytes()

    @pytest.mark.parametrize("kind", ["csv", "json"])
    @pytest.mark.parametrize("encoding", ["gzip", "br"])
    def test_exports_stream_compressed(self, client, kind, encoding):
        """An export is written whole first (errors before any byte), then streamed in
        blocks; compressed, it streams too: no Content-Length, and it decodes to the file."""
        url = f"/export.{kind}?q=%E0%A4%AD%E0%A4%BE%E0%A4%B0%E0%A4%A4"
        plain = get(client, url)
        response = client.get(url, headers={"Accept-Encoding": encoding})
        assert response.is_streamed and "Content-Length" not in response.headers
        assert response.headers["Content-Encoding"] == encoding
        assert response.headers["Content-Disposition"] == f'attachment; filename="hindi-search-results.{kind}"'
        assert response.headers["X-Export-Rows"] == plain.headers["X-Export-Rows"] == "15"
        assert decoded(response) == plain.get_data()

    def test_an_export_error_is_still_a_json_error(self, client):
        response = get(client, "/export.csv?q=-x", **{"Accept-Encoding": "gzip"})
        assert response.status_code == 400 and response.is_json and response.get_json()["error"] == "bad_query"


# --------------------------------------------------------------------------
# ETags and 304
# --------------------------------------------------------------------------


def etag_of(response) -> str:
    tag = response.headers["ETag"]
    assert re.fullmatch(r'W/"[^"]+"', tag), tag
    return tag


class TestETags:
    @pytest.mark.parametrize("url", [SEARCH, SUGGEST, "/documents/s055", "/static/style.css", "/widget.js",
                                     "/openapi.json", "/"])
    def test_a_matching_if_none_match_is_a_304_without_a_body(self, client, url):
        first = get(client, url)
        tag = etag_of(first)
        again = get(client, url, **{"If-None-Match": tag})
        assert again.status_code == 304 and again.get_data() == b""
        assert again.headers["ETag"] == tag
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
        assert "Content-Type" not in again.headers
        assert get(client, url, **{"If-None-Match": 'W/"other", ' + tag}).status_code == 304
        assert get(client, url, **{"If-None-Match": 'W/"other"'}).status_code == 200

    def test_a_304_does_not_search_again(self, client, monkeypatch):
        tag = etag_of(get(client, SEARCH))

        def fail(*args, **kwargs):
            raise AssertionError("searched")

        monkeypatch.setattr(client.application.extensions["search"], "search", fail)
        response = get(client, SEARCH, **{"If-None-Match": tag})
        assert response.status_code == 304
        assert response.headers["X-Index-Generation"] == "1"

    def test_the_etag_is_the_same_for_every_encoding_and_for_head(self, client):
        tags = {etag_of(get(client, SEARCH, **{"Accept-Encoding": e})) for e in ("", "gzip", "br")}
        head = client.head(SEARCH)
        assert len(tags) == 1 and head.headers["ETag"] in tags
        assert get(client, SEARCH, **{"Accept-Encoding": "br", "If-None-Match": tags.pop()}).status_code == 304

    def test_another_request_has_another_etag(self, client):
        urls = [SEARCH, SEARCH + "&per_page=5", SEARCH + "&sort=-published", "/search?q=%E0%A4%95%E0%A4%BF%E0%A4%B8%E0%A4%BE%E0%A4%A8",
                SUGGEST, "/documents/s055", "/documents/s054"]
        tags = [etag_of(get(client, url)) for url in urls]
        assert len(set(tags)) == len(tags)
        assert get(client, SEARCH + "&per_page=5", **{"If-None-Match": tags[0]}).status_code == 200

    def test_other_settings_give_other_etags(self, sample_index):
        one = warm(create_app({"index": sample_index, "snippet_chars": 100})).test_client()
        two = warm(create_app({"index": sample_index, "snippet_chars": 120})).test_client()
        assert etag_of(get(one, SEARCH)) != etag_of(get(two, SEARCH))

    def test_a_new_commit_changes_every_etag(self, sample_index, tmp_path):
        index = tmp_path / "index"
        shutil.copytree(sample_index, index)
        client = warm(create_app({"index": str(index), "refresh_seconds": 0})).test_client()
        urls = [SEARCH, SUGGEST, "/documents/s055"]
        before = {url: get(client, url) for url in urls}
        report = ingest(read_inputs([str(write_jsonl(tmp_path / "new.jsonl", [
            {"id": "n1", "title": "भारत में नई रेल", "body": "भारत की नई रेल सेवा शुरू हुई।", "source": "Test Wire"}]))]), str(index))
        assert report.added == 1
        for url, old in before.items():
            new = get(client, url, **{"If-None-Match": old.headers["ETag"]})
            assert new.status_code == 200, url
            assert etag_of(new) != old.headers["ETag"]
            assert int(new.headers["X-Index-Generation"]) == int(old.headers["X-Index-Generation"]) + 1
        assert get(client, SEARCH).get_json()["total"] == before[SEARCH].get_json()["total"] + 1

    def test_a_static_files_etag_is_its_content_hash(self, client):
        for name in ("style.css", "search.js", "widget.css"):
            digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
            assert get(client, f"/static/{name}").headers["ETag"] == f'W/"{digest}"'
        assert get(client, "/widget.js").headers["ETag"] == f'W/"{hashlib.sha256((STATIC / "widget.js").read_bytes()).hexdigest()[:12]}"'

    def test_static_files_have_no_byte_ranges(self, client):
        """Ranges of a compressed answer would be ranges of other bytes: the whole file is sent."""
        response = get(client, "/static/style.css", Range="bytes=0-9")
        assert response.status_code == 200 and response.get_data() == (STATIC / "style.css").read_bytes()


# --------------------------------------------------------------------------
# Cache-Control
# --------------------------------------------------------------------------


class TestCacheControl:
    @pytest.mark.parametrize(
        "url, policy",
        [
            (SEARCH, "no-cache"),
            (SUGGEST, "no-cache"),
            ("/documents/s055", "no-cache"),
            ("/", "no-cache"),
            ("/openapi.json", "no-cache"),
            ("/health", "no-store"),
            ("/stats", "no-store"),
            ("/export.csv?q=%E0%A4%AD%E0%A4%BE%E0%A4%B0%E0%A4%A4", "no-store"),
            ("/export.json?q=%E0%A4%AD%E0%A4%BE%E0%A4%B0%E0%A4%A4", "no-store"),
            ("/widget.js", "public, max-age=3600"),
            ("/static/widget.css", "public, max-age=3600"),  # unversioned: widget.js loads it by its stable URL
            ("/static/style.css?v=0123456789ab", "no-cache"),  # another version's URL: never pinned to these bytes
        ],
    )
    def test_each_endpoint_has_its_policy(self, client, url, policy):
        response = get(client, url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == policy
        assert ("ETag" in response.headers) == (policy != "no-store")
        assert "Expires" not in response.headers

    def test_the_page_links_versioned_static_files_kept_a_year(self, client):
        html = get(client, "/").get_data(as_text=True)
        links = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
        assert {link.split("?")[0] for link in links} == {"/static/style.css", "/static/search.js"}
        for link in links:
            name, version = re.fullmatch(r"/static/([^?]+)\?v=([0-9a-f]{12})", link).groups()
            assert version == hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
            assert get(client, link).headers["Cache-Control"] == "public, max-age=31536000, immutable"

    @pytest.mark.parametrize(
        "url, status",
        [("/search?page=0", 400), ("/search?q=-x", 400), ("/suggest", 400), ("/documents/no-such-id", 404), ("/nope", 404),
         ("/static/none.css", 404), ("/static/../../pyproject.toml", 404), ("/?from=2026-13", 400)],
    )
    def test_errors_are_never_cached(self, client, url, status):
        response = get(client, url)
        assert response.status_code == status
        assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers

    @pytest.mark.parametrize("url", ["/search?page=0", "/documents/no-such-id"])
    def test_if_none_match_star_never_hides_an_error(self, client, url):
        assert get(client, url, **{"If-None-Match": "*"}).status_code in (400, 404)

    def test_an_unavailable_index_is_not_cached(self, tmp_path):
        client = create_app({"index": str(tmp_path / "missing")}).test_client()
        for url in (SEARCH, "/health", "/documents/s055"):
            response = get(client, url)
            assert response.status_code == 503 and response.headers["Cache-Control"] == "no-store"
            assert "ETag" not in response.headers
