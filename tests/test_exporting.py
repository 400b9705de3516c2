"""``/export.csv`` and ``/export.json``: every page of a search, up to the cap, streamed."""

from __future__ import annotations

import csv
import io
import json

import pytest

from search import create_app
from search.exporting import CSV_COLUMNS, plain_text


def csv_rows(response) -> list[dict]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff"), "a BOM, so spreadsheets read UTF-8"
    return list(csv.DictReader(io.StringIO(text[1:])))


class TestCsv:
    def test_all_pages_in_search_order(self, client, search):
        response = client.get("/export.csv", query_string={"q": "भारत"})
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.is_streamed
        assert response.headers["Content-Disposition"] == 'attachment; filename="hindi-search-results.csv"'
        rows = csv_rows(response)
        answer = search("भारत", per_page=100)
        assert answer["total"] > 10, "more than one page of the page's default size"
        assert [r["id"] for r in rows] == [h["id"] for h in answer["hits"]]
        assert list(rows[0]) == list(CSV_COLUMNS)
        assert response.headers["X-Total-Count"] == response.headers["X-Export-Rows"] == str(answer["total"])

    def test_fields_and_plain_text_snippets(self, client, search):
        rows = csv_rows(client.get("/export.csv", query_string={"q": "हमलावरों"}))
        hit = next(h for h in search("हमलावरों")["hits"] if h["id"] == "s060")
        row = next(r for r in rows if r["id"] == "s060")
        for name in ("title", "url", "source", "published", "category"):
            assert row[name] == hit[name]
        assert float(row["score"]) == hit["score"]
        assert "<mark>" not in row["snippet"] and "हमलावरों" in row["snippet"]
        assert '<script>alert("x")</script>' in row["snippet"], "the document's own text, unescaped, as plain text"

    def test_filter_and_sort(self, client, search):
        params = {"q": "किसान", "filter": "published >= 2026-01", "sort": "-published"}
        rows = csv_rows(client.get("/export.csv", query_string=params))
        answer = search(per_page=100, **params)
        assert [r["id"] for r in rows] == [h["id"] for h in answer["hits"]]
        dates = [r["published"] for r in rows]
        assert dates == sorted(dates, reverse=True) and all(d >= "2026-01-01" for d in dates)

    def test_the_cap(self, sample_index, search):
        client = create_app({"index": sample_index, "export_max_rows": 4}).test_client()
        response = client.get("/export.csv", query_string={"q": "भारत"})
        rows = csv_rows(response)
        assert [r["id"] for r in rows] == [h["id"] for h in search("भारत", per_page=4)["hits"]]
        assert response.headers["X-Export-Rows"] == "4"
        assert int(response.headers["X-Total-Count"]) > 4
        too_many = client.get("/export.csv", query_string={"q": "भारत", "limit": 5})
        assert too_many.status_code == 400 and "at most 4" in too_many.get_json()["message"]

    def test_limit(self, client):
        assert len(csv_rows(client.get("/export.csv", query_string={"q": "भारत", "limit": 3}))) == 3

    def test_nothing_found_is_just_the_header(self, client):
        response = client.get("/export.csv", query_string={"q": "अज्ञातशब्दज़"})
        assert response.status_code == 200 and csv_rows(response) == []


class TestJson:
    def test_same_hits_as_search(self, client, search):
        response = client.get("/export.json", query_string={"q": "भारत", "sort": "published"})
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.headers["Content-Disposition"] == 'attachment; filename="hindi-search-results.json"'
        body = json.loads(response.get_data(as_text=True))
        answer = search("भारत", sort="published", per_page=100)
        assert body["total"] == body["exported"] == answer["total"]
        assert body["query"] == "भारत" and body["sort"] == "published"
        assert body["hits"] == answer["hits"]

    def test_highlight_tags(self, client):
        body = client.get("/export.json", query_string={"q": "भारत", "highlight_pre_tag": "[", "highlight_post_tag": "]"}).get_json()
        assert "[भारत]" in body["hits"][0]["snippet"] + body["hits"][0]["title_html"]

    def test_empty(self, client):
        body = client.get("/export.json", query_string={"q": "अज्ञातशब्दज़"}).get_json()
        assert body["hits"] == [] and body["total"] == 0


