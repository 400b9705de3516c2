"""Input formats through ``ingest.py`` as a subprocess: HTML, text, CSV, gzip, directories, stdin."""

from __future__ import annotations

import gzip
import io
import json
import shutil

import pytest
from conftest import index_ids, write_jsonl

from search import SearchRequest, SearchService, Settings, read_inputs

PAGE = """<!DOCTYPE html>
<html lang="hi"><head><meta charset="utf-8">
<title>दिल्ली में मानसून की पहली बारिश | जन आवाज़</title>
<meta property="og:title" content="दिल्ली में मानसून की पहली बारिश">
<meta property="og:site_name" content="जन आवाज़">
<link rel="canonical" href="https://janawaz.example/monsoon-delhi">
<script>var ad = "प्रायोजित विज्ञापन";</script>
<style>.x { color: red }</style>
</head><body>
<header><a href="/">होम</a><nav><ul><li>देश</li><li>विदेश</li><li>ज्योतिष</li></ul></nav></header>
<div class="social-share"><a>Share on Facebook</a> <a>WhatsApp पर शेयर करें</a></div>
<article>
  <h1>दिल्ली में मानसून की पहली बारिश</h1>
  <div class="byline">संवाददाता <time datetime="2026-06-29T08:30:00+05:30">29 जून 2026</time></div>
  <p>राजधानी दिल्ली में रविवार सुबह मानसून की पहली बारिश हुई, जिससे लोगों को उमस से राहत मिली।</p>
  <p>मौसम विभाग ने अगले तीन दिनों तक हल्की से मध्यम वर्षा का अनुमान जताया है।</p>
  <p>Share this article</p>
  <div class="related-stories"><h3>ये भी पढ़ें</h3><ul><li>शतरंज प्रतियोगिता की घोषणा</li></ul></div>
</article>
<aside>सबसे लोकप्रिय: पंचायत परिणाम</aside>
<div id="comments"><p>टिप्पणी: बहुत बढ़िया</p></div>
<footer>© 2026 जन आवाज़ · Follow us</footer>
</body></html>
"""


def stored(index: str, doc_id: str) -> dict:
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0}))
    fields = service.index().stored(doc_id)
    assert fields is not None, f"{doc_id} not in the index"
    return fields


def hits(index: str, q: str) -> list[str]:
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0}))
    return sorted(h.id for h in service.search(SearchRequest(q=q, per_page=100)).hits)


