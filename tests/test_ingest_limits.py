"""One bad record never stops a run, and no input, however large, costs unbounded memory.

Each bad record is one reject with its file, line and reason, and every good
record around it lands: JSON that Python cannot decode, text that cannot be
UTF-8, CSV rows with bad bytes or unclosed quotes, records and fields over
their limits. The slow test at the end runs ingest.py on hostile inputs (a
gzip bomb, millions of bad lines, records at every limit) and bounds its peak
memory.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, hindi_docs, index_ids, write_jsonl

from search import SearchRequest, SearchService, Settings, ingest, read_inputs
from search.documents import Record, Reject, read_csv, read_jsonl

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


# -- JSON that Python cannot decode, text that cannot be UTF-8 ---------------


def test_json_lines_python_cannot_decode_are_one_reject_each(tmp_path, run_ingest):
    """A lone surrogate (``"\\ud800"`` as written by a broken encoder), nesting
    3,000 levels deep and a 4,301-digit integer each stopped the run (exit 2, or a
    RecursionError): everything after them was never indexed."""
    data = tmp_path / "feed.jsonl"
    lines = [
        json.dumps(good(1), ensure_ascii=False),
        '{"id": "s1", "title": "\\ud800"}',
        json.dumps(good(2), ensure_ascii=False),
        "[" * 3000 + "]" * 3000,
        json.dumps(good(3), ensure_ascii=False),
        '{"id": "n1", "title": "x", "n": ' + "9" * 4301 + "}",
        json.dumps(good(4), ensure_ascii=False),
    ]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    index, rejects = str(tmp_path / "ix"), tmp_path / "rejects.jsonl"
    status, report, stderr = run_json(run_ingest, "--index", index, "--rejects", str(rejects), str(data))
    assert status == 1, stderr
    assert report["added"] == 4 and report["rejected"] == 3
    assert report["rejected_by_reason"] == {"not UTF-8 text": 1, "invalid JSON": 2}
    found = rejects_file(rejects)
    assert [(r["source"], r["line"]) for r in found] == [(str(data), 2), (str(data), 4), (str(data), 6)]
    assert "'title' holds a lone surrogate U+D800" in found[0]["reason"]
    assert "nested too deeply" in found[1]["reason"]
    assert "4300 digits" in found[2]["reason"]
    assert index_ids(index) == ["g1", "g2", "g3", "g4"]


@pytest.mark.parametrize("field", ["id", "title", "body", "url", "source", "category"])
def test_a_lone_surrogate_in_any_text_field_rejects_its_line(field):
    record = {**GOOD, "id": "x1", field: "भारत \\udc80 रूस"}
    line = json.dumps(record, ensure_ascii=False).replace("\\\\udc80", "\\udc80")
    items = list(read_jsonl([json.dumps(good(1)), line, json.dumps(good(2))], "f.jsonl"))
    assert [type(i).__name__ for i in items] == ["Record", "Reject", "Record"]
    assert items[1].line == 2 and f"'{field}' holds a lone surrogate U+DC80 at character 6" in items[1].reason
    assert json.dumps(items[1].as_dict(), ensure_ascii=False).encode("utf-8")  # the rejects file can hold it


def test_a_deletion_with_a_surrogate_id_is_rejected():
    (reject,) = read_jsonl(['{"id": "a\\ud800", "deleted": true}'], "f.jsonl")
    assert isinstance(reject, Reject) and "'id' holds a lone surrogate" in reject.reason


def test_a_file_name_that_is_not_utf8_rejects_its_document_and_the_rejects_file_holds_it(tmp_path, run_ingest):
    """A page's id is its path: a name with a byte that is not UTF-8 cannot be stored."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.txt").write_text("नदी में बाढ़\nखबर", encoding="utf-8")
    with open(os.path.join(os.fsencode(drop), b"bad\xffname.txt"), "wb") as f:
        f.write("पहाड़ पर बर्फ़\nखबर".encode())
    index, rejects = str(tmp_path / "ix"), tmp_path / "rejects.jsonl"
    status, report, stderr = run_json(run_ingest, "--index", index, "--rejects", str(rejects), str(drop))
    assert status == 1, stderr
    (reject,) = rejects_file(rejects)
    assert reject["source"].endswith("bad\ufffdname.txt") and "'id' holds a lone surrogate U+DCFF" in reject["reason"]
    assert index_ids(index) == ["good.txt"]


