"""The ingest fast path writes exactly the postings stock Whoosh would."""

from __future__ import annotations

import json
from typing import Any

import whoosh.fields
import whoosh.index

from search.analysis import AnalysisOptions
from search.documents import Record, parse_record
from search.engine import HindiText, HindiTokenizer, SearchIndex

from conftest import SAMPLE


def test_hindi_text_postings_equal_stock_text_postings():
    tokenizer = HindiTokenizer(AnalysisOptions())
    fast = HindiText(analyzer=tokenizer, stored=True, phrase=True)
    stock = whoosh.fields.TEXT(analyzer=tokenizer, stored=True, phrase=True)
    texts = ["भारत और रूस ने भारत के साथ रूस की साझेदारी, भारत!", "", "२०२६ में G20 बैठक"]
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        texts += [doc.get("title", ""), doc.get("body", "")]
    for text in texts:
        assert sorted(fast.index(text)) == sorted(stock.index(text)), text[:40]


def _records(copies: int) -> list[Record]:
    """The sample corpus ``copies`` times (new ids), so common terms span several posting blocks."""
    docs = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        parse_record({**doc, "id": f"{doc['id']}-{n}"}) for n in range(copies) for doc in docs  # type: ignore[misc]
    ]


def _postings(path: str, *, blocks: bool = True) -> dict[tuple[str, bytes], Any]:
    """Every posting of a whole index, by document id; with ``blocks`` (one segment only),
    with its term's and its block's statistics too."""
    ix = whoosh.index.open_dir(path)
    out: dict[tuple[str, bytes], Any] = {}
    with ix.searcher() as searcher:
        reader = searcher.reader()
        ids = {n: fields["id"] for n, fields in enumerate(reader.all_stored_fields())}
        for fieldname in ("id", "title", "body", "lead", "source", "category", "published", "hash"):
            for term in reader.lexicon(fieldname):
                info = reader.term_info(fieldname, term)
                stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(), info.max_weight())
                m = reader.postings(fieldname, term)
                postings = []
                while m.is_active():
                    posting = [ids[m.id()], m.weight(), m.value()]
                    if blocks:
                        posting += [m.id(), m.block_max_weight(), m.block_min_length(), m.block_max_length()]
                    postings.append(tuple(posting))
                    m.next()
                # across segments the total weight is summed in another order (lead weights are fractions)
                out[fieldname, term] = (stats if blocks else (round(stats[0], 4), stats[1]), sorted(postings))
    return out


def _stock_fields(record: Record) -> dict[str, str]:
    """The fields our writer indexes, for Whoosh's own writer: the lead is the body
    again, which stock Whoosh analyses through ``LeadText.index``."""
    fields = {k: v for k, v in record.__dict__.items() if v}
    if record.body:
        fields["lead"] = record.body
    return {**fields, "hash": record.content_hash}


def test_segment_writer_writes_the_postings_stock_whoosh_writes(tmp_path):
    """Our writer (postings grouped in memory, written block by block) against Whoosh's
    own writer (pool, sort, one ``add`` per posting) on the same schema and documents."""
    records = _records(3)
    ours = SearchIndex.open_or_create(str(tmp_path / "ours"))
    writer = ours.writer()
    for record in records:
        writer.put(record, record.content_hash, replace=False)
    writer.commit()
    SearchIndex.open_or_create(str(tmp_path / "stock")).close()
    stock = whoosh.index.open_dir(str(tmp_path / "stock")).writer()
    for record in records:
        stock.add_document(**_stock_fields(record))
    stock.commit()
    expected = _postings(str(tmp_path / "stock"))
    got = _postings(str(tmp_path / "ours"))
    assert any(len(p) > 128 for _, p in expected.values())  # several blocks per list
    assert got == expected


def test_segments_merged_at_commit_keep_every_posting(tmp_path):
    """Whoosh merges small segments at commit through our writer: nothing may be lost."""
    records = _records(1)
    index = SearchIndex.open_or_create(str(tmp_path / "ours"))
    for start in range(0, len(records), 5):  # twelve commits: Whoosh merges the small segments
        writer = index.writer()
        for record in records[start:start + 5]:
            writer.put(record, record.content_hash, replace=False)
        writer.commit()
    segments = whoosh.index.open_dir(str(tmp_path / "ours"))._segments()
    assert len(segments) < len(range(0, len(records), 5))
    SearchIndex.open_or_create(str(tmp_path / "stock")).close()
    stock = whoosh.index.open_dir(str(tmp_path / "stock")).writer()
    for record in records:
        stock.add_document(**_stock_fields(record))
    stock.commit()
    assert _postings(str(tmp_path / "ours"), blocks=False) == _postings(str(tmp_path / "stock"), blocks=False)