def test_html_page_keeps_article_drops_furniture(tmp_path, run_ingest):
    (tmp_path / "site" / "news").mkdir(parents=True)
    (tmp_path / "site" / "news" / "monsoon.html").write_text(PAGE, encoding="utf-8")
    index = str(tmp_path / "ix")
    result = run_ingest("--index", index, str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    doc = stored(index, "https://janawaz.example/monsoon-delhi")  # id: the canonical URL
    assert doc["title"] == "दिल्ली में मानसून की पहली बारिश"
    assert doc["url"] == "https://janawaz.example/monsoon-delhi"
    assert doc["published"] == "2026-06-29"
    assert doc["source"] == "जन आवाज़"
    assert "उमस से राहत" in doc["body"] and "हल्की से मध्यम वर्षा" in doc["body"]
    for furniture in ("विज्ञापन", "विदेश", "ज्योतिष", "WhatsApp", "Share", "शतरंज", "पंचायत", "टिप्पणी", "Follow", "color"):
        assert furniture not in doc["body"], furniture
    assert hits(index, "शतरंज") == [] and hits(index, "उमस") == ["https://janawaz.example/monsoon-delhi"]


@pytest.mark.data
def test_seed_article_as_text_file(shared_data, tmp_path, run_ingest):
    (tmp_path / "in").mkdir()
    shutil.copy(shared_data / "seed" / "article.txt", tmp_path / "in" / "article.txt")  # a temp copy, not in the repo
    index = str(tmp_path / "ix")
    result = run_ingest("--index", index, str(tmp_path / "in"))
    assert result.returncode == 0, result.stderr
    doc = stored(index, "article.txt")
    first_line = (shared_data / "seed" / "article.txt").read_text(encoding="utf-8").splitlines()[0].strip()
    assert first_line not in doc["body"] and first_line not in doc["title"]  # share-button line dropped
    assert doc["source"] == "ETrendingIndia"  # from the dateline
    assert not doc["title"].startswith("रायपुर") and "ETrendingIndia" not in doc["title"]
    assert "साझेदारी" in doc["title"]
    assert doc["body"].startswith("भारत और रूस")
    assert hits(index, '"सैन्य सहयोग"') == ["article.txt"]


def test_text_file_title_is_first_meaningful_line(tmp_path, run_ingest):
    text = "Like  |  Follow us\n\n---\nगंगा की सफ़ाई पर नई योजना\n\nसरकार ने गंगा नदी की सफ़ाई के लिए नई योजना बनाई।\r\nइसमें कई शहर शामिल हैं।\n"
    (tmp_path / "ganga.txt").write_text(text, encoding="utf-8")
    index = str(tmp_path / "ix")
    assert run_ingest("--index", index, str(tmp_path / "ganga.txt")).returncode == 0
    doc = stored(index, "ganga.txt")
    assert doc["title"] == "गंगा की सफ़ाई पर नई योजना"
    assert doc["body"].endswith("बनाई।\nइसमें कई शहर शामिल हैं।")
    assert "Follow" not in doc["body"] and "\r" not in doc["body"]


def test_csv_with_field_mapping_and_line_numbers(tmp_path, run_ingest):
    csv_text = (
        "key,headline,text,link,date\n"
        'c1,चुनाव आयोग की घोषणा,"आयोग ने चुनाव की तारीखें घोषित कीं,\nसात चरणों में मतदान होगा।",https://e.example/c1,2026-03-01\n'
        "c2,,,,\n"
        "c3,क्रिकेट,भारत ने मैच जीता,,कल\n"
        "c4,हॉकी,टीम ने अभ्यास किया\n"
    )
    data = tmp_path / "feed.csv"
    data.write_text(csv_text, encoding="utf-8")
    index = str(tmp_path / "ix")
    result = run_ingest("--index", index, "--map", "id=key,title=headline,body=text,url=link", str(data))
    assert result.returncode == 1
    assert "feed.csv:4: rejected: empty text" in result.stderr  # row 1 spans lines 2-3
    assert "feed.csv:5: rejected: 'published' is not an ISO date" in result.stderr
    assert "feed.csv:6: rejected: invalid CSV: 3 cells" in result.stderr
    doc = stored(index, "c1")
    assert doc["title"] == "चुनाव आयोग की घोषणा" and doc["url"] == "https://e.example/c1"
    assert doc["published"] == "2026-03-01" and "सात चरणों" in doc["body"]


def test_csv_headers_in_any_case_and_repeated_columns(tmp_path):
    """A spreadsheet's ID/Title/Body header is read; a column named twice is refused
    (which of the two is the title?) with a reason, not read half-right."""
    from search.documents import Reject, read_csv

    records = list(read_csv(io.StringIO("ID,Title,Body,Date\nc1,शीर्षक,खबर,2026-03-01\n"), "feed.csv"))
    assert [(r.id, r.title, r.body, r.published) for r in records] == [("c1", "शीर्षक", "खबर", "2026-03-01")]
    renamed = list(read_csv(io.StringIO("ID,Title,Text\nc2,शीर्षक,खबर\n"), "feed.csv", {"body": "Title", "title": "Text"}))
    assert (renamed[0].title, renamed[0].body) == ("खबर", "शीर्षक")  # --map names columns as written
    (reject,) = read_csv(io.StringIO("id,title,Title\nc3,एक,दो\n"), "feed.csv")
    assert isinstance(reject, Reject) and reject.line == 1 and "column 'title' appears more than once" in reject.reason
    (kept,) = read_csv(io.StringIO("id,title,notes,notes\nc4,एक,x,y\n"), "feed.csv")  # a column nobody reads
    assert kept.title == "एक"


def test_jsonl_mapping_gzip_and_stdin(tmp_path, run_ingest):
    rows = [{"guid": "g1", "heading": "पहाड़ों पर बर्फ़बारी", "content": "हिमाचल में भारी बर्फ़बारी हुई।"}]
    gz = tmp_path / "feed.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        f.write(json.dumps(rows[0], ensure_ascii=False) + "\n")
    index = str(tmp_path / "ix")
    result = run_ingest("--index", index, "--map", "id=guid,title=heading,body=content", str(gz))
    assert result.returncode == 0, result.stderr
    assert stored(index, "g1")["title"] == "पहाड़ों पर बर्फ़बारी"

    with gzip.open(tmp_path / "note.txt.gz", "wt", encoding="utf-8") as f:
        f.write("रेल किराये में बदलाव\nरेलवे ने किराये में बदलाव की घोषणा की।\n")
    assert run_ingest("--index", index, str(tmp_path / "note.txt.gz")).returncode == 0
    assert stored(index, "note.txt")["title"] == "रेल किराये में बदलाव"

    csv_in = "id,title\ns1,सोने की कीमत बढ़ी\n"
    result = run_ingest("--index", index, "--format", "csv", "-", stdin=csv_in)
    assert result.returncode == 0, result.stderr
    assert hits(index, "सोने") == ["s1"]


def test_directory_is_read_recursively_with_every_format(tmp_path, run_ingest):
    root = tmp_path / "drop"
    (root / "a" / "b").mkdir(parents=True)
    write_jsonl(root / "one.jsonl", [{"id": "j1", "body": "नदी में बाढ़ आई"}])
    (root / "a" / "two.csv").write_text("id,body\nc1,नदी का जलस्तर बढ़ा\n", encoding="utf-8")
    (root / "a" / "b" / "three.txt").write_text("नदी किनारे मेला\nमेले में भीड़ रही।\n", encoding="utf-8")
    (root / "a" / "b" / "four.htm").write_text(PAGE.replace("मानसून", "नदी"), encoding="utf-8")
    (root / "a" / "skip.pdf").write_bytes(b"%PDF-1.4 not read")
    index = str(tmp_path / "ix")
    result = run_ingest("--index", index, "--json", str(root))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == 4
    assert index_ids(index) == ["a/b/three.txt", "c1", "https://janawaz.example/monsoon-delhi", "j1"]


def _page(canonical: str, story: str) -> str:
    return (f"<html><head><title>{story}</title>{canonical}</head>"
            f"<body><article><h1>{story}</h1><p>{story}: आज की ख़बर विस्तार से।</p></article></body></html>")


def test_html_pages_keep_their_canonical_id_when_their_directory_moves(tmp_path, run_ingest):
    """A page's id is its canonical URL (else og:url): when a cron job's download directory
    is renamed, its pages are the same documents again. A page without one (or with a
    relative one) keeps its path under the input root as its id, as before."""
    feeds = tmp_path / "feeds"
    crawl = feeds / "2026-06"
    (crawl / "desh").mkdir(parents=True)
    (crawl / "desh" / "a.html").write_text(_page('<link rel="canonical" href="https://e.example/a">', "बाढ़"), encoding="utf-8")
    (crawl / "desh" / "b.html").write_text(_page('<meta property="og:url" content="https://e.example/b">', "सूखा"), encoding="utf-8")
    (crawl / "desh" / "c.html").write_text(_page('<link rel="canonical" href="/relative-c">', "भूकंप"), encoding="utf-8")
    (crawl / "d.html").write_text(_page("", "चुनाव"), encoding="utf-8")
    index = str(tmp_path / "ix")
    first = json.loads(run_ingest("--index", index, "--json", str(feeds)).stdout)
    assert first["added"] == 4
    assert index_ids(index) == ["2026-06/d.html", "2026-06/desh/c.html", "https://e.example/a", "https://e.example/b"]

    shutil.move(str(crawl), str(feeds / "june"))
    (feeds / "june" / "desh" / "a.html").rename(feeds / "june" / "desh" / "renamed.html")
    again = json.loads(run_ingest("--index", index, "--json", str(feeds)).stdout)
    assert (again["added"], again["updated"], again["unchanged"]) == (2, 0, 2)  # only the pages without one
    assert index_ids(index) == ["2026-06/d.html", "2026-06/desh/c.html", "https://e.example/a", "https://e.example/b",
                                "june/d.html", "june/desh/c.html"]
    assert stored(index, "https://e.example/a")["url"] == "https://e.example/a"


def test_rejects_file_has_source_line_reason_and_raw(tmp_path, run_ingest):
    krutidev = "Hkkjr vkSj :l us viuh nh?kZdkfyd j.kuhfrd lk>snkjh dks etcwr djus ij tksj fn;kA"
    rows = [
        {"id": "ok", "body": "भारत और रूस ने साझेदारी मजबूत की"},
        "{broken",
        {"id": "kd", "title": "Hkkjr&:l", "body": krutidev},
        {"id": "nb"},
    ]
    data = write_jsonl(tmp_path / "in.jsonl", rows)
    data.write_bytes(data.read_bytes() + b'{"id": "bytes", "body": "\xff\xfe"}\n')
    index = str(tmp_path / "ix")
    rejects = tmp_path / "rejects.jsonl"
    result = run_ingest("--index", index, "--json", "--rejects", str(rejects), str(data))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["rejected"] == 4 and report["added"] == 1
    assert report["rejected_by_reason"] == {"invalid JSON": 1, "legacy font encoding": 1, "empty text": 1, "not UTF-8 text": 1}
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["reason"].split(":")[0]) for r in lines] == [
        (2, "invalid JSON"), (3, "legacy font encoding"), (4, "empty text"), (5, "not UTF-8 text")
    ]
    assert all(r["source"] == str(data) for r in lines)
    assert lines[1]["raw"] == json.dumps(rows[2], ensure_ascii=False)
    assert "KrutiDev" in lines[1]["reason"]