@pytest.mark.parametrize("path", ["/export.csv", "/export.json"])
@pytest.mark.parametrize(
    "params, kind",
    [
        ({"q": "भारत", "snippets": "9"}, "bad_request"),
        ({"q": '"'}, "bad_query"),
        ({"q": "भारत", "filter": "source ="}, "bad_filter"),
        ({"q": "भारत", "sort": "best"}, "bad_request"),
        ({"q": "भारत", "limit": "0"}, "bad_request"),
    ],
)
def test_errors_are_json_before_any_download(client, path, params, kind):
    response = client.get(path, query_string=params)
    assert response.status_code == 400 and response.get_json()["error"] == kind
    assert "Content-Disposition" not in response.headers


def test_cells_a_spreadsheet_would_run_are_quoted(tmp_path):
    from conftest import write_jsonl
    from search import ingest, read_inputs

    records = [
        {"id": "f1", "title": '=HYPERLINK("http://evil.example","किसान")', "body": "किसान", "source": "@source"},
        {"id": "f2", "title": "-5 डिग्री", "body": "+किसान ठंड"},
    ]
    index = tmp_path / "index"
    ingest(read_inputs([str(write_jsonl(tmp_path / "docs.jsonl", records))]), str(index))
    client = create_app({"index": str(index)}).test_client()
    rows = {r["id"]: r for r in csv_rows(client.get("/export.csv", query_string={"q": "किसान OR डिग्री"}))}
    assert rows["f1"]["title"] == '\'=HYPERLINK("http://evil.example","किसान")'
    assert rows["f1"]["source"] == "'@source"
    assert rows["f2"]["title"] == "'-5 डिग्री"
    body = client.get("/export.json", query_string={"q": "किसान OR डिग्री"}).get_json()
    assert {h["title"] for h in body["hits"]} == {r["title"] for r in records}, "JSON gives the values as they are"


def test_plain_text_with_other_tags():
    assert plain_text("[किसान] &amp; मजदूर", "[", "]") == "किसान & मजदूर"


#: Cells a spreadsheet program runs (or hands to DDE) although they do not start
#: with a plain = + - @: other starters, invisible characters before one, and
#: the fullwidth, small, superscript and subscript forms of each.
FORMULAS = [
    "|cmd /C calc", ";=1+1", "%=1+1",
    "\ufeff=1+1", "\u200b=1+1", "\u200e+1", "\u2060@SUM(A1)", "\u00ad=1", " =1+1", "\u00a0=1+1", "\n=1+1",
    "＝1+1", "﹦1+1", "⁼1+1", "₌1+1",
    "＋1+1", "﹢1+1", "⁺1", "₊1", "－1+1", "﹣1+1", "⁻1", "₋1", "\u22121",
    "＠SUM(A1)", "﹫SUM(A1)", "｜cmd", "；=1", "％=1", "﹪=1",
    "\ufeff\u200b＝HYPERLINK(\"http://evil.example\")",
]


@pytest.mark.parametrize("value", FORMULAS, ids=[ascii(v)[1:-1][:14] for v in FORMULAS])
def test_more_formula_starters_are_quoted(value):
    from search.exporting import spreadsheet_safe

    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["किसान", "50% बढ़ोतरी", "a=b", " किसान", "\u200dकिसान", "", "  ", "2026-03-01"])
def test_plain_cells_stay_as_they_are(value):
    from search.exporting import spreadsheet_safe

    assert spreadsheet_safe(value) == value


def test_the_export_quotes_them(tmp_path):
    from conftest import write_jsonl
    from search import ingest, read_inputs

    titles = ["\ufeff=HYPERLINK(\"http://evil.example\",\"किसान\")", "＝1+1 किसान", "|cmd किसान", "﹦2 किसान"]
    records = [{"id": f"t{n}", "title": title, "body": "किसान"} for n, title in enumerate(titles)]
    index = tmp_path / "index"
    ingest(read_inputs([str(write_jsonl(tmp_path / "docs.jsonl", records))]), str(index))
    client = create_app({"index": str(index)}).test_client()
    rows = {r["id"]: r for r in csv_rows(client.get("/export.csv", query_string={"q": "किसान"}))}
    assert {rows[f"t{n}"]["title"] for n in range(len(titles))} == {"'" + t for t in titles}
