"""The ingest fast path writes exactly the postings stock Whoosh would."""

from __future__ import annotations

import json

import whoosh.fields

from search.analysis import AnalysisOptions
from search.engine import HindiText, HindiTokenizer

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
