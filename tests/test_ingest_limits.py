"""One bad record never stops a run, and no input, however large, costs unbounded memory.

Each bad record is one reject with its file, line and reason, and every good
record around it lands: JSON that Python cannot decode, text that cannot be
UTF-8, CSV rows with bad bytes or unclosed quotes, records and fields over
their limits. The slow test at the end runs ingest.py on hostile inputs (a
gzip bomb, millions of bad lines, records at every limit) and bounds its peak
memory.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, hindi_docs, index_ids, write_jsonl

from search import SearchRequest, SearchService, Settings, ingest, read_inputs
from search.documents import Reject

GOOD = {"id": "g1", "title": "मानसून की पहली बारिश", "body": "दिल्ली में मानसून की पहली बारिश हुई।"}


def good(n: int) -> dict:
    return {**GOOD, "id": f"g{n}"}


def hits(index: str, q: str) -> list[str]:
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0}))
    return sorted(h.id for h in service.search(SearchRequest(q=q, per_page=100)).hits)


def run_json(run_ingest, *args: str) -> tuple[int, dict, str]:
    result = run_ingest("--json", *args)
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, report, result.stderr


def rejects_file(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- words past the limit, rejects kept, a batch's text -------------------------


def test_words_past_the_indexed_limit_are_stored_not_indexed(tmp_path, monkeypatch, run_ingest):
    monkeypatch.setenv("SEARCH_MAX_INDEXED_WORDS", "50")
    body = " ".join(["नदी"] * 49 + ["पहाड़"] + ["समुद्र"] * 10)  # word 50 is पहाड़, 51-60 समुद्र
    data = write_jsonl(tmp_path / "f.jsonl", [{"id": "long", "body": body}, {"id": "short", "body": "समुद्र तट"}])
    index = str(tmp_path / "ix")
    status, report, stderr = run_json(run_ingest, "--index", index, str(data))
    assert status == 0, stderr
    assert report["notes"] == [
        "1 document(s) have more than 50 words in the body or title: the words past that are stored and "
        "shown but not indexed (raise the limit with SEARCH_MAX_INDEXED_WORDS)"
    ]
    assert hits(index, "पहाड़") == ["long"] and hits(index, "समुद्र") == ["short"]
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0}))
    assert service.index().stored("long")["body"] == body


def test_words_past_the_limit_are_cut_in_worker_processes_too(tmp_path, monkeypatch):
    """With one worker process, it takes the documents after the first 1,000 (fewer
    than the 400 it may have waiting)."""
    monkeypatch.setenv("SEARCH_MAX_INDEXED_WORDS", "50")
    docs = hindi_docs(1100)
    docs[-1]["body"] = " ".join(["नदी"] * 50 + ["ज्वालामुखी"])
    index = str(tmp_path / "ix")
    report = ingest(read_inputs([str(write_jsonl(tmp_path / "f.jsonl", docs))]), index, procs=2)
    assert report.added == 1100 and len(report.notes) == 1
    assert hits(index, "ज्वालामुखी") == []


def test_the_report_keeps_the_first_rejects_and_counts_them_all(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCH_MAX_REJECTS_KEPT", "5")
    rows: list = ["{broken"] * 30 + [{"id": "e"}] * 10 + [good(1)]
    data = write_jsonl(tmp_path / "f.jsonl", rows)
    seen: list[Reject] = []
    report = ingest(read_inputs([str(data)]), str(tmp_path / "ix"), on_reject=seen.append)
    assert report.rejected == 40 and len(seen) == 40
    assert report.as_dict()["rejected_by_reason"] == {"invalid JSON": 30, "empty text": 10}
    assert [r.line for r in report.rejects] == [1, 2, 3, 4, 5]
    assert report.added == 1


def test_a_batch_commits_early_when_its_text_passes_the_budget(tmp_path, monkeypatch):
    import whoosh.index

    docs = hindi_docs(30)  # about 330 characters each
    data = write_jsonl(tmp_path / "f.jsonl", docs)
    commits, chars = 0, 0  # as the budget of 1,000 characters counts them
    for doc in docs:
        chars += len(doc["title"]) + len(doc["body"])
        if chars >= 1000:
            commits, chars = commits + 1, 0
    commits += chars > 0
    generations = []
    for budget in ("100000000", "1000"):
        monkeypatch.setenv("SEARCH_BATCH_MAX_CHARS", budget)
        index = tmp_path / f"ix-{budget}"
        report = ingest(read_inputs([str(data)]), str(index), batch_size=1000)
        assert report.added == 30
        generations.append(whoosh.index.open_dir(str(index)).latest_generation())
        assert len(index_ids(str(index))) == 30
    assert generations == [1, commits] and commits >= 7  # one commit; then one every 4 documents or so


# -- HTML: picking the innermost blocks is linear ----------------------------


_HTML_BLOCKS = "p, h2, h3, h4, h5, h6, li, blockquote, pre, td, dd"


def test_leaf_blocks_are_the_innermost_blocks_in_page_order():
    """The one-pass walk picks what ``len(n.css(blocks)) == 1`` picked (the
    definition, quadratic in the nesting), on random pages."""
    from selectolax.lexbor import LexborHTMLParser

    from search.documents import _leaf_blocks

    rng = random.Random(16)
    tags = ["p", "div", "li", "ul", "blockquote", "span", "td", "b", "h2", "pre", "section"]

    def tree(depth: int = 0) -> str:
        if depth > 6 or rng.random() < 0.3:
            return f"शब्द{rng.randint(0, 99)} "
        tag = rng.choice(tags)
        return f"<{tag}>" + "".join(tree(depth + 1) for _ in range(rng.randint(0, 4))) + f"</{tag}>"

    for _ in range(200):
        page = LexborHTMLParser("<article>" + tree() + tree() + "</article>")
        root = page.css_first("article")
        expected = [n.text(separator=" ") for n in root.css(_HTML_BLOCKS) if len(n.css(_HTML_BLOCKS)) == 1]
        assert [n.text(separator=" ") for n in _leaf_blocks(root)] == expected


def test_deeply_nested_html_is_read_in_one_pass():
    """10,000 nested <blockquote> (350 KB): 0.7 s now, most of it the parse;
    asking every block for the blocks inside it took 90 s (5,000: 0.3 s, was 14 s)."""
    script = (
        "from search.documents import read_html\n"
        "page = '<article>' + '<blockquote><p>कथन</p>' * 10000 + '</blockquote>' * 10000 + '</article>'\n"
        "(doc,) = read_html(page, 'deep.html', 'deep')\n"
        "print(len(doc.body.split()))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10000"