# -- CSV: a bad row costs only itself ----------------------------------------


def csv_rows(count: int) -> list[bytes]:
    return [f"c{i},खबर {i},भारत और रूस {i}\n".encode() for i in range(count)]


def test_csv_with_an_invalid_byte_keeps_every_other_row(tmp_path, run_ingest):
    """One invalid byte lost the rest of the decoder's chunk (929 of 1,999 good rows
    landed) and the reject said line 0."""
    rows = csv_rows(2000)
    rows[700] = rows[700].replace("खबर".encode(), b"\xff\xfe")  # physical line 702
    data = tmp_path / "feed.csv"
    data.write_bytes(b"id,title,body\n" + b"".join(rows))
    index, rejects = str(tmp_path / "ix"), tmp_path / "rejects.jsonl"
    status, report, stderr = run_json(run_ingest, "--index", index, "--rejects", str(rejects), str(data))
    assert status == 1, stderr
    assert report["added"] == 1999 and report["rejected"] == 1
    (reject,) = rejects_file(rejects)
    assert reject["line"] == 702 and reject["reason"].startswith("not UTF-8 text: byte 0xFF")
    assert reject["raw"] == "c700,\ufffd\ufffd 700,भारत और रूस 700"
    assert len(index_ids(index)) == 1999


def test_csv_unclosed_quote_rejects_its_row_and_reads_on(tmp_path):
    """An unclosed quote swallowed the rest of the file into one cell."""
    text = (
        "id,title,body\n"
        'q1,"दो पंक्ति,\nवाला शीर्षक",पहली खबर\n'  # lines 2-3: a quoted cell over two lines
        'q2,"खुला उद्धरण,दूसरी खबर\n'  # line 4: the quote is never closed
        "q3,तीसरी,तीसरी खबर\n"
        "q4,चौथी,चौथी खबर"  # no line end at the end
    )
    data = tmp_path / "feed.csv"
    data.write_text(text, encoding="utf-8")
    items = list(read_inputs([str(data)]))
    records = [i for i in items if isinstance(i, Record)]
    rejects = [i for i in items if isinstance(i, Reject)]
    assert [r.id for r in records] == ["q1", "q3", "q4"]
    assert records[0].title == "दो पंक्ति,\nवाला शीर्षक"
    assert [(r.line, r.reason) for r in rejects] == [(4, 'invalid CSV: a quote (") opens a cell that is never closed')]
    assert rejects[0].raw == 'q2,"खुला उद्धरण,दूसरी खबर'
    # the last row, too
    (last,) = [i for i in read_csv(io_text('id,title\nq1,एक\nq2,"दो'), "f.csv") if isinstance(i, Reject)]
    assert last.line == 3 and "never closed" in last.reason


def test_csv_keeps_its_line_numbers_bom_header_rules_and_map(tmp_path):
    text = "\ufeffKey,Headline,Text\r\nk1,एक,\"दो\r\nपंक्ति\"\r\n\r\nk2,,\r\nk3,तीन,चार,पाँच\r\nk4,चार,खबर\r\n"
    items = list(read_csv(io_text(text), "f.csv", {"id": "Key", "title": "Headline", "body": "Text"}))
    assert [(type(i).__name__, getattr(i, "line", None)) for i in items] == [
        ("Record", None), ("Reject", 5), ("Reject", 6), ("Record", None)
    ]
    assert items[0].body == "दो\nपंक्ति" and items[3].id == "k4"
    assert "empty text" in items[1].reason and "4 cells" in items[2].reason
    # old Mac line ends (\r alone) are lines too
    items = list(read_csv(io_text("id,title\rm1,एक\rm2,दो\r"), "f.csv"))
    assert [i.id for i in items] == ["m1", "m2"]


def test_a_csv_gz_cut_short_keeps_the_rows_before_and_says_where(tmp_path):
    rows = "id,title,body\n" + "".join(f"c{i},खबर,{'बात ' * 40}\n" for i in range(300))
    packed = gzip.compress(rows.encode())
    cut = tmp_path / "feed.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    items = list(read_inputs([str(cut)]))
    records, rejects = [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Reject)]
    assert len(rejects) == 1 and "cannot read the file from this line on" in rejects[0].reason
    assert [r.id for r in records] == [f"c{i}" for i in range(len(records))] and records
    assert rejects[0].line == len(records) + 2  # the header, the rows read, then the first line not read