def test_unknown_file_type_and_bad_map_are_usage_errors(tmp_path, run_ingest):
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    result = run_ingest("--index", str(tmp_path / "ix"), str(tmp_path / "x.pdf"))
    assert result.returncode == 2 and "unknown input type" in result.stderr
    result = run_ingest("--index", str(tmp_path / "ix"), "--map", "bodytext", "-", stdin="")
    assert result.returncode == 2 and "--map" in result.stderr


def test_a_gz_cut_short_keeps_the_lines_before_and_says_where(tmp_path):
    from search.documents import Record, Reject

    rows = b"".join((json.dumps({"id": f"d{i}", "title": "खबर", "body": "बात " * 40}) + "\n").encode() for i in range(200))
    packed = gzip.compress(rows)
    cut = tmp_path / "feed.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    items = list(read_inputs([str(cut)]))
    records, rejects = [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Reject)]
    assert len(rejects) == 1 and rejects[0].line == len(records) + 1 > 1
    assert "cannot read the file from this line on" in rejects[0].reason
    assert [r.id for r in records] == [f"d{i}" for i in range(len(records))]


def test_day_first_csv_dates_need_an_explicit_date_format(tmp_path, run_ingest):
    """01/03/2026 is the 1st of March in India and January 3rd elsewhere: refused with a
    hint without --date-format, read day first with it, and never guessed."""
    from search.engine import open_index

    feed = tmp_path / "feed.csv"
    feed.write_text("id,title,published\nd1,पहली ख़बर,01/03/2026\nd2,दूसरी ख़बर,2026-03-02\n"
                    "d3,तीसरी ख़बर,31/02/2026\nd4,चौथी ख़बर,15-04-2026 09:30\n", encoding="utf-8")
    plain = run_ingest("--index", str(tmp_path / "a"), str(feed))
    assert plain.returncode == 1 and "read 1, added 1" in plain.stdout
    assert "feed.csv:2: rejected: 'published' is not an ISO date (YYYY-MM-DD): '01/03/2026'; " \
           "if it is day, month, year, say so with --date-format DD/MM/YYYY" in plain.stderr
    assert "--date-format DD-MM-YYYY" in plain.stderr  # the hint follows the separator

    dashes = run_ingest("--index", str(tmp_path / "b"), "--date-format", "DD-MM-YYYY", str(feed))
    index = open_index(str(tmp_path / "b"))
    try:
        dates = {fields["id"]: fields["published"] for _, fields in index.find(None, limit=10, fields=("id", "published")).hits}
    finally:
        index.close()
    assert dates == {"d2": "2026-03-02", "d4": "2026-04-15"}  # ISO still read; a time after the date allowed
    assert "feed.csv:2: rejected: 'published' is not a date written DD-MM-YYYY: '01/03/2026'" in dashes.stderr

    slashes = run_ingest("--index", str(tmp_path / "c"), "--date-format", "DD/MM/YYYY", str(feed))
    assert "read 2, added 2" in slashes.stdout and "feed.csv:4: rejected: 'published' is not a date written DD/MM/YYYY: '31/02/2026'" in slashes.stderr
    wrong = run_ingest("--index", str(tmp_path / "d"), "--date-format", "MM/DD/YYYY", str(feed))
    assert wrong.returncode == 2 and "is not one of YYYY-MM-DD, DD/MM/YYYY, DD-MM-YYYY" in wrong.stderr
