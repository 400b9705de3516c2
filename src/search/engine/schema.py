"""The index schema, and our analyzer in Whoosh's tokenizer interface.

Owns: the fields of an index (:func:`_schema`), :class:`HindiTokenizer` (our
:class:`~search.analysis.Analyzer` as Whoosh sees it), and the text fields whose
indexing skips Whoosh's per-token machinery (:class:`HindiText`, :class:`LeadText`).

The schema (with its analyzer) is pickled into the index. Our analyzer is
stored as its :class:`AnalysisOptions` only, so an index always knows how it
was analysed, and the query side gets the very same chain
(:func:`shared_analyzer`). Indexes pickled before the engine was a package
name these classes as ``search.engine.<name>``: the package re-exports them,
so those indexes still open.

Must not touch: files (:mod:`.storage`), writing segments (:mod:`.writing`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any

import whoosh.analysis
import whoosh.fields
from whoosh.system import pack_uint

from ..analysis import ANALYSIS_VERSION, AnalysisOptions, Analyzer
from .backend import IndexUnavailable, TEXT_FIELDS


#: Analysis options added after indexes were built, as those indexes were built.
_OPTIONS_BEFORE_THEY_EXISTED = {"min_stem": 1}


_ANALYZERS: dict[AnalysisOptions, Analyzer] = {}


_ANALYZERS_LOCK = threading.Lock()


def shared_analyzer(options: AnalysisOptions) -> Analyzer:
    """One analyzer (and one word cache) per configuration, for index and query side."""
    with _ANALYZERS_LOCK:
        if options not in _ANALYZERS:
            _ANALYZERS[options] = Analyzer(options)
        return _ANALYZERS[options]


class HindiTokenizer(whoosh.analysis.Tokenizer):
    """Our :class:`Analyzer` in Whoosh's tokenizer interface.

    Pickled into the index as its options only. Stop words are indexed (the
    tokens are only *marked* stop), so phrases with और, के, में match exactly.
    """

    def __init__(self, options: AnalysisOptions | None = None) -> None:
        self.options = options or AnalysisOptions()
        self.version = ANALYSIS_VERSION

    def __getstate__(self) -> dict[str, Any]:
        return {"options": asdict(self.options), "version": self.version}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # An index from before an option existed was built as that option's old default.
        self.options = AnalysisOptions(**{**_OPTIONS_BEFORE_THEY_EXISTED, **state["options"]})
        self.version = state.get("version", 0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HindiTokenizer) and other.options == self.options

    def __hash__(self) -> int:
        return hash(self.options)

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ):
        token = whoosh.analysis.Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        analyzer = shared_analyzer(self.options)
        for t in analyzer.tokens(value):
            token.text = t.term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = t.text
            if positions:
                token.pos = start_pos + t.pos
            if chars:
                token.startchar = start_char + t.start
                token.endchar = start_char + t.end
            yield token


class HindiText(whoosh.fields.TEXT):
    """A TEXT field whose indexing skips Whoosh's per-token machinery.

    Whoosh's ``TEXT.index`` pulls every token through its analyzer pipeline
    as a mutable ``Token`` and a generic ``word_values``; for ingest we ask
    our analyzer for the plain list of terms and group positions ourselves.
    The postings are byte for byte what ``TEXT`` writes (the same Positions
    encoding), so searching and phrase queries are unchanged.
    """

    def index(self, value: str, **kwargs: Any):  # type: ignore[override]
        """Whoosh's interface (our writer calls :meth:`add_postings`)."""
        positions = shared_analyzer(self.analyzer.options).term_positions(value)
        boost, encode = self.format.field_boost, self.format.encode
        return iter([(t.encode("utf-8"), len(p), len(p) * boost, encode(p)) for t, p in positions.items()])

    def add_postings(self, positions: dict[str, list[int]], docnum: int, terms: dict[str, list[Any]]) -> int:
        """Add the postings of a text analysed into ``positions`` (:meth:`Analyzer.term_positions`)
        in document ``docnum`` to ``terms`` (term -> [docnum, weight, encoded positions, ...]);
        returns the field length (terms counted).

        The ingest's inner loop: one pass over the document's distinct terms.
        Terms stay ``str`` here; the flush encodes each once per segment.
        """
        boost = self.format.field_boost
        encode = self.format.encode
        single = _SINGLE_POSITION
        encoded_single = single.get
        posting_list = terms.get
        length = 0
        for term, poslist in positions.items():
            freq = len(poslist)
            length += freq
            if freq == 1:  # most postings: one occurrence, encoded once per position
                encoded = encoded_single(poslist[0])
                if encoded is None:
                    encoded = single[poslist[0]] = encode(poslist)
                weight = boost
            else:
                encoded = encode(poslist)
                weight = freq * boost
            entry = posting_list(term)
            if entry is None:
                terms[term] = [docnum, weight, encoded]
            else:
                entry += (docnum, weight, encoded)
        return length