def io_text(text: str):
    import io

    return io.StringIO(text, newline="")


def test_a_csv_row_over_the_record_limit_is_rejected_where_it_starts(monkeypatch):
    """Reading starts again at the row's second line: an unclosed quote and a row
    that is too large cannot be told apart before the limit."""
    monkeypatch.setenv("SEARCH_MAX_RECORD_BYTES", "200")
    text = f'id,body\nr1,छोटी\nr2,"{"ब" * 40}\n{"ब" * 40}"\nr3,{"ब" * 100}\nr4,फिर\n'  # r2: 247 bytes, r3: 303
    items = list(read_csv(io_text(text), "f.csv"))
    assert [(type(i).__name__, getattr(i, "line", None) or i.id) for i in items] == [
        ("Record", "r1"), ("Reject", 3), ("Reject", 4), ("Reject", 5), ("Record", "r4")
    ]
    assert items[1].reason == ("record too large: a row of 2 lines or more is over the limit of 200 bytes "
                               "(raise it with SEARCH_MAX_RECORD_BYTES)")
    assert items[2].reason == "invalid CSV: 1 cells in a row of a 2-column header"  # its second line, read again
    assert items[3].reason.startswith("record too large: a line of 303 bytes")


# -- records, lines and fields over their limits ------------------------------


def test_a_line_over_the_record_limit_is_one_reject_read_no_further(tmp_path, monkeypatch, run_ingest):
    monkeypatch.setenv("SEARCH_MAX_RECORD_BYTES", "5000")
    monkeypatch.setenv("SEARCH_MAX_REJECT_RAW_BYTES", "100")
    data = tmp_path / "feed.jsonl.gz"
    with gzip.open(data, "wb") as f:
        f.write((json.dumps(good(1)) + "\n").encode())
        f.write(b'{"id": "long", "body": "' + "क".encode() * 3_000_000 + b'"}\n')  # 9 MB, one line
        f.write(b"x" * 20_000)  # a line over the limit and without an end: the last
    data_before = tmp_path / "more.jsonl"
    write_jsonl(data_before, [good(2)])
    index, rejects = str(tmp_path / "ix"), tmp_path / "rejects.jsonl"
    status, report, stderr = run_json(run_ingest, "--index", index, "--rejects", str(rejects), str(data), str(data_before))
    assert status == 1, stderr
    assert report["added"] == 2 and report["rejected_by_reason"] == {"record too large": 2}
    first, second = rejects_file(rejects)
    assert (first["line"], second["line"]) == (2, 3)
    assert "a line of 9,000,026 bytes is over the limit of 5,000 bytes (raise it with SEARCH_MAX_RECORD_BYTES)" in first["reason"]
    assert "a line of 20,000 bytes" in second["reason"]
    assert first["raw"].startswith('{"id": "long", "body": "कक') and first["raw"].endswith(
        "…[cut: 9,000,026 bytes in all; SEARCH_MAX_REJECT_RAW_BYTES]")
    assert len(first["raw"].split(" …[cut")[0].encode()) <= 100  # cut at a character, not inside one
    assert index_ids(index) == ["g1", "g2"]


@pytest.mark.parametrize(("field", "size", "variable"), [
    ("title", 1001, "SEARCH_MAX_TITLE_CHARS"),
    ("body", 1_000_001, "SEARCH_MAX_BODY_CHARS"),
    ("url", 4097, "SEARCH_MAX_URL_CHARS"),
    ("source", 201, "SEARCH_MAX_LABEL_CHARS"),
    ("category", 201, "SEARCH_MAX_LABEL_CHARS"),
])
def test_a_field_over_its_limit_rejects_the_record_naming_the_limit(field, size, variable):
    line = json.dumps({**GOOD, "id": "x", field: "a" * size})
    items = list(read_jsonl([line, json.dumps(good(2)), json.dumps({**GOOD, "id": "y", field: "a" * (size - 1)})], "f"))
    assert [type(i).__name__ for i in items] == ["Reject", "Record", "Record"]
    assert items[0].reason == (f"field too long: '{field}' has {size:,} characters, over the limit of "
                               f"{size - 1:,} (raise it with {variable})")
    if len(line) > 4096:  # a reject copies at most 4 KiB of the record
        assert items[0].raw == line[:4096] + f" …[cut: {len(line):,} bytes in all; SEARCH_MAX_REJECT_RAW_BYTES]"
    else:
        assert items[0].raw == line


