"""The real seed article, end to end: ingest.py as a subprocess, then HTTP search."""

from __future__ import annotations

import re

import pytest
from conftest import write_jsonl

from search import create_app

pytestmark = pytest.mark.data


def test_seed_article_found_with_whole_word_highlights(shared_data, tmp_path, run_ingest):
    lines = [l.strip() for l in (shared_data / "seed" / "article.txt").read_text(encoding="utf-8").splitlines()]
    lines = [l for l in lines if l]
    # line 1 is share-button boilerplate, line 2 a dateline, line 3 the lead
    record = {"id": "seed-article", "title": lines[1], "body": "\n".join(lines[2:]), "source": "ETrendingIndia"}
    data = write_jsonl(tmp_path / "seed.jsonl", [record])
    index = tmp_path / "index"
    result = run_ingest("--index", str(index), str(data))
    assert result.returncode == 0, result.stderr

    client = create_app({"index": str(index)}).test_client()
    for q in ("भारत रूस सैन्य सहयोग", '"सैन्य सहयोग"'):
        answer = client.get("/search", query_string={"q": q}).get_json()
        assert [h["id"] for h in answer["hits"]] == ["seed-article"], q
        snippet = answer["hits"][0]["snippet"]
        marked = re.findall(r"<mark>(.*?)</mark>", snippet)
        assert "सैन्य" in marked and "सहयोग" in marked
        # every mark is a whole word: no Devanagari letter or sign right outside it
        assert not re.search(r"[\u0900-\u0963\u0971-\u097f]<mark>|</mark>[\u0900-\u0963\u0971-\u097f]", snippet)
    phrase = client.get("/search", query_string={"q": '"सैन्य सहयोग"'}).get_json()
    assert "<mark>सैन्य</mark> <mark>सहयोग</mark>" in phrase["hits"][0]["snippet"]