#: Whoosh's Positions encoding of ``[pos]``, by ``pos`` (the same bytes every time).
_SINGLE_POSITION: dict[int, bytes] = {}


class LeadText(whoosh.fields.TEXT):
    """The opening words of the body (``AnalysisOptions.lead_words``) again,
    as a field of their own: weights only (no positions, no stored text).

    A news story says in its first sentence or two what its headline says, so
    a query word found there is stronger evidence than the same word further
    down; ranking gives this field ``Ranking.lead_boost`` beside the body.
    The nearer the start, the stronger: an occurrence weighs 1 as the first
    word and falls linearly to 1/n as the n-th (the posting's weight is the
    term frequency BM25 sees). Measured in docs/relevance.md.
    """

    def __init__(self, analyzer: HindiTokenizer) -> None:
        super().__init__(analyzer=analyzer, phrase=False)

    def _weighted(self, value: str) -> dict[str, list[Any]]:
        """``{term: [frequency, weight]}`` of the lead of ``value``."""
        options = self.analyzer.options
        count = options.lead_words
        found: dict[str, list[Any]] = {}
        for pos, term in enumerate(shared_analyzer(options).opening_terms(value, count)):
            entry = found.get(term)
            if entry is None:
                found[term] = [1, 1.0 - pos / count]
            else:
                entry[0] += 1
                entry[1] += 1.0 - pos / count
        return found

    def index(self, value: str, **kwargs: Any):  # type: ignore[override]
        boost = self.format.field_boost
        return iter(
            [(t.encode("utf-8"), freq, weight * boost, pack_uint(freq)) for t, (freq, weight) in self._weighted(value).items()]
        )

    def add_postings(self, positions: dict[str, list[int]], docnum: int, terms: dict[str, list[Any]]) -> int:
        """:meth:`index`'s postings, taken from the body's ``positions`` (already
        analysed for the body field) instead of analysing the body again; returns
        the field length. ``positions`` is in order of first occurrence, so the
        lead's terms are a prefix of it. Weights are summed in position order,
        as :meth:`_weighted` sums them, so they are the same floats.
        """
        count = self.analyzer.options.lead_words
        boost = self.format.field_boost
        values = _LEAD_VALUES
        once = values[1]
        length = 0
        for term, poslist in positions.items():
            first = poslist[0]
            if first >= count:
                break
            weight = 1.0 - first / count
            if len(poslist) == 1 or poslist[1] >= count:  # most terms: once in the lead
                value = once
                length += 1
            else:
                freq = 1
                for pos in poslist[1:]:
                    if pos >= count:
                        break
                    weight += 1.0 - pos / count
                    freq += 1
                length += freq
                value = values.get(freq)
                if value is None:
                    value = values[freq] = pack_uint(freq)
            if boost != 1.0:
                weight *= boost
            entry = terms.get(term)
            if entry is None:
                terms[term] = [docnum, weight, value]
            else:
                entry += (docnum, weight, value)
        return length


#: ``pack_uint(freq)``, the value of a lead posting, by ``freq``.
_LEAD_VALUES: dict[int, bytes] = {1: pack_uint(1)}


def _schema(options: AnalysisOptions) -> whoosh.fields.Schema:
    text = HindiTokenizer(options)
    return whoosh.fields.Schema(
        # id and hash are also columns, so an ingest reads every (id, hash) at once
        id=whoosh.fields.ID(stored=True, unique=True, sortable=True),
        title=HindiText(analyzer=text, stored=True, phrase=True),
        body=HindiText(analyzer=text, stored=True, phrase=True),
        lead=LeadText(analyzer=text),  # filled from the body, see _doc_fields
        url=whoosh.fields.STORED(),
        published=whoosh.fields.ID(stored=True, sortable=True),
        source=whoosh.fields.ID(stored=True, sortable=True),
        category=whoosh.fields.ID(stored=True, sortable=True),
        hash=whoosh.fields.ID(stored=True, sortable=True),
    )


def _check_schema(schema: whoosh.fields.Schema, path: str) -> None:
    """:class:`IndexUnavailable` unless ``schema`` is one this product wrote (its text
    fields analysed by :class:`HindiTokenizer`): another application's Whoosh index."""
    names = set(schema.names())
    ours = {"id", *TEXT_FIELDS} <= names and all(
        isinstance(getattr(schema[name], "analyzer", None), HindiTokenizer) for name in TEXT_FIELDS
    )
    if not ours:
        raise IndexUnavailable(
            f"{path!r} is not a hindi-search index: it holds another application's Whoosh index "
            f"(fields {', '.join(sorted(names)[:8]) or 'none'}); give the right directory, "
            "or replace it: ingest --rebuild with all the documents"
        )


def _text_options(schema: whoosh.fields.Schema) -> AnalysisOptions:
    """The analysis options of the index's text fields (all share one analyzer)."""
    for name in schema.names():
        analyzer = getattr(schema[name], "analyzer", None)
        if isinstance(analyzer, HindiTokenizer):
            return analyzer.options
    raise IndexUnavailable("the index has no text field analysed by this product")