def test_field_limits_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCH_MAX_TITLE_CHARS", "5")
    data = write_jsonl(tmp_path / "f.jsonl", [{**GOOD, "title": "छह अक्षर"}, {**GOOD, "id": "g2", "title": "पाँच"}])
    items = list(read_inputs([str(data)]))
    assert isinstance(items[0], Reject) and "over the limit of 5" in items[0].reason
    assert isinstance(items[1], Record)


def test_text_and_html_files_over_the_record_limit_are_rejected_unread(tmp_path, monkeypatch, run_ingest):
    monkeypatch.setenv("SEARCH_MAX_RECORD_BYTES", "10000")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "small.txt").write_text("छोटी खबर\nनदी में बाढ़ आई।\n", encoding="utf-8")
    (drop / "big.html").write_text("<p>" + "नदी " * 5000 + "</p>", encoding="utf-8")
    with gzip.open(drop / "bomb.txt.gz", "wb") as f:  # 50 MB of one byte: never decompressed whole
        for _ in range(50):
            f.write(b"a" * 1_000_000)
    index, rejects = str(tmp_path / "ix"), tmp_path / "rejects.jsonl"
    status, report, stderr = run_json(run_ingest, "--index", index, "--rejects", str(rejects), str(drop))
    assert status == 1, stderr
    assert report["added"] == 1 and report["rejected_by_reason"] == {"record too large": 2}
    assert {(Path(r["source"]).name, r["line"]) for r in rejects_file(rejects)} == {("big.html", 1), ("bomb.txt.gz", 1)}
    assert all("the file is over the limit of 10,000 bytes" in r["reason"] for r in rejects_file(rejects))
    assert index_ids(index) == ["small.txt"]


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


# -- memory: rejects kept, a batch's text --------------------------------------


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


# -- bounded memory on hostile inputs (slow) ----------------------------------

_MB = 1 << 20
#: The peak memory an ingest may reach, whatever its input.
RSS_LIMIT = 1024 * _MB


def _tree_rss(pid: int) -> int:
    """The resident memory of ``pid`` and its descendants, in bytes (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return total


#: Runs a command and writes ``ru_maxrss`` of it (and of its descendants it waited for) to a file.
#: A child's ``ru_maxrss`` starts from its parent's size at the fork, so measuring from
#: this small process, rather than from pytest, keeps the figure the ingest's own.
_MAXRSS = (
    "import resource, subprocess, sys\n"
    "status = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1] + '.out', 'w'), stderr=subprocess.DEVNULL)\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(status)\n"
)


def _measured_ingest(tmp_path: Path, *args: str) -> tuple[int, dict, int, int]:
    """Run ingest.py ``--json``: its exit status, its report, the peak RSS of its
    largest process (``ru_maxrss`` of it and its workers: exact) and of its whole
    process tree (sampled every 50 ms)."""
    measure = tmp_path / "maxrss"
    process = subprocess.Popen([sys.executable, "-c", _MAXRSS, str(measure), sys.executable, str(ROOT / "ingest.py"),
                                "--json", *args])
    tree, done = 0, threading.Event()

    def sample() -> None:
        nonlocal tree
        while not done.is_set():
            tree = max(tree, _tree_rss(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        status = process.wait(timeout=1800)
    finally:
        done.set()
        sampler.join()
    report = json.loads(Path(f"{measure}.out").read_text(encoding="utf-8") or "{}")
    return status, report, int(measure.read_text()) * 1024, tree


def _at_the_limits(path: Path, count: int) -> None:
    """1,100 small documents (worker processes start after 1,000), then ``count``
    records at every limit: 1,000,000-character bodies drawn from 300,000
    distinct words (about 115,000 distinct terms a document), titles of 1,000
    characters, urls of 4,000, sources and categories of 200."""
    syllables = [chr(c) + sign for c in range(0x0915, 0x0939) for sign in ("", "ा", "ि", "ी", "ु", "े", "ो")]
    pool = ["".join(parts) for parts in itertools.islice(itertools.product(syllables, repeat=3), 300_000)]
    rng = random.Random(16)
    with open(path, "w", encoding="utf-8") as f:
        for doc in [good(7), *hindi_docs(1100)]:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        for n in range(count):
            body = " ".join(rng.choices(pool, k=166_000))[:1_000_000].rstrip()
            f.write(json.dumps({"id": f"big{n}", "title": ("शीर्षक " * 200)[:1000], "body": body,
                                "url": "https://e.example/" + "u" * 4000, "source": "स" * 200, "category": "क" * 200},
                               ensure_ascii=False) + "\n")
        f.write(json.dumps(good(8), ensure_ascii=False) + "\n")


@pytest.mark.slow
def test_peak_memory_of_an_ingest_stays_bounded_whatever_the_input(tmp_path):
    """Before the limits: a 2 GB gzip bomb took 6.4 GB, 1.5 million bad lines of
    600 bytes 1.4 GB, a 300 MB line 2.2 GB. Every hostile input has good records
    before and after it. Default --procs (worker processes), then --procs 1."""
    drop = tmp_path / "drop"
    drop.mkdir()
    line = lambda doc: (json.dumps(doc, ensure_ascii=False) + "\n").encode()  # noqa: E731
    chunk = b"x" * (16 * _MB)
    with gzip.open(drop / "bomb.jsonl.gz", "wb", compresslevel=1) as f:  # 2 GB of one byte, no line end
        f.write(line(good(1)))
        for _ in range(128):
            f.write(chunk)
        f.write(b"\n" + line(good(2)))
    with gzip.open(drop / "bomb.csv.gz", "wb", compresslevel=1) as f:
        f.write("id,title\nc1,पहली\n".encode())
        for _ in range(64):
            f.write(chunk)
        f.write("\nc2,दूसरी\n".encode())
    with gzip.open(drop / "bomb.txt.gz", "wb", compresslevel=1) as f:
        for _ in range(64):
            f.write(chunk)
    with gzip.open(drop / "bad.jsonl.gz", "wb", compresslevel=1) as f:
        f.write(line(good(3)))
        bad = b'{"id": "bad", "title": ' + b"y" * 600 + b"\n"
        for _ in range(1500):
            f.write(bad * 1000)
        f.write(line(good(4)))
    with open(drop / "long.jsonl", "wb") as f:  # a 300 MB line
        f.write(line(good(5)))
        f.write(b'{"id": "long", "body": "' + "क".encode() * (100 * _MB) + b'"}\n')
        f.write(line(good(6)))
    _at_the_limits(drop / "limits.jsonl", 30)

    index, rejects = tmp_path / "ix", tmp_path / "rejects.jsonl"
    status, report, largest, tree = _measured_ingest(tmp_path, "--index", str(index), "--rejects", str(rejects), str(drop))
    print(f"\nhostile inputs, default --procs: largest process {largest / _MB:.0f} MB, "
          f"process tree {tree / _MB:.0f} MB, {report.get('seconds')} s")
    assert status == 1, report
    assert report["added"] == 8 + 1100 + 30 + 2  # good(1..8), the small documents, the big ones, c1 and c2
    assert report["rejected_by_reason"] == {"record too large": 4, "invalid JSON": 1_500_000}
    assert report["notes"][0].startswith("30 document(s) have more than 100,000 words")  # 153,769 each
    with open(rejects, "rb") as f:
        assert sum(1 for _ in f) == report["rejected"] == 1_500_004
    assert {f"g{n}" for n in range(1, 9)} | {"c1", "c2", "big0", "big29"} <= set(index_ids(str(index)))
    assert largest < RSS_LIMIT and tree < RSS_LIMIT

    status, report, largest, tree = _measured_ingest(tmp_path, "--index", str(tmp_path / "ix1"), "--procs", "1",
                                                     str(drop / "limits.jsonl"))
    print(f"records at the limits, --procs 1: largest process {largest / _MB:.0f} MB, {report.get('seconds')} s")
    assert status == 0 and report["added"] == 2 + 1100 + 30
    assert largest < RSS_LIMIT
