"""The one module that talks to Whoosh, so its quirks stay in one place.

Everything else in the package speaks in our own terms: :class:`Record` s go
in, query trees from :mod:`search.querying` are compiled here, and plain dicts
of stored fields come out.

Whoosh quirks handled here:

* The schema (with its analyzer) is pickled into the index. Our analyzer is
  stored as its :class:`AnalysisOptions` only, so an index always knows how
  it was analysed, and :meth:`SearchIndex.analyzer` gives the query side the
  very same chain.
* Whoosh's ``Searcher`` is not meant to be shared between threads and does
  not notice new commits by itself: each thread keeps its own and refreshes
  it at most every ``refresh_seconds`` (0: at every search).
* Whoosh stores the index; we search it. Every query tree is matched and
  scored by :class:`_Evaluator` from term postings read in bulk (bitsets of
  documents, BM25F score arrays, phrase positions: :class:`_DocSets`,
  :class:`_PhraseScorer`), never by Whoosh's matchers and collectors:
  Whoosh 2.7.4's let excluded documents through in segments with deletions,
  counted a NOT inside an OR differently with the page size, and can loop
  for minutes in block-quality skipping (Whoosh #446, #461). The scores are
  Whoosh's BM25F, computed the way Whoosh computes them.
* Every step of a search checks one :class:`~search.deadline.Deadline`, and
  :meth:`SearchIndex.estimate` tells beforehand what a query will cost (the
  search service admits expensive ones one at a time).
* Prefix queries expand, from each segment's sorted lexicon
  (:class:`_Lexicon`, read once per segment), to the ``max_prefix_terms``
  most frequent terms; expansions are kept per index generation.
* Romanized words are read against the index's own terms: each segment's
  Devanagari terms are filed under their phonetic key (:mod:`search.romanized`)
  with its lexicon, once per segment, shared by all threads.
* A phrase with romanized words is searched as the best-weighted readings, capped.
* Whoosh's write lock (``WRITELOCK``) is an ``fcntl.flock``: the kernel
  releases it when the holder dies, so a killed writer never leaves a stale
  lock. A killed writer does leave its spill directories (``*.tmp``) and
  unreferenced segment files behind: :meth:`SearchIndex.remove_leftovers`
  clears them while the ingest lock is held, with the temporary tables of
  contents (``_MAIN_<n>.toc.<time>``) of a writer killed inside a commit. A
  commit becomes visible when the new table of contents is renamed into
  place, so a reader never sees a half-written commit.
* Durability and damage: Whoosh never calls ``fsync`` and keeps no checksums.
  Before a table of contents naming a new segment is renamed into place, the
  segment's files are summed (CRC-32, in a side file ``MAIN_<id>.sums``, as
  Lucene's checksum footers) and, with ``fsync`` (:class:`_Storage`), flushed
  to disk, then the table of contents, then the directory. An ingest checks
  every segment's sums when it opens the index, a server each segment once
  when it first sees it, so a damaged file is found before it answers a
  query wrongly; a decoding error while reading (``zlib.error`` and kin)
  becomes :class:`IndexUnavailable` too. Segments written before sums
  existed are read unverified.
* Ingest speed: most of Whoosh's indexing time is Python per posting. Our
  writer (:class:`_SegmentWriter`, written against Whoosh 2.7.4, which is
  pinned) adds documents without the generic per-token and per-posting
  bookkeeping our schema never needs, reads field lengths once per flush,
  and commits segments built by worker processes (:class:`SegmentBuilders`)
  beside its own. The postings written are the ones stock Whoosh writes.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import dataclasses
import datetime as dt
import errno
import functools
import heapq
import io
import itertools
import json
import math
import multiprocessing
import operator
import os
import pickle
import re
import shutil
import signal
import struct
import threading
import time
import zlib
from array import array
from collections import defaultdict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import whoosh.analysis
import whoosh.codec.whoosh3
import whoosh.columns
import whoosh.fields
import whoosh.filedb.filestore
import whoosh.formats
import whoosh.index
import whoosh.matching
import whoosh.reading
import whoosh.scoring
import whoosh.writing
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.searching import Searcher
from whoosh.system import pack_uint

from .analysis import ANALYSIS_VERSION, AnalysisOptions, Analyzer, words
from .config import Settings
from .deadline import NO_DEADLINE, Deadline, SearchTimeout
from .documents import Record
from .filtering import AllOf, Condition, FilterError, FilterNode, Negate
from .querying import And, AnyWords, Node, Not, Or, Phrase, Prefix, QueryError, Word
from .romanized import best_matches, candidate_keys, key
from .vocabulary import Vocabulary, fsync_directory

__all__ = [
    "SearchIndex",
    "IndexUnavailable",
    "IndexLocked",
    "IndexWriteFailed",
    "SegmentBuilders",
    "SearchTimeout",
    "ResultSet",
    "Ranking",
    "STORED_FIELDS",
]

#: Stored fields, as returned for each hit.
STORED_FIELDS = ("id", "title", "body", "url", "published", "source", "category", "hash")
TEXT_FIELDS = ("title", "body")
#: Words of a hit's body that feedback reads (a cost bound for very long documents).
_FEEDBACK_WORDS = 5_000
#: Long queries whose feedback words a thread keeps per index generation, for their next pages.
_FEEDBACK_REMEMBERED = 256
#: Document frequencies a thread keeps per index generation for feedback's candidate words
#: (a hit's distinctive words recur from query to query; about 100 bytes each).
_FREQUENCIES_REMEMBERED = 20_000

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


@dataclass(frozen=True)
class Ranking:
    """How matching documents are scored. Defaults are the settings' defaults
    (``Settings`` says what each means), so they are declared once."""

    k1: float = Settings.bm25_k1
    b: float = Settings.bm25_b
    title_boost: float = Settings.title_boost
    lead_boost: float = Settings.lead_boost
    #: Weight of a pair of consecutive words of a long query found near each
    #: other (within ``proximity_slop`` positions, in order), against one word.
    proximity_boost: float = Settings.proximity_boost
    proximity_slop: int = Settings.proximity_slop
    #: Pseudo-relevance feedback of long any-word queries (see :meth:`SearchIndex._feedback`).
    feedback_terms: int = Settings.feedback_terms
    feedback_docs: int = Settings.feedback_docs
    feedback_weight: float = Settings.feedback_weight
    feedback_after: int = Settings.feedback_after


class IndexUnavailable(RuntimeError):
    """The index is missing or cannot be opened; the message says why."""


class IndexLocked(RuntimeError):
    """Another writer holds the index lock."""


class IndexWriteFailed(RuntimeError):
    """A worker process building part of a batch failed; the batch was not committed."""


#: What decoding a damaged file raises (a flipped bit in a compressed block, a
#: pickle or a packed number cut short): taken for damage when the segments
#: read have no sums to tell.
_DECODING_ERRORS = (zlib.error, pickle.UnpicklingError, struct.error, EOFError, UnicodeDecodeError)
#: What else damaged data can make Whoosh raise; taken for damage only when a
#: segment's files disagree with their sums (otherwise it is a bug, and stands).
_READING_ERRORS = _DECODING_ERRORS + (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError, AssertionError)


def _reads_index(method: Callable[..., Any]) -> Callable[..., Any]:
    """A :class:`SearchIndex` method that reads segment data: an error that damaged
    files raised becomes :class:`IndexUnavailable` (see :meth:`SearchIndex._damaged_by`)."""

    @functools.wraps(method)
    def reading(self: "SearchIndex", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (QueryError, FilterError):
            raise
        except _READING_ERRORS as exc:
            unavailable = self._damaged_by(exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    return reading


@dataclass
class ResultSet:
    """What :meth:`SearchIndex.find` found: exact total, the top hits, facet counts."""

    total: int
    hits: list[tuple[float, dict[str, Any]]]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


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
    term frequency BM25 sees). Measured in README, Relevance.
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


class SearchIndex:
    """A Whoosh index directory: open it for searching, or write to it."""

    def __init__(
        self, ix: whoosh.index.Index, path: str, refresh_seconds: float = 1.0, ranking: Ranking | None = None,
        cache_bytes: int = 32 << 20, positions_bytes: int = 64 << 20,
    ) -> None:
        self._ix = ix
        self.path = path
        self.refresh_seconds = refresh_seconds
        self.ranking = ranking or Ranking()
        self._local = threading.local()
        #: Half the cache: decoded postings of the segments, shared by threads and
        #: generations; the other half: each thread's document sets and scores.
        self._segments = _SegmentCache(self._decode_postings, _postings_size, cache_bytes // 2)
        self._thread_cache_bytes = cache_bytes // 4
        tokenizer: HindiTokenizer = ix.schema["body"].analyzer
        if tokenizer.version != ANALYSIS_VERSION:
            raise IndexUnavailable(
                f"the index at {path!r} was built with analysis version {tokenizer.version}, "
                f"this code analyses text with version {ANALYSIS_VERSION}: "
                "move the directory away and ingest the documents again"
            )
        self.options = tokenizer.options
        self.analyzer = shared_analyzer(self.options)
        #: Each segment's sorted terms and phonetic keys, by segment id (see :meth:`lexicons`).
        self._lexicons: dict[str, _Lexicon] = {}
        self._lexicons_filed = threading.Condition()
        self._lexicons_filing = False  # a thread reads new segments' lexicons
        #: Romanized words' readings, by word and the lexicons read against (shared by threads).
        self._readings: dict[tuple[Any, ...], list[tuple[str, float]]] = {}
        #: Word positions for phrases (:class:`_Occurrences`), kept the same way.
        self._positions = _SegmentCache(_all_occurrences, _occurrences_size, positions_bytes)
        #: Segment ids whose files were checked against their sums in this process
        #: (once each: segment files never change), those that had no sums to check,
        #: and those found damaged, with the reason.
        self._checked: set[str] = set()
        self._unsummed: set[str] = set()
        self._damaged: dict[str, str] = {}
        self._rechecked: set[str] = set()  # checked again after a decoding error
        self._check_lock = threading.Lock()

    # -- opening -----------------------------------------------------------

    @classmethod
    def open(
        cls, path: str, refresh_seconds: float = 1.0, ranking: Ranking | None = None,
        cache_bytes: int = 32 << 20, positions_bytes: int = 64 << 20, *, fsync: bool = True,
    ) -> "SearchIndex":
        """Open an existing index, or raise :class:`IndexUnavailable` saying why.

        Every segment's files are checked against their sums first (:meth:`check_files`).
        ``fsync``: what this process writes is flushed to disk at each commit (:class:`_Storage`).
        """
        if not os.path.isdir(path):
            raise IndexUnavailable(f"no index directory at {path!r}: run ingest first")
        try:
            if not whoosh.index.exists_in(path):
                raise IndexUnavailable(f"{path!r} holds no index: run ingest first")
            # No mmap: Whoosh 2.7.4 copies each mapped compound segment file whole
            # into a BytesIO (its BufferFile), 150 MB of heap per process at 55,737 documents.
            ix = _Storage(path, fsync=fsync).open_index()
            ix.doc_count()
        except IndexUnavailable:
            raise
        except Exception as exc:  # Whoosh raises many kinds on a damaged index
            raise IndexUnavailable(
                f"the index at {path!r} cannot be opened ({type(exc).__name__}: {exc}); "
                "rebuild it: ingest --rebuild with all the documents"
            ) from exc
        _check_schema(ix.schema, path)
        index = cls(ix, path, refresh_seconds, ranking, cache_bytes, positions_bytes)
        index.check_files()
        return index

    @classmethod
    def open_or_create(
        cls, path: str, options: AnalysisOptions | None = None, *, rebuild: bool = False, fsync: bool = True,
    ) -> "SearchIndex":
        """Open the index at ``path``, creating directory and index when missing.

        Never writes into a damaged index (:class:`IndexUnavailable`, as from
        :meth:`open`), into another application's Whoosh index, or into a
        directory holding other files than an index (a wrong ``--index``).
        ``rebuild`` starts a new, empty index in place of an existing, damaged
        or foreign one at once (its old files go at the next
        :meth:`remove_leftovers`); it too refuses a directory of other files.
        What a killed writer left (:data:`_OWN_FILE_RE`) is never taken for
        other files.
        """
        os.makedirs(path, exist_ok=True)
        names = os.listdir(path)
        if any(_TOC_RE.match(n) for n in names):
            if not rebuild:
                return cls.open(path, fsync=fsync)
        else:
            foreign = sorted(n for n in names if not n.startswith(".") and not _OWN_FILE_RE.match(n))
            if foreign:
                raise IndexUnavailable(
                    f"{path!r} holds no index but other files ({', '.join(foreign[:3])}): "
                    "is it the right directory? Give a new or empty one"
                )
        if fsync:  # the directory's own entry (it may be new), or a power cut could lose the whole index
            fsync_directory(os.path.dirname(os.path.abspath(path)))
        # With mmap, as whoosh.index.create_in has it: a run that creates the index reads
        # its own new segments faster so (merging them, reading their lengths back).
        ix = _Storage(path, fsync=fsync, mmap=True).create_index(_schema(options or AnalysisOptions()))
        return cls(ix, path)

    def check_files(self) -> None:
        """Check every segment of the last commit: its files against their sums, and
        read it once; :class:`IndexUnavailable` when one is damaged (a flipped bit, a
        truncated or missing file), so nothing is ever written on top of it."""
        with self._ix.searcher() as searcher:
            segments = _leaf_segments(searcher)
            for segment in segments:
                self._check_segment(segment, again=True)
            damage = [self._damaged[s.segment_id()] for s in segments if s.segment_id() in self._damaged]
            if damage:
                raise IndexUnavailable(self._damage_message(damage[0]))
            try:
                for reader, _ in searcher.reader().leaf_readers():
                    for name in ("title", "body"):
                        reader.frequency(name, "")  # opens the term index
                    if reader.doc_count_all():
                        reader.stored_fields(reader.doc_count_all() - 1)
                        reader.doc_field_length(reader.doc_count_all() - 1, "body")
            except Exception as exc:  # Whoosh raises many kinds on a damaged file
                raise IndexUnavailable(
                    f"the index at {self.path!r} is damaged ({type(exc).__name__}: {exc}); "
                    "rebuild it: ingest --rebuild with all the documents"
                ) from exc

    def unsummed_segments(self) -> int:
        """How many segments of the last commit have no sums (written before they existed): not verified."""
        return sum(1 for seg in self._ix._segments() if seg.segment_id() in self._unsummed)

    def _check_segment(self, segment: Any, *, again: bool = False) -> None:
        """Check ``segment``'s files against its sums, once per process (``again``: even if done)."""
        segment_id = segment.segment_id()
        if segment_id in self._checked and not again:
            return
        with self._check_lock:
            if segment_id in self._checked and not again:
                return
            state, reason = _segment_state(self._ix.storage, segment)
            if state == "missing" and segment_id not in {s.segment_id() for s in self._ix._segments()}:
                state = "gone"  # merged away by a commit since this searcher opened: not damage
            if state in ("damaged", "missing"):
                self._damage(segment_id, reason)
            elif state == "unsummed":
                self._unsummed.add(segment_id)
            self._checked.add(segment_id)

    def _damage(self, segment_id: str, reason: str) -> None:
        # A new dict, not a change to the old one: searcher() reads it without the lock.
        self._damaged = {**self._damaged, segment_id: reason}

    def _damage_message(self, reason: str) -> str:
        return (
            f"the index at {self.path!r} is damaged: {reason}; searches are refused rather than answered "
            "from damaged data: rebuild it: ingest --rebuild with all the documents"
        )

    def _damaged_by(self, exc: BaseException) -> IndexUnavailable | None:
        """Whether ``exc``, raised while reading, comes from damaged files: the
        :class:`IndexUnavailable` to raise instead (recorded, so /health says so
        from now on), or None (not damage, e.g. a bug: the error stands).

        The segments of this thread's searcher are checked against their sums
        again (once per segment after an error). A decoding error
        (:data:`_DECODING_ERRORS`) in an index with segments that have no sums is
        taken for damage; any other error only when a sum disagrees.
        """
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            return None
        segments = _leaf_segments(searcher)
        for segment in segments:
            if segment.segment_id() not in self._rechecked:
                self._rechecked.add(segment.segment_id())
                self._check_segment(segment, again=True)
        damaged = [self._damaged[s.segment_id()] for s in segments if s.segment_id() in self._damaged]
        if damaged:
            return IndexUnavailable(self._damage_message(damaged[0]))
        unsummed = [s.segment_id() for s in segments if s.segment_id() in self._unsummed]
        if unsummed and isinstance(exc, _DECODING_ERRORS):
            reason = (
                f"reading it failed ({type(exc).__name__}: {exc}), in one of {len(unsummed)} segment(s) "
                "written before checksums existed"
            )
            for segment_id in unsummed:
                self._damage(segment_id, reason)
            return IndexUnavailable(self._damage_message(reason))
        return None

    # -- reading -----------------------------------------------------------

    def searcher(self) -> Searcher:
        """This thread's searcher, refreshed when a writer has committed since.

        A segment it has not seen before is first checked against its sums (once
        per process); :class:`IndexUnavailable` while it holds a damaged one."""
        local = self._local
        searcher: Searcher | None = getattr(local, "searcher", None)
        now = time.monotonic()
        if searcher is None:
            weighting = whoosh.scoring.BM25F(B=self.ranking.b, K1=self.ranking.k1)
            local.searcher = self._ix.searcher(weighting=weighting)
            local.docsets = _DocSets(local.searcher, self._segments, self._thread_cache_bytes, self._lexicons)
            local.checked = now
            local.segment_ids = self._see(local.searcher)
        elif now - local.checked >= self.refresh_seconds:
            local.checked = now
            if not searcher.up_to_date():
                local.searcher = searcher.refresh()
                local.docsets = _DocSets(local.searcher, self._segments, self._thread_cache_bytes, self._lexicons)  # the sets belong to one generation
                local.segment_ids = self._see(local.searcher)
        damaged = self._damaged
        if damaged and not damaged.keys().isdisjoint(local.segment_ids):
            reason = next(damaged[s] for s in sorted(local.segment_ids) if s in damaged)
            raise IndexUnavailable(self._damage_message(reason))
        return local.searcher

    def _see(self, searcher: Searcher) -> frozenset[str]:
        """The ids of ``searcher``'s segments, each checked against its sums when new to this process."""
        segments = _leaf_segments(searcher)
        for segment in segments:
            self._check_segment(segment)
        return frozenset(s.segment_id() for s in segments)

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    @_reads_index
    def stored(self, doc_id: str) -> dict[str, Any] | None:
        """The stored fields of one document, or None."""
        return self.searcher().document(id=doc_id)

    def _decode_postings(self, reader: Any, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        return _decode_postings(reader, field, term, self._lexicons.get(_segment_id(reader) or ""))

    def lexicons(self, *, wait: bool = False, deadline: Deadline = NO_DEADLINE) -> list[tuple[Any, "_Lexicon | None"]]:
        """``(segment reader, its lexicon)`` for every segment of this thread's searcher;
        the lexicon is None while the segment's terms are still being read.

        A segment's lexicon (its sorted terms with their document frequencies, and
        its Devanagari terms filed under their phonetic keys: see :class:`_Lexicon`)
        is read once, then shared by every thread and generation (segments never
        change). :meth:`warm_up` reads them all as a server starts; the segments
        a later commit adds are read by a background thread (a 5,000-document
        segment takes about 0.1 s), and meanwhile prefixes are expanded from the
        segment's term index directly and its new words are not read from Latin
        script, so no search waits for them. ``wait`` waits until every segment
        of this searcher is read, up to ``deadline``.
        """
        found: list[tuple[Any, _Lexicon | None]] = []
        missing = False
        for sub, _ in self.searcher().leaf_searchers():
            reader = sub.reader()
            segment_id = _segment_id(reader)
            if segment_id is None:  # an empty index
                continue
            lexicon = self._lexicons.get(segment_id)
            missing = missing or lexicon is None
            found.append((reader, lexicon))
        if not missing:
            self._forget_lexicons({id(lexicon) for _, lexicon in found})
            return found
        self._file_lexicons()
        if not wait:
            return found
        while True:
            with self._lexicons_filed:
                found = [(reader, self._lexicons.get(_segment_id(reader))) for reader, _ in found]
                if all(lexicon is not None for _, lexicon in found):
                    return found
                filing = self._lexicons_filing
                if filing:
                    deadline.check()
                    self._lexicons_filed.wait(min(0.1, deadline.remaining() or 0.1))
                    continue
            # The filing thread read a later commit, which no longer has these segments
            # (merged away meanwhile): read them here.
            for reader, lexicon in found:
                if lexicon is None:
                    deadline.check()
                    read = _read_lexicon(reader)
                    with self._lexicons_filed:
                        self._lexicons.setdefault(_segment_id(reader) or "", read)

    def _file_lexicons(self) -> None:
        """Read, in a background thread, the lexicons of the latest commit's segments that have none."""
        with self._lexicons_filed:
            if self._lexicons_filing:
                return
            self._lexicons_filing = True
        threading.Thread(target=self._read_lexicons, daemon=True).start()

    def _read_lexicons(self) -> None:
        """The filing thread: with a searcher of its own (Whoosh's readers are not shared)."""
        try:
            with self._ix.searcher() as searcher:
                for reader, _ in searcher.reader().leaf_readers():
                    segment_id = _segment_id(reader)
                    if segment_id is not None and segment_id not in self._lexicons:
                        lexicon = _read_lexicon(reader, pause=0.005)
                        with self._lexicons_filed:
                            self._lexicons[segment_id] = lexicon
                            self._lexicons_filed.notify_all()
        except Exception:  # noqa: BLE001 - a closed or damaged index: the searches report it
            pass
        finally:
            with self._lexicons_filed:
                self._lexicons_filing = False
                self._lexicons_filed.notify_all()

    def _forget_lexicons(self, live: set[int]) -> None:
        """Drop the lexicons of segments merged away (kept up to a few spare)."""
        if len(self._lexicons) > 2 * len(live) + 8:
            with self._lexicons_filed:
                for segment_id in [k for k, m in self._lexicons.items() if id(m) not in live]:
                    del self._lexicons[segment_id]

    def roman_keys(self, *, wait: bool = False, deadline: Deadline = NO_DEADLINE) -> list[dict[str, tuple[str, ...]]]:
        """Phonetic key -> the Devanagari terms filed under it, one map per segment
        read so far (:meth:`lexicons`); waits for them all when ``wait`` or when none is read yet."""
        found = self.lexicons(deadline=deadline)
        if wait or (found and all(lexicon is None for _, lexicon in found)):
            found = self.lexicons(wait=True, deadline=deadline)
        return [lexicon.roman for _, lexicon in found if lexicon is not None]

    def warm_up(self, phrase_share: float = Settings.phrase_warm_share) -> None:
        """Read what the first searches of a new server would otherwise wait for:
        every segment's lexicon (prefixes, phonetic keys), and the positions of
        the words in at least ``phrase_share`` of a segment's documents (:meth:`warm_phrases`)."""
        self.lexicons(wait=True)
        self.warm_phrases(phrase_share)

    @_reads_index
    def read_roman(
        self, word: str, *, limit: int = 8, min_score: float = 0.6, deadline: Deadline = NO_DEADLINE
    ) -> list[tuple[str, float]]:
        """The Devanagari index terms a romanized ``word`` may stand for, with a
        closeness weight, best first (``bharat`` -> ``[("भारत", 1.0), ...]``)."""
        maps = self.roman_keys(deadline=deadline)
        wanted = (word, limit, min_score, tuple(map(id, maps)))
        found = self._readings.get(wanted)
        if found is None:
            terms = {t for k in candidate_keys(word) for keys in maps for t in keys.get(k, ())}
            found = best_matches(word, sorted(terms), limit=limit, min_score=min_score)
            if len(self._readings) >= _READINGS_REMEMBERED:
                self._readings.clear()
            self._readings[wanted] = found
        return list(found)

    def generation(self) -> int:
        """The commit this thread's searcher reads (it grows with every commit)."""
        return self.searcher().reader().generation()

    @_reads_index
    def estimate(self, node: Node | None, *, max_prefix_terms: int = 50, budget: int = 1 << 62,
                 deadline: Deadline = NO_DEADLINE) -> int:
        """About how long answering ``node`` will take, in microseconds, before anything is
        read: from document frequencies (from the lexicons), which postings are kept in
        memory already, and the prefixes' expansions (which the search then reuses).
        Counting stops once past ``budget``. The search service admits expensive queries
        one at a time by it."""
        searcher = self.searcher()
        docsets: _DocSets = self._local.docsets
        compiler = _Compiler(self, searcher, docsets, self.ranking, max_prefix_terms, deadline)
        return _estimate(node, compiler, docsets, budget, self._positions)

    @_reads_index
    def find(
        self,
        node: Node | None,
        *,
        limit: int,
        offset: int = 0,
        max_prefix_terms: int = 50,
        filter: FilterNode | None = None,
        facets: Sequence[str] = (),
        sort: str = "relevance",
        time_limit: float = 0.0,
        deadline: Deadline | None = None,
    ) -> ResultSet:
        """Search with a filter, facet counts over the whole result set and a sort order.

        ``node`` None matches every document (for /stats and browsing by filter).
        ``sort`` is ``relevance``, ``published`` or ``-published``. The hits are
        the ``limit`` after the first ``offset`` (a page), the total and facets
        count every match. ``deadline`` (or a positive ``time_limit`` in
        seconds) bounds all of it: past it, :class:`SearchTimeout` is raised
        between two steps, so a pathological query cannot hold a worker.
        """
        if deadline is None:
            deadline = Deadline(time_limit)
        deadline.check()
        return self._find(node, offset, limit, max_prefix_terms, filter, facets, sort, deadline)

    def _find(
        self, node: Node | None, offset: int, limit: int, max_prefix_terms: int, filter: FilterNode | None,
        facets: Sequence[str], sort: str, deadline: Deadline,
    ) -> ResultSet:
        searcher = self.searcher()
        docsets: _DocSets = self._local.docsets
        if node is not None:
            node = _blend_readings(node, docsets.frequency, searcher.doc_count_all())
        compiler = _Compiler(self, searcher, docsets, self.ranking, max_prefix_terms, deadline)
        memo = _SearchMemo(searcher)
        ranking = self.ranking
        window = offset + limit
        if not (
            isinstance(node, AnyWords) and sort == "relevance" and ranking.feedback_terms > 0
            and ranking.feedback_docs > 0 and window > ranking.feedback_after
        ):
            found = self._run(compiler, memo, node, window, filter, facets, sort, deadline)
            return _page(found, memo, offset, limit)
        # Feedback: the first feedback_after hits as the query ranks them, the rest
        # re-ranked with the words of the best feedback_docs (whatever the page size).
        found = self._run(compiler, memo, node, max(window, ranking.feedback_docs), filter, facets, sort, deadline)
        kept = found.top[: ranking.feedback_after]
        again = None
        if len(found.top) > len(kept):
            try:
                # Optional work: at most half the time left, so the answer keeps time for its snippets.
                rerun = deadline.share(0.5)
                extra = self._feedback(node, filter, [memo.stored(d) for _, d in found.top[: ranking.feedback_docs]])
                if extra:
                    rerun.check()
                    compiler.deadline = rerun
                    again = self._run(compiler, memo, node, window, filter, (), sort, rerun, extra)
            except SearchTimeout:  # the search itself succeeded: answer it without feedback
                pass
            compiler.deadline = deadline
        if again is None:
            return _page(found, memo, offset, limit)
        seen = {d for _, d in kept}
        rest = [hit for hit in again.top if hit[1] not in seen]
        found.top = kept + rest[: window - len(kept)]
        return _page(found, memo, offset, limit)

    def _feedback(self, node: AnyWords, filter: FilterNode | None, texts: list[dict[str, Any]]) -> list[tuple[str, float]]:
        """Pseudo-relevance feedback: ``[(body term, boost)]`` of the words that best
        characterise the best hits of a long query (their stored ``texts``).

        A headline shares few words with its story, and those words are common
        to hundreds of stories; the best hits' other distinctive words (each
        weighted by its share of a hit's words times its idf, summed over the
        hits) find the stories about the same event further down. They only
        re-rank documents the query matched (see :meth:`_find`). This thread
        keeps them for the query's next pages while the index generation lives.
        """
        docsets: _DocSets = self._local.docsets
        remembered = docsets.feedback
        words = remembered.get((node, filter))
        if words is None:
            words = self._feedback_words(self.searcher().doc_count(), docsets.frequency, node, texts)
            if len(remembered) >= _FEEDBACK_REMEMBERED:
                del remembered[next(iter(remembered))]
            remembered[(node, filter)] = words
        return words

    def _feedback_words(
        self, live: int, frequency: Callable[[str, str], int], node: AnyWords, texts: list[dict[str, Any]]
    ) -> list[tuple[str, float]]:
        """:meth:`_feedback`'s words, drawn from the stored ``texts`` of the best hits
        (``live`` documents in the index, ``frequency(field, term)`` its document frequency)."""
        ranking = self.ranking
        own: set[str] = set()  # the query's own terms, every reading
        for child in node.children:
            if isinstance(child, (Word, Phrase)):
                own.update(child.terms)
            if isinstance(child, Phrase) and child.alternatives:
                own.update(t for terms in child.alternatives for t in terms)
        share: dict[str, float] = defaultdict(float)  # a term's share of each hit's words, summed
        count: dict[str, int] = defaultdict(int)
        for stored in texts:
            tokens = list(itertools.islice(self.analyzer.tokens(stored.get("body") or ""), _FEEDBACK_WORDS))
            for token in tokens:
                if not token.stop and token.term not in own:
                    share[token.term] += 1 / len(tokens)
                    count[token.term] += 1
        # A word met once in the hits (most of them) never made the difference in
        # the evaluation; skipping it saves most of the term-index look-ups.
        weights: dict[str, float] = {}
        for term, n in count.items():
            if n >= 2:
                df = frequency("body", term)
                if df:
                    weights[term] = share[term] * math.log(live / (df + 1))
        best = heapq.nlargest(ranking.feedback_terms, weights.items(), key=lambda kv: (kv[1], kv[0]))
        return [(term, ranking.feedback_weight) for term, weight in best if weight > 0]

    def _run(
        self, compiler: "_Compiler", memo: "_SearchMemo", node: Node | None, window: int,
        filter: FilterNode | None, facets: Sequence[str], sort: str, deadline: Deadline,
        extra: Sequence[tuple[str, float]] = (),
    ) -> "_Found":
        """One search: every match counted (and its facets), the best ``window`` ranked.

        ``extra`` (body terms with boosts, only with an :class:`AnyWords` node)
        adds to the scores of the documents the query matches without matching
        any others (feedback)."""
        docsets = compiler.docsets
        allowed = docsets.filter(filter) if filter is not None else None
        evaluator = _Evaluator(compiler, self._phrase_scorer(compiler), scoring=sort == "relevance", allowed=allowed)
        if sort == "relevance" and isinstance(node, AnyWords):
            matched, top = _AnyWordsScorer(compiler, evaluator).run(
                node, max(window, 1), allowed, extra, memo.any_words
            )
            total = len(matched)
            bits = _bitset(matched, docsets.size) if facets else 0
        else:
            assert not extra
            bits = docsets.live() if node is None else evaluator.matches(node)
            if allowed is not None:
                bits &= allowed
            members = _members(bits, docsets.size)
            total = len(members)
            if sort != "relevance":
                top = docsets.by_date(members, sort.startswith("-"), window)
            elif node is None:  # everything, in index order
                top = [(1.0, d) for d in members[:window].tolist()]
            elif not total:
                top = []
            else:
                scores = np.zeros(docsets.size)
                evaluator.add_scores(node, scores, exact=False)
                deadline.check()
                top = _best(scores[members], members, window)
        counted = {}
        for name in facets:
            deadline.check()
            counted[name] = docsets.facet(name, bits)
        return _Found(total, top, counted)

    def _phrase_scorer(self, compiler: "_Compiler") -> "_PhraseScorer":
        return _PhraseScorer(compiler.searcher, compiler.docsets, self._positions, compiler)

    def warm_phrases(self, share: float) -> int:
        """Read now the positions of every word found in at least ``share`` of the documents
        of a segment (title or body), so that the first phrases with them are fast;
        returns how many (segment, field, word) were read. See :class:`_SegmentCache`."""
        warmed = 0
        if share <= 0:
            return warmed
        segments = self.lexicons()
        for field in TEXT_FIELDS:  # this thread's document lengths, as phrases score with them
            self._local.docsets.norms(field)
        for reader, lexicon in segments:
            least = share * reader.doc_count_all()
            for field in TEXT_FIELDS:
                if lexicon is not None:
                    common = [lexicon.terms[field][i] for i in np.flatnonzero(lexicon.frequencies[field] >= least)]
                else:
                    common = [t.decode("utf-8") for t, info in reader.iter_field(field) if info.doc_frequency() >= least]
                for term in common:
                    self._positions.get(reader, field, term)
                warmed += len(common)
        return warmed

    def iter_stored(self) -> Iterator[dict[str, Any]]:
        """The stored fields of every live document (for rebuilding side files)."""
        try:
            yield from self.searcher().reader().all_stored_fields()
        except _READING_ERRORS as exc:
            unavailable = self._damaged_by(exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    @_reads_index
    def doc_frequency(self, term: str) -> int:
        """In how many documents ``term`` occurs, in title or body (the larger)."""
        reader = self.searcher().reader()
        return max(reader.doc_frequency(f, term) for f in TEXT_FIELDS)

    def files(self) -> dict[str, Any]:
        """Size in bytes of the index directory and the time of its last commit (UTC, ISO)."""
        size, latest = 0, 0.0
        for entry in os.scandir(self.path):
            if entry.is_file():
                try:
                    info = entry.stat()
                except FileNotFoundError:  # deleted since the listing: a commit cleaning up
                    continue
                size += info.st_size
                if entry.name.endswith(".toc"):
                    latest = max(latest, info.st_mtime)
        last = dt.datetime.fromtimestamp(latest, dt.timezone.utc).isoformat(timespec="seconds") if latest else None
        return {"index_bytes": size, "last_commit": last}

    def close(self) -> None:
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None

    # -- writing -----------------------------------------------------------

    def remove_leftovers(self) -> None:
        """Delete what a killed or failed writer left: spill directories, unreferenced
        segment files (and their sums), temporary tables of contents and vocabulary files.

        Only call this while holding the ingest lock (no writer is running).
        """
        live = {seg.segid for seg in self._ix._segments()}
        for name in os.listdir(self.path):
            full = os.path.join(self.path, name)
            if name.endswith(".tmp") and os.path.isdir(full):
                shutil.rmtree(full, ignore_errors=True)
                continue
            match = _SEGMENT_FILE_RE.match(name)
            if (match and match["segid"] not in live) or _TEMP_FILE_RE.match(name):
                try:
                    os.remove(full)
                except OSError:
                    pass

    def segment_count(self) -> int:
        """How many segments the last commit has (a search runs once per segment)."""
        return len(self._ix._segments())

    def merge_segments(self, timeout: float = 0.0) -> None:
        """Merge every segment into one, in a commit of its own (deleted documents are dropped).

        Only call this while holding the ingest lock. Searches go on meanwhile
        on the previous commit, and see the merged index at their next refresh.
        """
        try:
            # Whoosh's own writer, not ours: its merge spills sorted runs to disk
            # (``limitmb``), where ours would hold every posting of the index in memory.
            w = _MergingWriter(self._ix, timeout=timeout, limitmb=256, codec=_codec())
        except whoosh.index.LockError as exc:
            raise IndexLocked(f"another ingest is writing to {self.path!r}") from exc
        try:
            w.commit(optimize=True)
        except BaseException:
            w.cancel()
            raise

    def writer(
        self, timeout: float = 0.0, builders: SegmentBuilders | None = None, vocabulary: Vocabulary | None = None
    ) -> "Writer":
        """A writer holding the index lock; raises :class:`IndexLocked` after ``timeout`` s.

        With ``builders``, worker processes index a share of the documents. The
        words of the documents this process adds are counted in ``vocabulary``;
        :meth:`Writer.commit` returns the counts of the workers' documents.
        """
        try:
            w = _SegmentWriter(self._ix, timeout=timeout, limitmb=256, codec=_codec())
        except whoosh.index.LockError as exc:
            raise IndexLocked(f"another ingest is writing to {self.path!r}") from exc
        w.vocabulary = vocabulary
        return Writer(w, builders)


#: ``MAIN_<16-character segment id>.<ext>``: the files of one segment (its sums included).
_SEGMENT_FILE_RE = re.compile(r"^[A-Za-z]\w*?_(?P<segid>[a-z0-9]{16})\.[\w.]+$")
#: ``_MAIN_<generation>.toc``: a commit's table of contents; its presence makes a directory an index.
_TOC_RE = re.compile(r"^_MAIN_\d+\.toc$")
#: Temporary files a writer killed before it renamed them leaves: Whoosh's table of
#: contents (``_MAIN_<generation>.toc.<time>``), the vocabulary's (``.vocabulary-XXXXXXXX``).
_TEMP_FILE_RE = re.compile(r"^(_MAIN_\d+\.toc\.[\d.]+|\.vocabulary-\w+)$")
#: Files an index directory may hold besides an index: locks, side files, leftovers of a killed writer.
_OWN_FILE_RE = re.compile(
    r"^(INGEST\.lock|\w*WRITELOCK|vocabulary\.\w+|.*\.tmp|_MAIN_\d+\.toc|_MAIN_\d+\.toc\.[\d.]+"
    r"|[A-Za-z]\w*?_[a-z0-9]{16}\.[\w.]+)$"
)
#: Our side file of each segment: its files' sizes and CRC-32s (see :func:`_seal`).
_SUMS_EXT = ".sums"
_SUMS_FORMAT = 1
_READ_CHUNK = 1 << 20


def _file_sum(path: str, fsync: bool = False) -> tuple[int, int]:
    """``(size, CRC-32)`` of the file at ``path``; with ``fsync``, its data is flushed to disk too."""
    crc, size = 0, 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(_READ_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
        if fsync:
            os.fsync(f.fileno())
    return size, crc


class _Storage(whoosh.filedb.filestore.FileStorage):
    """Whoosh's file storage (without mmap unless asked), durable with ``fsync``: a file renamed
    into place (a table of contents) is flushed to disk before the rename and the
    directory after it. The segment files it names are flushed before, by :func:`_seal`."""

    def __init__(self, path: str, fsync: bool = True, mmap: bool = False) -> None:
        super().__init__(path, supports_mmap=mmap)
        self.fsync = fsync

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        if self.fsync and not self.readonly:
            fd = os.open(self._fpath(oldname), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        super().rename_file(oldname, newname, safe)
        if self.fsync:
            fsync_directory(self.folder)


def _seal(storage: Any, segment: Any) -> None:
    """Write the sizes and CRC-32s of a new segment's files beside them
    (``MAIN_<id>.sums``), with ``storage.fsync`` flushing files and sums to disk:
    called before the table of contents naming the segment is renamed into place."""
    fsync = getattr(storage, "fsync", False)
    sums = {}
    for name in sorted(segment.list_files(storage)):
        if not name.endswith(_SUMS_EXT):
            sums[name] = _file_sum(storage._fpath(name), fsync)
    stream = storage.create_file(segment.make_filename(_SUMS_EXT))
    try:
        stream.write(json.dumps({"format": _SUMS_FORMAT, "crc32": sums}, sort_keys=True).encode("ascii"))
        stream.flush()
        if fsync:
            os.fsync(stream.file.fileno())
    finally:
        stream.close()


def _segment_state(storage: Any, segment: Any) -> tuple[str, str]:
    """``("ok", "")``, ``("unsummed", "")`` (no sums: written before they existed),
    ``("missing", reason)`` (a file is gone: damage, unless a commit merged the segment
    away meanwhile), or ``("damaged", reason)``: a file is cut short or changed."""
    sums_name = segment.make_filename(_SUMS_EXT)
    try:
        with open(storage._fpath(sums_name), "rb") as f:
            saved = json.loads(f.read())
        expected = {str(name): (int(size), int(crc)) for name, (size, crc) in saved["crc32"].items()}
        if saved["format"] != _SUMS_FORMAT or not expected:
            raise ValueError("no sums")
    except FileNotFoundError:
        return "unsummed", ""
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return "damaged", f"the checksums of segment {segment.segment_id()} cannot be read ({sums_name}: {exc})"
    for name, (size, crc) in sorted(expected.items()):
        try:
            found_size, found_crc = _file_sum(storage._fpath(name))
        except FileNotFoundError:
            return "missing", f"{name} is missing"
        except OSError as exc:
            return "damaged", f"{name} cannot be read ({exc.strerror or exc})"
        if found_size != size:
            return "damaged", f"{name} has {found_size:,} bytes where {size:,} were written"
        if found_crc != crc:
            return "damaged", f"{name} does not match its checksum (its bytes changed on disk since it was written)"
    return "ok", ""


def _leaf_segments(searcher: Searcher) -> list[Any]:
    """The segments a searcher reads (none for an empty index)."""
    return [r.segment() for r, _ in searcher.reader().leaf_readers() if r.segment() is not None]


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


class _SealsSegments:
    """Mixin for a Whoosh ``SegmentWriter``: each segment its commit adds is sealed
    (:func:`_seal`) before the new table of contents is written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._committed_ids = {s.segment_id() for s in self.segments}

    def _commit_toc(self, segments: list[Any]) -> None:
        for segment in segments:
            if segment.segment_id() not in self._committed_ids:
                _seal(self.storage, segment)
        super()._commit_toc(segments)  # type: ignore[misc]


class _MergingWriter(_SealsSegments, whoosh.writing.SegmentWriter):
    """Whoosh's own writer, for merging (:meth:`SearchIndex.merge_segments`), sealing its segment."""


# --------------------------------------------------------------------------
# Test hook: storage faults and crashes. ``SEARCH_FAULT_INJECT=ENOSPC:3`` makes
# the 3rd file the index storage creates in this process, and every one after
# it, fail with OSError(ENOSPC), as a full disk would; ``EROFS:1`` and
# ``EACCES:1`` stand for a read-only or forbidden directory. ``KILL:3`` creates
# the 3rd file, then kills the process with SIGKILL (a crash at that point of
# a commit). A third part ``:vocabulary`` aims at the vocabulary's side file
# instead: the Nth save (and every later one) writes half the file, then fails
# with the error, or is killed. Counts are per process (worker processes count
# their own). Only tests set it (tests/test_faults.py):
# it is how they prove a failed or killed write leaves the last commit
# searchable and nothing behind, without root rights or a special filesystem.
# --------------------------------------------------------------------------

FAULT_INJECT_ENV = "SEARCH_FAULT_INJECT"


def _install_fault_hook(spec: str) -> None:
    """Wrap Whoosh's ``FileStorage.create_file``, or the vocabulary's write, to fail as
    ``spec`` says (``ERRNO:N``, ``KILL:N``, optionally ``:vocabulary``)."""
    what, _, rest = spec.partition(":")
    count, _, target = rest.partition(":")
    what, target = what.strip().upper(), target.strip().lower() or "index"
    kill = what == "KILL"
    code = getattr(errno, what, None)
    if not (kill or isinstance(code, int)) or not count.strip().isdigit() or target not in ("index", "vocabulary"):
        raise ValueError(
            f"{FAULT_INJECT_ENV}={spec!r}: expected ERRNO:N or KILL:N, then optionally :vocabulary, e.g. ENOSPC:3"
        )
    fail_from = int(count)
    calls = 0

    def strike(path: str) -> None:
        if kill:
            os.kill(os.getpid(), signal.SIGKILL)
        raise OSError(code, f"{os.strerror(code)} (injected by {FAULT_INJECT_ENV})", path)

    if target == "vocabulary":
        from . import vocabulary as module

        write = module._write_text

        def write_text(stream: Any, text: str, path: str) -> None:
            nonlocal calls
            calls += 1
            if calls < fail_from:
                return write(stream, text, path)
            write(stream, text[: len(text) // 2], path)
            stream.flush()
            strike(path)

        module._write_text = write_text  # type: ignore[assignment]
        return

    original = whoosh.filedb.filestore.FileStorage.create_file

    def create_file(storage: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls >= fail_from:
            if kill:
                original(storage, name, *args, **kwargs)
            strike(os.path.join(storage.folder, name))
        return original(storage, name, *args, **kwargs)

    whoosh.filedb.filestore.FileStorage.create_file = create_file  # type: ignore[method-assign]


if os.environ.get(FAULT_INJECT_ENV):
    _install_fault_hook(os.environ[FAULT_INJECT_ENV])


class _FieldLengths:
    """Every document's field lengths of a new segment, read once into memory.

    Each posting block records the shortest and longest field length of its
    documents. Whoosh's ``add_postings`` reads the length for every posting,
    a seek and read in the lengths column each; once per document is enough.
    They are read back rather than counted, so they are the lengths as stored
    (quantised to a byte), exactly the ones Whoosh's own writer uses.
    """

    def __init__(self, reader: Any, schema: whoosh.fields.Schema, doc_count: int) -> None:
        self._lengths = {
            name: [reader.doc_field_length(n, name) for n in range(doc_count)]
            for name in schema.scorable_names()
        }

    def of(self, fieldname: str) -> list[int] | None:
        """Every document's length of ``fieldname`` (by document number), None if not scorable."""
        return self._lengths.get(fieldname)


def _codec() -> Any:
    """Whoosh's default codec, but zlib level 1 for posting blocks instead of 3:
    compressing took a tenth of ingest time; any level reads back the same."""
    return whoosh.codec.whoosh3.W3Codec(compression=1)


class _SegmentWriter(_SealsSegments, whoosh.writing.SegmentWriter):
    """Whoosh's writer, building the new segment's postings in memory, grouped by
    term as they arrive, and able to commit segments built by worker processes
    beside its own.

    Stock Whoosh puts every posting into a pool as a tuple, sorts the pool
    (spilling runs to disk when large), then feeds the postings one at a time
    to the codec: most of its ingest time. Here postings go straight into
    ``field -> term -> [docnum, weight, value, ...]``; the flush sorts only
    the terms and writes each posting list block by block
    (:func:`_write_posting_list`). Segments merged in at commit (Whoosh's
    ``MERGE_SMALL``) come through the same dictionary, after this writer's own
    documents, so every list stays in document order.
    """

    #: Where the words of each added document are counted (None: nowhere).
    vocabulary: Vocabulary | None = None

    #: Called at commit once this writer's own segment is written: the segments
    #: that worker processes wrote meanwhile (so both are written at the same time).
    extra_segments: Callable[[], list[Any]] = staticmethod(list)  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: field -> term -> [docnum, weight, value, ...]
        self._postings: dict[str, dict[str, list[Any]]] = {}
        #: Plain ``ID`` fields: the whole value is the one term, weight the field boost, no value bytes.
        self._plain_ids = frozenset(
            name for name in self.schema.names()
            if type(self.schema[name]) is whoosh.fields.ID
            and type(self.schema[name].analyzer) is whoosh.analysis.IDTokenizer
            and type(self.schema[name].format) is whoosh.formats.Existence
        )
        # Stored fields: zlib level 1 with a small window instead of level 3
        # (half the cost per document, 4% larger; read back the same).
        stored = self.perdocwriter._colwriters["_stored"]._child
        stored._level = 1
        stored._compress = _compress_small_window
        #: Words of a text field indexed (SEARCH_MAX_INDEXED_WORDS; workers read it too): the rest are only stored.
        self.max_words = Settings.load().max_indexed_words

    def add_document(self, **fields: Any) -> None:
        """``SegmentWriter.add_document`` for our schema, without its per-posting overhead.

        Our fields have no boosts, spelling words, term vectors or custom
        stored values. Text fields add their postings themselves from one
        analysis of each text (:meth:`HindiText.add_postings`; the lead reuses
        the body's), a plain ``ID`` field adds its value as its one term, and
        any other indexed field goes through Whoosh's ``index``. The words of the
        text fields (title and body, see :func:`document_texts`) are counted in
        :attr:`vocabulary`, from the same tokenizing pass.
        """
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        postings = self._postings
        analysed: dict[str, dict[str, list[int]]] = {}  # text -> its term positions
        counted: list[str] = []  # the words of the text fields, for the vocabulary
        perdocwriter.start_doc(docnum)
        for fieldname in sorted(fields):
            value = fields[fieldname]
            field = schema[fieldname]
            length = 0
            if field.indexed:
                terms = postings.get(fieldname)
                if terms is None:
                    terms = postings[fieldname] = {}
                if fieldname in self._plain_ids:
                    entry = terms.get(value)
                    if entry is None:
                        terms[value] = [docnum, field.format.field_boost, b""]
                    else:
                        entry += (docnum, field.format.field_boost, b"")
                elif isinstance(field, (HindiText, LeadText)):
                    positions = analysed.get(value)
                    if positions is None:
                        found = words(value)
                        if len(found) > self.max_words:
                            del found[self.max_words :]
                        if type(field) is HindiText:
                            counted += found
                        positions = analysed[value] = shared_analyzer(field.analyzer.options).term_positions(value, found)
                    length = field.add_postings(positions, docnum, terms)
                else:
                    for tbytes, freq, weight, vbytes in field.index(value):
                        length += freq
                        term = tbytes.decode("utf-8")
                        entry = terms.get(term)
                        if entry is None:
                            terms[term] = [docnum, weight, vbytes]
                        else:
                            entry += (docnum, weight, vbytes)
                if not field.scorable:
                    length = 0
            perdocwriter.add_field(fieldname, field, value if field.stored else None, length)
            if field.column_type:
                perdocwriter.add_column_value(fieldname, field.column_type, field.to_column_value(value))
        perdocwriter.finish_doc()
        if self.vocabulary is not None:
            self.vocabulary.count_words(counted)
        self._added = True
        self.docnum += 1

    def add_postings_to_pool(self, reader: Any, startdoc: int, docmap: Any) -> None:
        """A segment merged in at commit: its postings join this writer's, after them."""
        postings = self._postings
        decoded: dict[bytes, str] = {}
        for fieldname, tbytes, docnum, weight, vbytes in self._process_posts(reader.iter_postings(), startdoc, docmap):
            terms = postings.get(fieldname)
            if terms is None:
                terms = postings[fieldname] = {}
            term = decoded.get(tbytes)
            if term is None:
                term = decoded[tbytes] = tbytes.decode("utf-8")
            entry = terms.get(term)
            if entry is None:
                terms[term] = [docnum, weight, vbytes]
            else:
                entry += (docnum, weight, vbytes)
        self._added = True

    def commit(self, mergetype: Any = None, optimize: Any = None, merge: Any = None) -> None:
        """``SegmentWriter.commit`` (Whoosh 2.7.4) plus :attr:`extra_segments` in the new TOC."""
        self._check_state()
        final = self._merge_segments(mergetype, optimize, merge)
        if self._added:
            final.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(final + list(self.extra_segments()))
        self._finish()

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        reader = self.per_document_reader() if self.codec.length_stats else None
        lengths = _FieldLengths(reader, self.schema, self.docnum) if reader else None
        fieldwriter = self.fieldwriter
        out = _PostingsOut(fieldwriter)
        postings, self._postings = self._postings, {}
        for fieldname in sorted(postings):
            terms = postings.pop(fieldname)
            if not terms:
                continue
            fieldobj = self.schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)
            doc_lengths = lengths.of(fieldname) if lengths is not None else None
            fixed_size = fieldobj.format.fixed_value_size()
            for term in sorted(terms):  # code point order is UTF-8 byte order
                _write_posting_list(out, term.encode("utf-8"), terms.pop(term), doc_lengths, fixed_size)
            fieldwriter.finish_field()
        fieldwriter.close()
        if reader:
            reader.close()


#: Posting blocks smaller than this (pickled) are stored uncompressed: zlib's
#: fixed cost per call outweighs what it saves on a few bytes (any reader
#: decompresses by the block's own flag, so both kinds read back the same).
_MIN_COMPRESSED_BLOCK = 256
#: zlib window for posting blocks and stored fields: 4 KB, about the size of a
#: large block or document, halves zlib's set-up cost per call; ``zlib.decompress``
#: reads any window size.
_ZLIB_WBITS = 12


def _compress_small_window(data: bytes, level: int) -> bytes:
    return zlib.compress(data, level, _ZLIB_WBITS)


#: Pickle protocol of posting block data. Whoosh writes protocol 2, which has no
#: opcode for bytes: each position value (a ``bytes``) becomes a call to
#: ``_codecs.encode`` of a latin-1 string, 3x slower to write and twice the size
#: after zlib. Protocol 4 writes bytes as bytes; ``pickle.loads`` (what Whoosh's
#: reader calls) reads any protocol to the same tuple. Block headers stay protocol 2.
_BLOCK_PICKLE_PROTOCOL = 4
#: ``W3TermInfo.to_bytes`` of a posting list that is not inlined.
_TERMINFO = struct.Struct("!BfIBBfIIqi")


class _PostingsOut:
    """Where :func:`_write_posting_list` writes: a ``W3FieldWriter``'s postings file and
    term index, with both file positions kept here. ``BufferedWriter.tell()`` is an
    ``lseek`` system call, and Whoosh asks it three times per term."""

    def __init__(self, fieldwriter: Any) -> None:
        self.fieldwriter = fieldwriter
        self.codec = fieldwriter._codec
        self.postfile = fieldwriter._postfile
        self.post_pos: int = self.postfile.tell()
        self.tindex = fieldwriter._tindex
        self.tfile = self.tindex.dbfile
        self.term_pos: int = self.tfile.tell()

    def add_term(self, keybytes: bytes, valbytes: bytes) -> None:
        """``OrderedHashWriter.add`` (Whoosh 2.7.4), with the position kept instead of asked."""
        tindex = self.tindex
        if keybytes <= tindex.lastkey:
            raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{keybytes!r}")
        pos = self.term_pos
        tindex.index.append(pos)
        record = _HASH_LENGTHS.pack(len(keybytes), len(valbytes)) + keybytes + valbytes
        self.tfile.write(record)
        h = tindex.hashfn(keybytes)
        tindex.buckets[h & 255].append((h, pos))
        tindex.lastkey = keybytes
        self.term_pos = pos + len(record)


#: ``filetables._lengths``: the key and value lengths before each hash file record.
_HASH_LENGTHS = struct.Struct("!ii")


def _write_posting_list(
    out: _PostingsOut, tbytes: bytes, flat: list[Any], doc_lengths: list[int] | None, fixed_size: int | None
) -> None:
    """Write one term's postings (``flat``: docnum, weight, value, ...) as Whoosh 2.7.4's
    ``W3FieldWriter`` would from one ``add`` per posting: the same blocks of
    ``blocklimit`` postings, block statistics, term info and decoded data,
    except that small blocks are not compressed (:data:`_MIN_COMPRESSED_BLOCK`)
    and block data is pickled with :data:`_BLOCK_PICKLE_PROTOCOL`.

    Runs once per term of every new segment, so it is written for speed: the
    term statistics are kept as ``W3TermInfo.add_block`` keeps them and packed
    as ``W3TermInfo.to_bytes`` packs them, without a block or term info object.
    """
    w3 = whoosh.codec.whoosh3
    codec = out.codec
    blocklimit = codec._blocklimit
    level = codec._compression
    dumps = w3.dumps
    length_to_byte = w3.length_to_byte
    pack_int = w3.pack_int
    pickle_dumps = pickle.dumps
    sub = operator.sub
    parts = [w3.WHOOSH3_HEADER_MAGIC]
    docnums = flat[0::3]
    weights = flat[1::3]
    values = flat[2::3]
    total = len(docnums)
    # the term's statistics, as W3TermInfo keeps them
    total_weight: float = 0
    term_min_length: int | None = None
    term_max_length = 0
    term_max_weight: float = 0
    for start in range(0, total, blocklimit):
        end = min(start + blocklimit, total)
        if total <= blocklimit:
            ids, ws, vs = docnums, weights, values
        else:
            ids, ws, vs = docnums[start:end], weights[start:end], values[start:end]
        n = end - start
        max_weight = max(0, max(ws))
        if ws.count(1.0) == n:  # most blocks: what the float32 array below would find too
            mini_weights: Any = None
            total_weight += float(n)
        else:
            block_weights = array("f", ws)
            total_weight += sum(block_weights)
            if block_weights.count(1.0) == n:
                mini_weights = None
            elif block_weights.count(block_weights[0]) == n:
                mini_weights = block_weights[0]
            else:
                mini_weights = tuple(block_weights)
        min_length: int | None = None
        max_length = 0
        if doc_lengths is not None:
            lengths = list(map(doc_lengths.__getitem__, ids))
            min_length = min(lengths)
            if min_length:
                max_length = max(lengths)
            else:  # only lengths that are not 0 count, as W3PostingsWriter counts them
                lengths = [length for length in lengths if length]
                min_length, max_length = (min(lengths), max(lengths)) if lengths else (None, 0)
        # W3TermInfo.add_block
        term_min_length = min_length if term_min_length is None else min(term_min_length, min_length)  # type: ignore[type-var]
        term_max_length = max(term_max_length, max_length)
        term_max_weight = max(term_max_weight, max_weight)
        # W3PostingsWriter._write_block
        deltas = (ids[0], *map(sub, ids[1:], ids)) if n > 1 else (ids[0],)
        if fixed_size is None or fixed_size < 0:
            if not all(vs):  # only values that are not empty are kept, as Whoosh does
                vs = [v for v in vs if v]
            mini_values: Any = tuple(vs)
        elif fixed_size == 0:
            mini_values = None
        else:
            mini_values = b"".join(vs)
        databytes = pickle_dumps((deltas, mini_weights, mini_values), _BLOCK_PICKLE_PROTOCOL)
        comp = level if len(databytes) >= _MIN_COMPRESSED_BLOCK else 0
        if comp:
            databytes = zlib.compress(databytes, comp, _ZLIB_WBITS)
        infobytes = dumps((n, ids[-1], max_weight, comp, length_to_byte(min_length), length_to_byte(max_length)), 2)
        blocklength = len(infobytes) + len(databytes)
        parts += (pack_int(-blocklength if end == total else blocklength), infobytes, databytes)
    data = b"".join(parts)
    offset = out.post_pos
    out.postfile.write(data)
    out.post_pos = offset + len(data)
    terminfo = _TERMINFO.pack(
        False, total_weight, total, 0 if term_min_length is None else length_to_byte(term_min_length),
        length_to_byte(term_max_length), term_max_weight, docnums[0], docnums[-1], offset, len(data),
    )
    out.add_term(w3.pack_ushort(out.fieldwriter._fieldid) + tbytes, terminfo)


def _watch_parent(parent: int) -> None:
    """In a worker: exit when the ingest process is gone (e.g. ``kill -9``), never linger.

    Workers ignore SIGINT and SIGTERM (a terminal's Ctrl-C and systemd's stop reach
    the whole process group): the ingest process handles them, finishes its batch
    with the workers' help, then shuts them down.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


#: In a worker process: the segment it is writing for the current batch, and
#: the vocabulary counts of its documents (kept for the whole run, as it
#: remembers how each word normalises; its counts are taken at each commit).
_WORKER_WRITER: Any = None
_WORKER_VOCABULARY: Vocabulary | None = None


def _worker_add(index_dir: str, docs: list[dict[str, str]], limitmb: int) -> None:
    """In a worker: add ``docs`` to this worker's segment of the current batch, and count their words."""
    global _WORKER_WRITER, _WORKER_VOCABULARY
    if _WORKER_WRITER is None:
        ix = whoosh.index.open_dir(index_dir)
        _WORKER_WRITER = _SegmentWriter(ix, _lk=False, limitmb=limitmb, codec=_codec())
        if _WORKER_VOCABULARY is None:
            _WORKER_VOCABULARY = Vocabulary(shared_analyzer(_text_options(ix.schema)))
        _WORKER_WRITER.vocabulary = _WORKER_VOCABULARY
    for fields in docs:
        _WORKER_WRITER.add_document(**fields)


def _worker_finish() -> tuple[Any, dict[str, Any]]:
    """In a worker: finish this batch's segment; return it (None if it got no documents)
    and the vocabulary counts of its documents (:meth:`Vocabulary.take_counts`)."""
    global _WORKER_WRITER
    writer, _WORKER_WRITER = _WORKER_WRITER, None
    if writer is None or _WORKER_VOCABULARY is None:
        return None, {}
    return writer._finalize_segment(), _WORKER_VOCABULARY.take_counts()


def _text_options(schema: whoosh.fields.Schema) -> AnalysisOptions:
    """The analysis options of the index's text fields (all share one analyzer)."""
    for name in schema.names():
        analyzer = getattr(schema[name], "analyzer", None)
        if isinstance(analyzer, HindiTokenizer):
            return analyzer.options
    raise IndexUnavailable("the index has no text field analysed by this product")


class SegmentBuilders:
    """Worker processes that index shares of each batch as segments of their own.

    Documents are routed as they arrive, in chunks, to the worker with the
    least work queued; while every worker has ``MAX_QUEUED`` chunks waiting,
    the ingest process (which also reads, checks and hashes every document)
    indexes the document itself, so the work balances itself between the
    processes whatever else runs on the machine. Each process writes one
    segment per batch and counts the vocabulary of the documents it indexed;
    at commit the workers' segments join the ingest's own in the new table of
    contents and their word counts join its vocabulary. Runs that add fewer
    than ``MIN_PARALLEL_DOCS`` documents never start a worker.

    Whoosh's ``MpWriter`` (``procs>1``) waits forever when a worker dies;
    here every call to a worker is a future, so a dead or failing worker
    raises :class:`IndexWriteFailed` in the ingest, which then cancels the
    batch. Workers are spawned (they inherit no file descriptors, so never
    the ingest lock) and exit by themselves when the ingest process dies.
    """

    MIN_PARALLEL_DOCS = 1000
    CHUNK = 200
    #: Chunks a worker may have waiting before the ingest process indexes documents itself.
    MAX_QUEUED = 2

    def __init__(self, index_dir: str, workers: int, limitmb: int = 256) -> None:
        self.index_dir = index_dir
        self.workers = workers
        self.limitmb = limitmb
        self._pools: list[ProcessPoolExecutor] = []
        self._chunks: list[list[dict[str, str]]] = [[] for _ in range(workers)]
        self._futures: list[Future] = []
        self._queued: list[list[Future]] = [[] for _ in range(workers)]
        self._seen = 0

    def route(self, fields: dict[str, str]) -> bool:
        """Take ``fields`` for a worker (True), or leave it to the ingest process (False).

        A worker that takes a document also counts its words for the vocabulary.
        """
        self._seen += 1
        if self._seen <= self.MIN_PARALLEL_DOCS:
            return False
        worker = min(range(self.workers), key=self._backlog)
        if self._backlog(worker) >= self.MAX_QUEUED * self.CHUNK:
            return False
        chunk = self._chunks[worker]
        chunk.append(fields)
        if len(chunk) >= self.CHUNK:
            self._send(worker)
        return True

    def _backlog(self, worker: int) -> int:
        """Documents given to ``worker`` that it has not indexed yet."""
        queued = self._queued[worker]
        while queued and queued[0].done():
            queued.pop(0)
        return len(queued) * self.CHUNK + len(self._chunks[worker])

    def _send(self, worker: int) -> None:
        if not self._pools:
            context = multiprocessing.get_context("spawn")
            self._pools = [
                ProcessPoolExecutor(1, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),))
                for _ in range(self.workers)
            ]
        chunk, self._chunks[worker] = self._chunks[worker], []
        try:
            future = self._pools[worker].submit(_worker_add, self.index_dir, chunk, self.limitmb)
        except BrokenProcessPool as exc:
            raise IndexWriteFailed(f"an indexing worker process died ({exc})") from exc
        self._futures.append(future)
        self._queued[worker].append(future)

    def finish(self, while_waiting: Callable[[], bool] | None = None) -> Callable[[], tuple[list[Any], list[dict[str, Any]]]]:
        """Tell the workers to write this batch's segments; returns the call that waits for
        them and gives their segments and vocabulary counts, or raises
        :class:`IndexWriteFailed` if any worker failed.

        The ingest process writes its own segment between the two, while the workers write theirs.
        While it waits for them, it calls ``while_waiting`` (e.g. to read the next
        records ahead) until that returns False or the workers are done.
        """
        for worker, chunk in enumerate(self._chunks):
            if chunk:
                self._send(worker)
        if not self._pools:
            return lambda: ([], [])
        futures, self._futures = self._futures, []
        self._queued = [[] for _ in range(self.workers)]
        try:
            finishing = [pool.submit(_worker_finish) for pool in self._pools]
        except BrokenProcessPool as exc:
            raise IndexWriteFailed(f"an indexing worker process died ({exc})") from exc

        def collect() -> tuple[list[Any], list[dict[str, Any]]]:
            if while_waiting is not None:
                while not all(f.done() for f in finishing) and while_waiting():
                    pass
            try:
                concurrent.futures.wait(futures + finishing)
                for f in futures:
                    f.result()
                finished = [f.result() for f in finishing]
                return [seg for seg, _ in finished if seg is not None], [counts for _, counts in finished if counts]
            except BrokenProcessPool as exc:
                raise IndexWriteFailed(f"an indexing worker process died ({exc})") from exc
            except Exception as exc:
                raise IndexWriteFailed(f"an indexing worker process failed: {exc!r}") from exc

        return collect

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools = []


def _doc_fields(record: Record, content_hash: str) -> dict[str, str]:
    fields = {k: v for k, v in record.__dict__.items() if v}
    fields["hash"] = content_hash
    if record.body:
        fields["lead"] = record.body  # the same string: pickled once when sent to a worker
    return fields


class Writer:
    """Adds, replaces and deletes documents; nothing is visible before :meth:`commit`."""

    def __init__(self, writer: Any, builders: SegmentBuilders | None = None) -> None:
        self._w = writer
        self._builders = builders
        self._searcher = writer.searcher()

    def indexed_hashes(self) -> dict[str, str]:
        """``{id: content hash}`` of every committed document, read from the columns.

        One pass per segment instead of a lookup per document: per-document
        lookups cost more with every segment. Indexes built before the
        columns existed are read from the stored fields (slower, same answer).
        """
        hashes: dict[str, str] = {}
        reader = self._searcher.reader()
        for segment, _ in reader.leaf_readers():
            if segment.has_column("id") and segment.has_column("hash"):
                ids = segment.column_reader("id")
                values = segment.column_reader("hash")
                for n in range(segment.doc_count_all()):
                    if not segment.is_deleted(n):
                        hashes[ids[n]] = values[n]
            else:
                for fields in segment.all_stored_fields():
                    hashes[fields["id"]] = fields.get("hash", "")
        return hashes

    def stored_fields(self, doc_id: str) -> dict[str, Any] | None:
        """The committed stored fields of ``doc_id`` (e.g. to un-count its words), or None."""
        return self._searcher.document(id=doc_id)

    def put(self, record: Record, content_hash: str, *, replace: bool) -> None:
        """Add ``record`` (replacing the committed document of its id when ``replace``).

        Its words are counted in the writer's vocabulary, or by the worker process
        that takes it (:meth:`commit` returns those counts).
        """
        if replace:
            self._w.delete_by_term("id", record.id)
        fields = _doc_fields(record, content_hash)
        if self._builders is None or not self._builders.route(fields):
            self._w.add_document(**fields)

    def delete(self, doc_id: str) -> int:
        return self._w.delete_by_term("id", doc_id)

    def ids_with_source(self, source: str) -> list[str]:
        """Ids of the committed documents whose ``source`` is ``source`` ("" = none given)."""
        searcher = self._searcher
        if source:
            return [searcher.stored_fields(n)["id"] for n in searcher.document_numbers(source=source)]
        return [f["id"] for f in searcher.reader().all_stored_fields() if not f.get("source")]

    def commit(self, while_waiting: Callable[[], bool] | None = None) -> list[dict[str, Any]]:
        """Make every change visible at once; :class:`IndexWriteFailed` if a worker failed.

        Returns the vocabulary counts (:meth:`Vocabulary.take_counts`) of the
        documents worker processes took (see :meth:`put`). ``while_waiting``:
        see :meth:`SegmentBuilders.finish`.
        """
        counts: list[dict[str, Any]] = []
        if self._builders is not None:
            collect = self._builders.finish(while_waiting)

            def worker_segments() -> list[Any]:
                segments, worker_counts = collect()
                counts.extend(worker_counts)
                return segments

            self._w.extra_segments = worker_segments
        self._searcher.close()
        self._w.commit()
        return counts

    def cancel(self) -> None:
        """Drop the uncommitted changes, and the files Whoosh opened for the new segment."""
        self._searcher.close()
        self._w.cancel()
        segid = self._w.newsegment.segid
        folder = self._w.storage.folder
        for name in os.listdir(folder):
            match = _SEGMENT_FILE_RE.match(name)
            if match and match["segid"] == segid:
                try:
                    os.remove(os.path.join(folder, name))
                except OSError:
                    pass


def _segment_id(reader: Any) -> str | None:
    """The id of the segment ``reader`` reads (None for an empty index's reader)."""
    try:
        return reader.segment().segment_id()
    except AttributeError:
        return None


@dataclass
class _Lexicon:
    """One segment's title and body terms, sorted, with their document frequencies,
    and its Devanagari terms filed under their phonetic keys.

    Prefixes are expanded from it (a binary search, then the slice's
    frequencies) and romanized words read against it (:meth:`SearchIndex.read_roman`);
    reading a segment's term index through Whoosh costs about 9 µs a term,
    several seconds for a broad two-letter prefix over a large index.
    """

    terms: dict[str, list[str]]
    frequencies: dict[str, np.ndarray]
    #: Where each term's postings are in the segment's postings file: offset and length
    #: (length -1: the postings are inlined in the term index; Whoosh reads those).
    extents: dict[str, np.ndarray]
    #: Phonetic key -> the Devanagari terms of title and body filed under it (``brt`` -> ``("भारत", ...)``).
    roman: dict[str, tuple[str, ...]]

    def find(self, field: str, term: str) -> int:
        """The position of ``term`` among ``field``'s terms, or -1 when the segment lacks it."""
        terms = self.terms.get(field)
        if not terms:
            return -1
        at = bisect.bisect_left(terms, term)
        return at if at < len(terms) and terms[at] == term else -1

    def frequency(self, field: str, term: str) -> int:
        at = self.find(field, term)
        return int(self.frequencies[field][at]) if at >= 0 else 0

    def prefixed(self, field: str, prefix: str) -> tuple[list[str], np.ndarray]:
        """The terms of ``field`` starting with ``prefix``, and their document frequencies."""
        terms = self.terms.get(field)
        if not terms:
            return [], np.zeros(0, np.int64)
        first = bisect.bisect_left(terms, prefix)
        last = bisect.bisect_left(terms, prefix + "\U0010ffff", first)
        return terms[first:last], self.frequencies[field][first:last]


def _read_lexicon(reader: Any, pause: float = 0.0) -> _Lexicon:
    """A segment's :class:`_Lexicon`. ``pause``: seconds to sleep after every 2,000
    terms, so that a background thread leaves the searches beside it in the same
    process most of the interpreter."""
    terms: dict[str, list[str]] = {field: [] for field in LEXICON_FIELDS}
    frequencies: dict[str, list[int]] = {field: [] for field in LEXICON_FIELDS}
    extents: dict[str, list[tuple[int, int]]] = {field: [] for field in LEXICON_FIELDS}
    buckets: dict[str, set[str]] = defaultdict(set)
    for n, (field, term, df, extent) in enumerate(_lexicon_items(reader), 1):
        terms[field].append(term)
        frequencies[field].append(df)
        extents[field].append(extent)
        if field in TEXT_FIELDS and not term.isascii():
            buckets[key(term)].add(term)
        if pause and n % 2000 == 0:
            time.sleep(pause)
    return _Lexicon(
        terms,
        {f: np.array(dfs, dtype=np.int64) for f, dfs in frequencies.items()},
        {f: np.array(e, dtype=np.int64).reshape(-1, 2) for f, e in extents.items()},
        {k: tuple(sorted(v)) for k, v in buckets.items()},
    )


#: The fields a lexicon holds: the searched ones (the lead for its postings).
LEXICON_FIELDS = (*TEXT_FIELDS, "lead")
#: ``W3TermInfo``'s fixed part (flags, weight, document frequency, lengths, max weight, ids),
#: followed by the postings' offset and length, or by the inlined postings.
_TERMINFO_HEAD = struct.Struct("!BfIBBfII")
_TERMINFO_EXTENT = struct.Struct("!qi")


def _lexicon_items(reader: Any) -> Iterator[tuple[str, str, int, tuple[int, int]]]:
    """``(field, term, document frequency, (postings offset, length))`` of every term of
    a segment's :data:`LEXICON_FIELDS`, in term order: read from Whoosh 2.7's term
    table in one piece (each record is ``!ii`` key and value lengths, the key a
    2-byte field number and the term's UTF-8, the value a ``W3TermInfo``), or
    through Whoosh's reader for any other codec (extent ``(0, -1)``: ask Whoosh)."""
    terms = getattr(reader, "_terms", None)
    if isinstance(terms, whoosh.codec.whoosh3.W3TermsReader):
        table = terms._tindex
        wanted = {terms._fieldmap[f]: f for f in LEXICON_FIELDS if f in terms._fieldmap}
        data = table.dbfile.get(table.startofdata, table.endofdata - table.startofdata)
        unpack = _HASH_LENGTHS.unpack_from
        head, extent = _TERMINFO_HEAD.unpack_from, _TERMINFO_EXTENT.unpack_from
        inlined = (0, -1)
        position, end = 0, len(data)
        while position < end:
            key_length, value_length = unpack(data, position)
            start = position + 8
            field = wanted.get(data[start] << 8 | data[start + 1])
            if field is not None:
                value = start + key_length
                flags, _, df, _, _, _, _, _ = head(data, value)
                yield (
                    field, data[start + 2 : value].decode("utf-8"), df,
                    inlined if flags else extent(data, value + _TERMINFO_HEAD.size),
                )
            position = start + key_length + value_length
        return
    for field in LEXICON_FIELDS:
        for tbytes, info in reader.iter_field(field):
            yield field, tbytes.decode("utf-8"), info.doc_frequency(), (0, -1)


def _prefixed_terms(reader: Any, field: str, prefix: str, deadline: Deadline) -> Iterator[tuple[str, int]]:
    """``(term, document frequency)`` of the terms of one segment's field starting with
    ``prefix``, from its term index (for a segment whose lexicon is still being read)."""
    try:
        for n, (tbytes, info) in enumerate(reader.iter_prefix(field, prefix)):
            if n % 256 == 255:
                deadline.check()
            yield tbytes.decode("utf-8"), info.doc_frequency()
    except (KeyError, whoosh.reading.TermNotFound):  # no such field in this segment
        return


class _Compiler:
    """What the nodes of a query tree stand for in this index, for one search:
    the fields a word is looked for in (with their weights), the terms a prefix
    expands to, the readings of romanized words that earn the nearby bonus."""

    def __init__(
        self, index: "SearchIndex", searcher: Searcher, docsets: "_DocSets", ranking: Ranking,
        max_prefix_terms: int, deadline: Deadline,
    ) -> None:
        self.index = index
        self.searcher = searcher
        self.reader = searcher.reader()
        self.docsets = docsets
        self.ranking = ranking
        self.max_prefix_terms = max_prefix_terms
        self.deadline = deadline

    def fields(self, field: str | None) -> Iterable[tuple[str, float]]:
        """The fields (with weights) a phrase or prefix is looked for in."""
        if field:
            return [(field, 1.0)]
        return [("title", self.ranking.title_boost), ("body", 1.0)]

    def word_fields(self, node: Word) -> Iterable[tuple[str, float]]:
        """The fields a word is looked for in: also the lead (the body's
        opening words, which hold no positions, so phrases skip it)."""
        fields = self.fields(node.field)
        if node.field is None and self.ranking.lead_boost > 0:
            return [*fields, ("lead", self.ranking.lead_boost)]
        return fields

    def expand(self, field: str, prefix: str) -> tuple[list[str], list[int]]:
        """The ``max_prefix_terms`` most frequent index terms of ``field`` starting with
        ``prefix`` (in term order when all are kept), and their document frequencies.

        Kept per index generation: a search box asks for the same prefixes again
        and again, and a flood of prefix queries costs a dictionary look-up each."""
        wanted = (field, prefix, self.max_prefix_terms)
        cached = self.docsets.expansions.pop(wanted, None)
        if cached is None:
            counts: dict[str, int] = {}
            get = counts.get
            for reader, lexicon in self.index.lexicons(deadline=self.deadline):
                if lexicon is not None:
                    terms, dfs = lexicon.prefixed(field, prefix)
                    pairs: Iterable[tuple[str, int]] = zip(terms, dfs.tolist())
                else:
                    pairs = _prefixed_terms(reader, field, prefix, self.deadline)
                for term, df in pairs:
                    counts[term] = get(term, 0) + df
                self.deadline.check()
            ordered = sorted(counts)  # code point order is the term index's order
            if len(ordered) > self.max_prefix_terms:
                ordered.sort(key=lambda t: -counts[t])
                ordered = ordered[: self.max_prefix_terms]
            cached = (ordered, [counts[t] for t in ordered])
            if len(self.docsets.expansions) >= _EXPANSIONS_REMEMBERED:
                del self.docsets.expansions[next(iter(self.docsets.expansions))]
        self.docsets.expansions[wanted] = cached  # most recently used last
        return cached

    def nearby(self, node: And) -> list[tuple[tuple[str, ...], float]] | None:
        """For romanized words, the readings whose words standing together earn a
        bonus: ``bharat rus`` ranks ``भारत और रूस`` above two words far apart.

        Each romanized word has several readings, and a document that has one
        reading of each far apart is often a wrong reading; the right one
        usually stands together. Queries without romanized words have none.
        """
        words = [c for c in node.children if isinstance(c, Word) and c.field is None]
        if len(words) < 2 or all(w.weights is None for w in words):
            return None
        return _best_readings(
            [w.terms for w in words],
            [w.weights or (1.0,) * len(w.terms) for w in words],
            MAX_PHRASE_READINGS,
        )


#: Romanized words whose readings an index keeps (a search box repeats them as it is typed into).
_READINGS_REMEMBERED = 10_000
#: Prefix expansions a thread keeps per index generation.
_EXPANSIONS_REMEMBERED = 512


# --------------------------------------------------------------------------
# Counting with cached document sets (query speed)
# --------------------------------------------------------------------------


class _SegmentCache:
    """What was read of a term in one segment (postings, or positions), shared by every
    thread and index generation of a :class:`SearchIndex`.

    Segments never change (a commit adds segments and deletion marks), so after
    a commit only the new segments are read: the first searches of a new
    generation do not read the whole index again. Deleted documents are kept
    in what is read (a later generation may delete more); :class:`_DocSets`
    leaves them out. Least recently used terms are dropped past ``budget``
    bytes. ``read(reader, field, term)`` reads a term; ``sizeof`` says what
    keeping it costs.
    """

    def __init__(self, read: Callable[[Any, str, str], Any], sizeof: Callable[[Any], int], budget: int) -> None:
        self.read = read
        self.sizeof = sizeof
        self.budget = budget
        self.size = 0
        self._items: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def cached(self, reader: Any, field: str, term: str) -> Any:
        """What is kept of ``term`` in the segment ``reader`` reads, or None."""
        key = (reader.segment().segment_id(), field, term)
        with self._lock:
            found = self._items.pop(key, None)
            if found is not None:
                self._items[key] = found  # most recently used last
        return found

    def holds(self, reader: Any, field: str, term: str) -> bool:
        """Whether ``term`` of the segment ``reader`` reads is kept (without marking it used)."""
        return (_segment_id(reader), field, term) in self._items

    def get(self, reader: Any, field: str, term: str) -> Any:
        """``term`` in the segment ``reader`` reads: kept, or read now (and kept)."""
        try:
            key = (reader.segment().segment_id(), field, term)
        except AttributeError:  # not a segment reader (an empty index): nothing to keep
            return self.read(reader, field, term)
        found = self.cached(reader, field, term)
        if found is not None:
            return found
        found = self.read(reader, field, term)  # outside the lock: threads read in parallel
        size = self.sizeof(found)
        with self._lock:
            if key not in self._items:
                while self._items and self.size + size > self.budget:
                    self.size -= self.sizeof(self._items.pop(next(iter(self._items))))
                self._items[key] = found
                self.size += size
        return found


_NO_POSTINGS = (np.zeros(0, np.int32), np.zeros(0, np.float32))
_NO_POSTINGS[0].flags.writeable = _NO_POSTINGS[1].flags.writeable = False


def _decode_postings(
    reader: Any, field: str, term: str, lexicon: _Lexicon | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings in one segment as (document numbers, weights), deleted documents included.

    Reads Whoosh 2.7's W3 posting list with one file read and takes its
    blocks apart in memory (each: length, pickled block info, the pickled and
    maybe zlib-compressed gaps, weights and values); anything else (a term
    whose one posting is inlined in the term index, another codec) through
    Whoosh's matcher, posting by posting. With the segment's ``lexicon`` the
    postings are found without a look-up in the term index (several small
    reads each): a term the segment lacks costs no read at all.
    """
    terms = getattr(reader, "_terms", None)
    if not isinstance(terms, whoosh.codec.whoosh3.W3TermsReader):
        return _matcher_postings(reader, field, term)
    if lexicon is not None and field in lexicon.terms:
        at = lexicon.find(field, term)
        if at < 0:
            return _NO_POSTINGS
        offset, length = (int(v) for v in lexicon.extents[field][at])
    else:
        try:
            info = terms.term_info(field, reader.schema[field].to_bytes(term))
        except (KeyError, whoosh.reading.TermNotFound):
            return _NO_POSTINGS
        offset, length = (0, -1) if info.is_inlined() else info.extent()
        if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves struct.unpack's tuple
            (length,) = length
    if length < 0:  # inlined in the term index
        return _matcher_postings(reader, field, term)
    id_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    for count, _, data, compressed in _w3_blocks(terms._postfile.get(offset, length)):
        gaps, weights = pickle.loads(zlib.decompress(data) if compressed else data)[:2]
        ids = np.array(gaps, dtype=np.int32)
        np.cumsum(ids, out=ids)
        id_parts.append(ids)
        weight_parts.append(np.array(_block_weights(weights, count), dtype=np.float32))
    return _frozen(id_parts, weight_parts)


#: The length before each W3 posting block (negative for the last one).
_BLOCK_SIZE = struct.Struct("!i")


def _w3_blocks(raw: bytes) -> Iterator[tuple[int, int, bytes, int]]:
    """The blocks of a term's whole W3 posting list (one read of its extent):
    ``(postings, last document number, data, compressed)`` each, where ``data``
    pickles (gaps, weights, values), zlib-compressed when ``compressed``."""
    if raw[:4] != whoosh.codec.whoosh3.WHOOSH3_HEADER_MAGIC:
        raise IndexUnavailable("a posting list is damaged (no W3 block header): ingest --rebuild")
    stream = io.BytesIO(raw)
    position = 4
    while position < len(raw):
        (size,) = _BLOCK_SIZE.unpack_from(raw, position)
        stream.seek(position + 4)
        count, last_id, _, compressed, _, _ = pickle.load(stream)  # the block's info
        position += 4 + abs(size)
        yield count, last_id, raw[stream.tell() : position], compressed
        if size < 0:  # the last block
            return


def _block_weights(weights: Any, count: int) -> Sequence[float]:
    """A W3 block's weights as stored (None: all 1.0; one float: all that) -> one per posting."""
    if weights is None:
        return [1.0] * count
    if isinstance(weights, float):
        return [weights] * count
    return weights


def _matcher_postings(reader: Any, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        matcher = reader.postings(field, term)
    except (KeyError, whoosh.reading.TermNotFound):
        return _NO_POSTINGS
    if isinstance(matcher, whoosh.matching.FilterMatcher):  # the segment has deletions: keep them
        matcher = matcher.child
    docs, weights = [], []
    while matcher.is_active():
        docs.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return _frozen([np.array(docs, dtype=np.int32)], [np.array(weights, dtype=np.float32)])


def _frozen(id_parts: list[np.ndarray], weight_parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One array of each, read-only: they are shared between threads."""
    if not id_parts:
        return _NO_POSTINGS
    ids = np.concatenate(id_parts) if len(id_parts) > 1 else id_parts[0]
    weights = np.concatenate(weight_parts) if len(weight_parts) > 1 else weight_parts[0]
    ids.flags.writeable = weights.flags.writeable = False
    return ids, weights


class _DocSets:
    """What the searches of one searcher (one thread, one index generation) keep.

    Whoosh's top-N collector skips posting blocks that cannot reach the top
    N, so it does not know how many documents matched and runs the whole
    query a second time to count them; facets make it score every match.
    Here a term's documents are kept as a Python ``int`` used as a bitset
    (bit n = document n; 7 KB at 55,000 documents), so a total is a few
    ``|``/``&`` and one ``bit_count``, and a term's BM25F scores as arrays
    (:meth:`scored`), so a query is scored with a few array operations per
    term instead of Python calls per posting. Both are kept while the
    generation lives, least recently used dropped past ``budget`` bytes each.
    Deleted documents are never in them.
    """

    def __init__(
        self, searcher: Searcher, segments: _SegmentCache, budget: int = 8 << 20,
        lexicons: dict[str, _Lexicon] | None = None,
    ) -> None:
        self.searcher = searcher
        self.segments = segments
        #: The index's segment lexicons by segment id (filled as they are read; see SearchIndex.lexicons).
        self.lexicons = lexicons if lexicons is not None else {}
        self.size = searcher.doc_count_all()
        self.budget = budget
        self.terms: dict[tuple[str, str], int] = {}
        self.terms_size = 0
        self.filters: dict[FilterNode, int] = {}
        self.columns: dict[str, tuple[list[str], np.ndarray]] = {}
        self.lengths: dict[str, np.ndarray] = {}
        self.scores: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self.scores_size = 0
        self.frequencies: dict[tuple[str, str], int] = {}
        #: In how many segments a term is, where the lexicons told (see :meth:`cost`).
        self.presence: dict[tuple[str, str], int] = {}
        #: The feedback words of recent long queries (with their filter), oldest first.
        self.feedback: dict[tuple[Node, FilterNode | None], list[tuple[str, float]]] = {}
        #: Prefix expansions (see :meth:`_Compiler.expand`), oldest first.
        self.expansions: dict[tuple[str, str, int], tuple[list[str], list[int]]] = {}
        self._deleted: np.ndarray | None = None
        self._live: int | None = None

    def term(self, key: tuple[str, str]) -> int:
        """Every live document with term ``key[1]`` in field ``key[0]``, as a bitset."""
        cached = self.terms.pop(key, None)
        if cached is None:
            cached = _bitset(self.postings(*key)[0], self.size)
            size = cached.bit_length() // 8
            while self.terms and self.terms_size + size > self.budget:
                self.terms_size -= self.terms.pop(next(iter(self.terms))).bit_length() // 8
            self.terms_size += size
        self.terms[key] = cached  # most recently used last
        return cached

    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """``(document numbers, weights)`` of every live document with the term, in order."""
        ids_parts, weight_parts = [], []
        for sub, offset in self.searcher.leaf_searchers():
            ids, weights = self.segments.get(sub.reader(), field, term)
            if len(ids):
                ids_parts.append(ids + offset if offset else ids)
                weight_parts.append(weights)
        # Whoosh's document frequency counts deleted documents' postings too
        self._remember_frequency((field, term), sum(map(len, ids_parts)))
        if not ids_parts:
            return _NO_POSTINGS
        ids = np.concatenate(ids_parts) if len(ids_parts) > 1 else ids_parts[0]
        weights = np.concatenate(weight_parts) if len(weight_parts) > 1 else weight_parts[0]
        deleted = self.deleted()
        if deleted is not None:
            keep = ~deleted[ids]
            ids, weights = ids[keep], weights[keep]
        return ids, weights

    def frequency(self, field: str, term: str) -> int:
        """Whoosh's document frequency of a term (deleted documents' postings
        counted), remembered: feedback asks for some 70 a query, romanized
        words for their readings', the cost estimate for every term."""
        n = self.frequencies.get((field, term))
        if n is None:
            n = self._lookup_frequency(field, term)
            self._remember_frequency((field, term), n)
        return n

    def cost(self, field: str, term: str, positions: "_SegmentCache | None" = None) -> float:
        """What reading a term's postings (with ``positions``: its phrase positions) will
        take, in microseconds (see :func:`_estimate`): decoding each posting list from its
        file, or, for a term whose postings are kept already, the arrays' work only."""
        df = self.frequency(field, term)
        if not df:
            return _COST_PER_TERM_KEPT
        leaves = self.searcher.leaf_searchers()
        first = leaves[0][0].reader() if leaves else None
        cache = positions if positions is not None else self.segments
        kept = first is not None and cache.holds(first, field, term)
        if positions is None:
            kept = kept or (field, term) in self.scores
        if positions is not None:
            per_posting, kept_share = _COST_PER_POSITIONS, _COST_KEPT_POSITIONS_SHARE
        else:
            per_posting, kept_share = _COST_PER_POSTING, _COST_KEPT_SHARE
        if kept:
            return df * per_posting * kept_share + _COST_PER_TERM_KEPT
        return df * per_posting + _COST_PER_LIST * self.presence.get((field, term), len(leaves))

    def _lookup_frequency(self, field: str, term: str) -> int:
        """From the segments' lexicons (binary searches in memory) when all are read, else
        from the term index (several small reads a segment). Also notes in how many
        segments the term is (:attr:`presence`), for :meth:`cost`."""
        found = segments = 0
        for sub, _ in self.searcher.leaf_searchers():
            lexicon = self.lexicons.get(_segment_id(sub.reader()) or "")
            if lexicon is None or field not in lexicon.terms:
                return self.searcher.doc_frequency(field, term)
            df = lexicon.frequency(field, term)
            found += df
            segments += df > 0
        if len(self.presence) >= _FREQUENCIES_REMEMBERED:
            del self.presence[next(iter(self.presence))]
        self.presence[(field, term)] = segments
        return found

    def _remember_frequency(self, key: tuple[str, str], n: int) -> None:
        if len(self.frequencies) >= _FREQUENCIES_REMEMBERED:
            del self.frequencies[next(iter(self.frequencies))]
        self.frequencies[key] = n

    def deleted(self) -> np.ndarray | None:
        """Which documents are deleted (a boolean per document); None when none is."""
        if self._deleted is None:
            mask = np.zeros(self.size, dtype=bool)
            for sub, offset in self.searcher.leaf_searchers():
                reader = sub.reader()
                if reader.has_deletions():
                    try:
                        gone = list(reader.segment().deleted_docs())
                    except (AttributeError, NotImplementedError):
                        gone = [d for d in range(reader.doc_count_all()) if reader.is_deleted(d)]
                    mask[np.array(gone, dtype=np.int64) + offset] = True
            self._deleted = mask
        return self._deleted if self._deleted.any() else None

    def norms(self, field: str) -> np.ndarray:
        """BM25's length part ``K1 * ((1 - B) + B * length / average)`` of every document's field."""
        cached = self.lengths.get(field)
        if cached is None:
            B, K1 = self.searcher.weighting.B, self.searcher.weighting.K1
            avgfl = self.searcher.avg_field_length(field) or 1
            # Whoosh keeps each length as one byte: one norm per byte value.
            table = np.array([K1 * ((1 - B) + B * byte_to_length(b) / avgfl) for b in range(256)])
            lengths = b"".join(_length_bytes(sub.reader(), field) for sub, _ in self.searcher.leaf_searchers())
            cached = self.lengths[field] = table[np.frombuffer(lengths, dtype=np.uint8)]
        return cached

    def scored(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Every live document with the term, and its BM25F score there, computed as
        ``whoosh.scoring.bm25`` does (the same operations in the same order, so to
        the last bit). Kept, least recently used dropped past ``budget`` bytes:
        the common words of long queries recur."""
        key = (field, term)
        cached = self.scores.pop(key, None)
        if cached is None:
            ids, weights = self.postings(field, term)
            if len(ids):
                # WeightingModel.idf, from the postings just read instead of the term index
                idf = math.log(self.size / (self.frequencies[(field, term)] + 1)) + 1
                tf = weights.astype(np.float64)
                raws = idf * ((tf * (self.searcher.weighting.K1 + 1)) / (tf + self.norms(field)[ids]))
            else:
                raws = np.zeros(0)
            cached = (ids, raws)
            size = ids.nbytes + raws.nbytes + 200
            while self.scores and self.scores_size + size > self.budget:
                dropped_ids, dropped = self.scores.pop(next(iter(self.scores)))
                self.scores_size -= dropped_ids.nbytes + dropped.nbytes + 200
            self.scores_size += size
        self.scores[key] = cached  # most recently used last
        return cached

    def live(self) -> int:
        """Every live document."""
        if self._live is None:
            deleted = self.deleted()
            everything = (1 << self.size) - 1
            self._live = everything if deleted is None else everything & ~_bitset(np.flatnonzero(deleted), self.size)
        return self._live

    def filter(self, node: FilterNode) -> int:
        """The live documents a filter keeps, as a bitset: each condition is tested once
        per distinct value of its field's column, then looked up per document."""
        cached = self.filters.pop(node, None)
        if cached is None:
            cached = self.live() & _bitset(np.flatnonzero(self._filter_mask(node)), self.size)
            if len(self.filters) >= 8:
                del self.filters[next(iter(self.filters))]
        self.filters[node] = cached
        return cached

    def _filter_mask(self, node: FilterNode) -> np.ndarray:
        """One boolean per document (deleted ones included) for a filter tree."""
        if isinstance(node, Condition):
            labels, codes = self._column(node.field)
            return np.fromiter((_condition_holds(node, label) for label in labels), bool, len(labels))[codes]
        if isinstance(node, Negate):
            return ~self._filter_mask(node.child)
        parts = [self._filter_mask(c) for c in node.children]
        combine = np.logical_and if isinstance(node, AllOf) else np.logical_or
        return combine.reduce(parts) if len(parts) > 1 else parts[0]

    def by_date(self, members: np.ndarray, newest_first: bool, limit: int) -> list[tuple[float, int]]:
        """The first ``limit`` of ``members`` by publication date, undated ones last either
        way; documents of the same day oldest-indexed first (newest first: the reverse)."""
        labels, codes = self._column("published")
        order = sorted(range(len(labels)), key=labels.__getitem__)
        rank = np.empty(len(labels), np.int64)
        rank[order] = np.arange(len(labels))
        rank[0] = -1 if newest_first else len(labels)  # labels[0] is "": undated
        keys = rank[codes[members]]
        if newest_first:
            chosen = np.lexsort((-members, -keys))[:limit]
        else:
            chosen = np.lexsort((members, keys))[:limit]
        return [(0.0, d) for d in members[chosen].tolist()]

    def facet(self, name: str, docs: int) -> dict[str, int]:
        """How many of ``docs`` have each value of the sortable field ``name`` ("" left out)."""
        if not docs:
            return {}
        labels, codes = self._column(name)
        counts = np.bincount(codes[_members(docs, self.size)], minlength=len(labels))
        return {labels[i]: int(counts[i]) for i in np.flatnonzero(counts) if labels[i]}

    def _column(self, name: str) -> tuple[list[str], np.ndarray]:
        """The values of field ``name`` (``""`` first) and, per document, the index of its value."""
        cached = self.columns.get(name)
        if cached is None:
            labels: dict[str, int] = {"": 0}
            codes: list[int] = []
            for sub, _ in self.searcher.leaf_searchers():
                codes.extend(labels.setdefault(value, len(labels)) for value in _column_values(sub.reader(), name))
            cached = self.columns[name] = (list(labels), np.array(codes, dtype=np.int32))
        return cached


def _column_values(reader: Any, name: str) -> list[str]:
    """Every document's value of the sortable ``ID`` field ``name`` in one segment ("" for
    none): read at once from Whoosh 2.7's variable-length column (its reader reads one
    document at a time, 1.4 s for a date sort's first look at 55,737 documents)."""
    count = reader.doc_count_all()
    column = reader.column_reader(name, translate=False) if reader.has_column(name) else None
    if isinstance(column, whoosh.columns.VarBytesColumn.Reader):
        lengths, offsets = column._lengths, column._offsets
        if len(lengths) == count:
            end = max(map(operator.add, offsets, lengths), default=0)
            data = column._dbfile.get(column._basepos, end) if end else b""
            return [data[o : o + n].decode("utf-8") for o, n in zip(offsets, lengths)]
    values = reader.column_reader(name, translate=True)
    return [values[n] or "" for n in range(count)]


def _length_bytes(reader: Any, field: str) -> bytes:
    """The one-byte field lengths of every document of a segment, read at once from
    Whoosh 2.7's lengths column (one read per document through its API)."""
    count = reader.doc_count_all()
    try:
        column = reader._perdoc._cached_reader(f"_{field}_len", whoosh.codec.whoosh3.LENGTHS_COLUMN)
        data = column._dbfile.get(column._basepos, min(column._count, count)) if column is not None else b""
        assert column is None or column._fixedlen == 1
    except (AttributeError, AssertionError):  # another codec: ask document by document
        return bytes(length_to_byte(reader.doc_field_length(n, field, 0) or 0) for n in range(count))
    return bytes(data) + bytes(count - len(data))


class _SearchMemo:
    """What the runs of one search share: feedback's second run mostly re-finds
    the first's hits, and scores the same words."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.fields: dict[int, dict[str, Any]] = {}
        #: An any-word query's own scores and matches, see :meth:`_AnyWordsScorer.run`
        self.any_words: dict[AnyWords, tuple[np.ndarray, np.ndarray]] = {}

    def stored(self, docnum: int) -> dict[str, Any]:
        """A document's stored fields, read once per search."""
        fields = self.fields.get(docnum)
        if fields is None:
            fields = self.fields[docnum] = self.searcher.stored_fields(docnum)
        return fields


def _bitset(ids: Iterable[int] | np.ndarray, size: int) -> int:
    """Document numbers -> an ``int`` with those bits set."""
    if not isinstance(ids, np.ndarray):
        ids = np.fromiter(ids, dtype=np.int64)
    mask = np.zeros(size, dtype=bool)
    mask[ids] = True
    return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")


def _common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both ascending arrays of distinct values (``np.intersect1d``
    without its sort): the shorter one looked up in the longer."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return a[b[at] == a]


def _distinct(ascending: np.ndarray) -> np.ndarray:
    """The distinct values of an ascending array (``np.unique`` without its sort)."""
    if len(ascending) < 2:
        return ascending
    first = np.empty(len(ascending), bool)
    first[0] = True
    np.not_equal(ascending[1:], ascending[:-1], out=first[1:])
    return ascending[first]


def _mask(bits: int, size: int) -> np.ndarray:
    """A bitset -> one boolean per document."""
    data = bits.to_bytes((size + 7) >> 3, "little")
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=size, bitorder="little").view(bool)


def _members(bits: int, size: int) -> np.ndarray:
    """The document numbers of a bitset, in order."""
    return np.flatnonzero(_mask(bits, size))


def _best(scores: np.ndarray, docs: np.ndarray, limit: int) -> list[tuple[float, int]]:
    """``[(score, docnum)]`` of the ``limit`` highest ``scores``, best first; on a tie
    the lower document number first, as Whoosh's collector orders them."""
    if len(scores) > limit:
        kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        keep = scores >= kth  # the top ``limit`` and whatever ties with the last of them
        scores, docs = scores[keep], docs[keep]
    order = np.lexsort((docs, -scores))[:limit]
    return [(float(scores[i]), int(docs[i])) for i in order]


@dataclass
class _Found:
    """What one run of a search found: the total, the best ``(score, docnum)`` in
    rank order (a window from the first), and the facet counts."""

    total: int
    top: list[tuple[float, int]]
    facets: dict[str, dict[str, int]]


def _page(found: _Found, memo: "_SearchMemo", offset: int, limit: int) -> ResultSet:
    """The page of ``found`` a search asked for, with the stored fields of its hits only."""
    hits = [(score, memo.stored(docnum)) for score, docnum in found.top[offset : offset + limit]]
    return ResultSet(total=found.total, hits=hits, facets=found.facets)


def _condition_holds(node: Condition, value: str) -> bool:
    """Whether a document whose field holds ``value`` ("" when it has none) passes ``node``:
    exact values, ISO dates compared as text, and a comparison needs a value."""
    if node.op in ("=", "in"):
        return value in node.values
    if node.op == "!=":
        return value != node.values[0]
    if not value:
        return False
    bound = node.values[0]
    if node.op == ">":
        return value > bound
    if node.op == ">=":
        return value >= bound
    if node.op == "<":
        return value < bound
    return value <= bound


#: The cost model of :func:`_estimate`, in microseconds (measured on this project's
#: machines with ``bench/load.py``-style queries, rounded up): decoding a posting, or
#: a posting with its positions, from the file; finding and reading one posting list
#: in a segment; the share of that work left when the postings (or positions) are
#: kept in memory already (array operations), and what a kept term costs on top; a
#: set operation over every document, per document.
_COST_PER_POSTING = 1.0
_COST_PER_POSITIONS = 2.0
_COST_PER_LIST = 100.0
_COST_KEPT_SHARE = 0.05
#: (A phrase reads the rarest word's positions first, then only where it stands.)
_COST_KEPT_POSITIONS_SHARE = 0.005
_COST_PER_TERM_KEPT = 60.0
_COST_PER_DOCUMENT = 0.0002


def _estimate(node: Node | None, compiler: _Compiler, docsets: "_DocSets", budget: int, positions: "_SegmentCache") -> int:
    """What answering ``node`` will take, in microseconds (see :meth:`SearchIndex.estimate`)."""
    per_node = docsets.size * _COST_PER_DOCUMENT
    if node is None:
        return int(per_node) + 1
    cost = docsets.cost
    total = 0.0
    stack: list[Node] = [node]
    while stack and total <= budget:
        current = stack.pop()
        total += per_node
        if isinstance(current, Word):
            for f, _ in compiler.word_fields(current):
                total += sum(cost(f, t) for t in current.terms)
        elif isinstance(current, Prefix):
            for f, _ in compiler.fields(current.field):
                for t in compiler.expand(f, current.prefix)[0]:
                    total += cost(f, t)
                    if total > budget:
                        break
        elif isinstance(current, Phrase):  # its rarest word's positions, then the others' where it stands
            for f, terms, _ in _PhraseScorer.readings(current, compiler):
                rarest = min(terms, key=lambda t: docsets.frequency(f, t))
                total += len(terms) * cost(f, rarest, positions)
        elif isinstance(current, Not):
            stack.append(current.child)
        else:
            if isinstance(current, And) and compiler.nearby(current) is not None:
                total += per_node * MAX_PHRASE_READINGS
            stack.extend(current.children)
    return int(total)


class _Evaluator:
    """Which documents a query tree matches, and what each of them scores.

    Every kind of node, nested any way (prefixes and phrases inside AND, OR and
    NOT, a NOT inside an OR), is answered from the thread's document sets (a
    term's live documents as a bitset, its BM25F scores as an array: see
    :class:`_DocSets`) and phrases from positions decoded in bulk
    (:class:`_PhraseScorer`), never by a Whoosh matcher: Whoosh 2.7.4's let
    excluded documents through in a segment with deletions, counted a NOT inside
    an OR differently with the page size, failed on it with facets, and can loop
    for minutes in its block-quality skipping (Whoosh issues #446 and #461). So
    a total, the set of hits and the facets are the same whatever the sort,
    the page size or the facets asked for.

    Scores are Whoosh's BM25F, combined as its queries combine them: a word or a
    prefix adds its terms' scores over the fields (title boosted, body, lead), a
    phrase the scores of its words where it matches, OR the scores of the
    children that match, AND those of its children where all match (and, for
    romanized words, the readings found standing together), and a NOT scores 1
    where it matches (Whoosh's ``InverseMatcher``).
    """

    def __init__(self, compiler: _Compiler, phrases: "_PhraseScorer", *, scoring: bool, allowed: int | None) -> None:
        self.compiler = compiler
        self.docsets = compiler.docsets
        self.phrases = phrases
        self.scoring = scoring
        #: The filter's documents: only they can be hits, so a phrase looks only at them.
        self.allowed = None if allowed is None else _mask(allowed, self.docsets.size)
        self._matches: dict[Node, int] = {}
        self._phrases: dict[Phrase, tuple[np.ndarray, np.ndarray]] = {}

    def matches(self, node: Node) -> int:
        """The live documents ``node`` matches, as a bitset (remembered for this search)."""
        found = self._matches.get(node)
        if found is not None:
            return found
        compiler = self.compiler
        compiler.deadline.check()
        if isinstance(node, Word):  # (the lead is part of the body: its documents add none)
            found = self._union((f, t) for f, _ in compiler.fields(node.field) for t in node.terms)
        elif isinstance(node, Prefix):
            found = self._union((f, t) for f, _ in compiler.fields(node.field) for t in compiler.expand(f, node.prefix)[0])
        elif isinstance(node, Phrase):
            found = _bitset(self._phrase(node)[0], self.docsets.size)
        elif isinstance(node, Not):
            found = self.docsets.live() & ~self.matches(node.child)
        elif isinstance(node, And):
            found = self.docsets.live()
            for child in node.children:
                found &= self.matches(child)
                if not found:
                    break
        elif isinstance(node, (Or, AnyWords)):
            found = 0
            for child in node.children:
                found |= self.matches(child)
        else:
            raise TypeError(f"not a query node: {node!r}")
        self._matches[node] = found
        return found

    def _union(self, keys: Iterable[tuple[str, str]]) -> int:
        found = 0
        for wanted in keys:
            self.compiler.deadline.check()
            found |= self.docsets.term(wanted)
        return found

    def add_scores(self, node: Node, acc: np.ndarray, *, exact: bool = True) -> None:
        """Add each document's score for ``node`` to ``acc`` (one float per document).

        ``exact``: only where ``node`` matches. A search's own tree need not be
        (only its matches are ranked), which spares an AND its mask."""
        compiler, docsets = self.compiler, self.docsets
        deadline = compiler.deadline
        if isinstance(node, Word):
            weights = node.weights or (1.0,) * len(node.terms)
            for f, boost in compiler.word_fields(node):
                for t, w in zip(node.terms, weights):
                    deadline.check()
                    ids, raws = docsets.scored(f, t)  # empty for a term the index lacks
                    acc[ids] += raws * (boost * w)
        elif isinstance(node, Prefix):
            for f, boost in compiler.fields(node.field):
                for t in compiler.expand(f, node.prefix)[0]:
                    deadline.check()
                    ids, raws = docsets.scored(f, t)
                    acc[ids] += raws * boost
        elif isinstance(node, Phrase):
            docs, scores = self._phrase(node)
            acc[docs] += scores
        elif isinstance(node, Not):
            acc[_mask(self.matches(node), docsets.size)] += 1.0
        elif isinstance(node, (Or, AnyWords)):
            for child in node.children:
                self.add_scores(child, acc)
            if isinstance(node, AnyWords):
                self._add_pairs(node, acc)
        elif isinstance(node, And):
            target = np.zeros(docsets.size) if exact else acc
            for child in node.children:
                if not isinstance(child, Not):
                    self.add_scores(child, target)
            self._add_nearby(node, target)
            if exact:
                members = _members(self.matches(node), docsets.size)
                acc[members] += target[members]
        else:
            raise TypeError(f"not a query node: {node!r}")

    def _phrase(self, node: Phrase) -> tuple[np.ndarray, np.ndarray]:
        """A phrase's documents (ascending) and, when scoring, its score in each:
        every reading in every field it is looked for in, added up."""
        found = self._phrases.get(node)
        if found is not None:
            return found
        clauses = []
        for field, terms, boost in self.phrases.readings(node, self.compiler):
            docs, scores = self.phrases.clause(field, terms, self.allowed, self.scoring)
            if len(docs):
                clauses.append((docs, scores * boost if boost != 1.0 else scores))
        found = self._phrases[node] = _add_up(clauses)
        return found

    def _add_nearby(self, node: And, acc: np.ndarray) -> None:
        """The bonus of romanized words' readings found standing together (:meth:`_Compiler.nearby`)."""
        readings = self.compiler.nearby(node) if self.scoring else None
        if not readings:
            return
        for f, boost in self.compiler.fields(None):
            for terms, weight in readings:
                docs, scores = self.phrases.clause(f, terms, self.allowed, True, slop=NEARBY_SLOP)
                acc[docs] += scores * (boost * weight)

    def _add_pairs(self, node: AnyWords, acc: np.ndarray) -> None:
        """A nested long query's proximity bonus (``Ranking.proximity_boost``): consecutive
        words within ``proximity_slop`` of each other, in order (off by default)."""
        ranking = self.compiler.ranking
        if ranking.proximity_boost <= 0 or not self.scoring:
            return
        for left, right in zip(node.children, node.children[1:]):
            if isinstance(left, Word) and isinstance(right, Word) and not (left.field or right.field):
                for f, weight in self.compiler.fields(None):
                    docs, scores = self.phrases.clause(
                        f, (left.terms[0], right.terms[0]), self.allowed, True, slop=ranking.proximity_slop
                    )
                    acc[docs] += scores * (weight * ranking.proximity_boost)


def _add_up(clauses: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The union of several clauses' documents (each ascending) with their scores summed
    in clause order."""
    if not clauses:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    if len(clauses) == 1:
        return clauses[0]
    docs = np.unique(np.concatenate([d for d, _ in clauses]))
    scores = np.zeros(len(docs), np.float64)
    for d, s in clauses:  # x + 0.0 == x, and two clauses add up the same either way round
        if len(s):
            scores[np.searchsorted(docs, d)] += s
    return docs, scores


class _AnyWordsScorer:
    """A long any-word query (:class:`AnyWords`), scored term at a time.

    Whoosh scores such a query document at a time through a tree of union
    matchers, several Python calls per posting, and its block skipping
    rarely helps a union of common words; the proximity pairs make it check
    positions in every document that has both words. Here each word's BM25F
    scores (Whoosh's own formula and statistics, so the same numbers, see
    :meth:`_DocSets.scored`) are added into one array per query, a term at a
    time; other clauses (a hyphenated word's phrase, a prefix) are
    evaluated as any other node (:class:`_Evaluator`). The pair bonus is then computed only for the best documents,
    and for every other document that could still reach the top with all its
    pairs near (a pair adds at most ``ratio`` times a document's word score).
    The top hits and their order are the ones Whoosh's query finds; scores
    may differ in the last bits, being summed in another order.
    """

    def __init__(self, compiler: "_Compiler", evaluator: _Evaluator) -> None:
        self.searcher = compiler.searcher
        self.docsets = compiler.docsets
        self.compiler = compiler
        self.evaluator = evaluator
        self.deadline = compiler.deadline
        self.K1 = self.searcher.weighting.K1

    def run(
        self, node: AnyWords, limit: int, allowed: int | None,
        extra: Sequence[tuple[str, float]] = (), kept: dict[AnyWords, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> tuple[np.ndarray, list[tuple[float, int]]]:
        """Every matching document (among the bitset ``allowed``, when given), and
        ``[(score, docnum)]`` of the ``limit`` best of them, best first. ``extra``
        body terms (feedback) add their scores to matching documents only.
        ``kept`` holds the query's own scores between the two runs of a search
        with feedback, so the second adds only the feedback words."""
        ranking = self.compiler.ranking
        # (field, term, boost) of every word's clauses, as _Compiler.compile(Word) has them
        clauses: list[tuple[str, str, float]] = []
        others: list[Node] = []
        for child in node.children:
            if isinstance(child, Word):
                weights = child.weights or (1.0,) * len(child.terms)
                for f, boost in self.compiler.word_fields(child):
                    clauses.extend((f, t, boost * w) for t, w in zip(child.terms, weights))
            else:
                others.append(child)
        # the word pairs earning a proximity bonus, as _Compiler.any_words has them
        pairs: list[tuple[str, str, str, float]] = []
        if ranking.proximity_boost > 0:
            for left, right in zip(node.children, node.children[1:]):
                if isinstance(left, Word) and isinstance(right, Word) and not (left.field or right.field):
                    for f, weight in self.compiler.fields(None):
                        pairs.append((f, left.terms[0], right.terms[0], weight * ranking.proximity_boost))
        own = kept.get(node) if kept is not None else None
        if own is None:
            own = self._own_scores(clauses, others)
            if kept is not None:
                kept[node] = own
        acc, found = own
        if extra:
            acc = acc.copy()  # the kept scores stay the query's own
        for term, boost in extra:  # after the query's own clauses, as Whoosh's AndMaybe sums them
            self.deadline.check()
            ids, raws = self.docsets.scored("body", term)
            acc[ids] += raws * boost
        if allowed is not None:
            found = found & _mask(allowed, self.docsets.size)
        matched = np.flatnonzero(found)
        if not pairs or not len(matched):
            return matched, _best(acc[matched], matched, limit)
        return matched, self._with_pairs(acc, matched, clauses, pairs, limit)

    def _own_scores(
        self, clauses: list[tuple[str, str, float]], others: list[Node]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each document's score for the query's own words, and which documents match."""
        acc = np.zeros(self.docsets.size)
        found = np.zeros(self.docsets.size, dtype=bool)
        for f, term, boost in clauses:
            self.deadline.check()
            ids, raws = self.docsets.scored(f, term)  # empty for a term the index lacks
            acc[ids] += raws if boost == 1.0 else raws * boost
            found[ids] = True
        for child in others:
            self.evaluator.add_scores(child, acc)
            found |= _mask(self.evaluator.matches(child), self.docsets.size)
        return acc, found

    def _raw(self, field: str, term: str, docnum: int, tf: float) -> float:
        norm = float(self.docsets.norms(field)[docnum])
        return self.searcher.idf(field, term) * ((tf * (self.K1 + 1)) / (tf + norm))

    def _with_pairs(
        self, acc: np.ndarray, matched: np.ndarray, clauses: list[tuple[str, str, float]],
        pairs: list[tuple[str, str, str, float]], limit: int,
    ) -> list[tuple[float, int]]:
        # A pair (a, b) in field f adds boost * (bm25(a) + bm25(b)) there (Whoosh
        # scores a phrase as the sum of its words); a word's clause adds
        # clause_boost * bm25: so a document gains at most ratio * its score.
        share: dict[tuple[str, str], float] = defaultdict(float)
        for f, a, b, boost in pairs:
            share[(f, a)] += boost
            share[(f, b)] += boost
        ratio = max(
            (share[(f, t)] / boost for f, t, boost in clauses if (f, t) in share and boost > 0), default=0.0
        )
        # First the best documents by word score, then every other one that
        # could beat the limit-th final score found among them.
        scores = acc[matched]
        first = _best(scores, matched, max(4 * limit, 40))
        bonus = self._pair_bonus(np.array([d for _, d in first], dtype=np.int64), pairs)
        finals = {d: s + bonus.get(d, 0.0) for s, d in first}
        if len(finals) >= limit:
            bar = heapq.nlargest(limit, finals.values())[-1]
            self.deadline.check()
            hopeful = matched[scores * (1 + ratio) >= bar]
            rest = hopeful[~np.isin(hopeful, np.array(list(finals), dtype=np.int64))]
            bonus = self._pair_bonus(rest, pairs)
            finals.update((d, float(acc[d]) + bonus.get(d, 0.0)) for d in rest.tolist())
        return heapq.nlargest(limit, ((s, d) for d, s in finals.items()), key=_rank_key)

    def _pair_bonus(self, docs: np.ndarray, pairs: list[tuple[str, str, str, float]]) -> dict[int, float]:
        """The proximity bonus of each of ``docs``: Whoosh's ``Phrase([a, b], slop)``
        matches where ``b`` stands 1 to ``slop`` positions after ``a``."""
        slop = self.compiler.ranking.proximity_slop
        reader = self.searcher.reader()
        # Positions are read only where a document has both words of a pair
        # (known from the cached postings), for each term once.
        both: list[list[int]] = []
        wanted: dict[tuple[str, str], set[int]] = defaultdict(set)
        for f, a, b, _ in pairs:
            if (f, a) in reader and (f, b) in reader:
                ids_a, ids_b = self.docsets.scored(f, a)[0], self.docsets.scored(f, b)[0]
                docs_ab = docs[np.isin(docs, ids_a) & np.isin(docs, ids_b)].tolist()
            else:
                docs_ab = []
            both.append(docs_ab)
            wanted[(f, a)].update(docs_ab)
            wanted[(f, b)].update(docs_ab)
        positions = {key: self._positions(*key, sorted(ds)) for key, ds in wanted.items() if ds}
        bonus: dict[int, float] = defaultdict(float)
        for (f, a, b, boost), docs_ab in zip(pairs, both):
            for d in docs_ab:
                first, second = positions[(f, a)][d], positions[(f, b)][d]
                if _near(first, second, slop):
                    bonus[d] += (self._raw(f, a, d, len(first)) + self._raw(f, b, d, len(second))) * boost
        return bonus

    def _positions(self, field: str, term: str, docs: list[int]) -> dict[int, list[int]]:
        """Positions of ``term`` in ``field`` of each of ``docs`` that has it."""
        found: dict[int, list[int]] = {}
        if (field, term) not in self.searcher.reader():
            return found
        wanted = sorted(docs)
        for sub, offset in self.searcher.leaf_searchers():
            reader = sub.reader()
            end = offset + reader.doc_count_all()
            local = [d - offset for d in wanted if offset <= d < end]
            if not local:
                continue
            try:
                matcher = reader.postings(field, term)
            except (KeyError, whoosh.reading.TermNotFound):
                continue
            for d in local:
                if not matcher.is_active():
                    break
                matcher.skip_to(d)
                if matcher.is_active() and matcher.id() == d:
                    found[d + offset] = matcher.value_as("positions")
        return found


# --------------------------------------------------------------------------
# Phrases from positions decoded in bulk (query speed)
# --------------------------------------------------------------------------


@dataclass
class _Occurrences:
    """Where a term occurs in one field of one segment: its postings and every position.

    ``keys`` holds ``docnum << 32 | position`` of each occurrence, ascending,
    so "``b`` right after ``a``" is ``key_a + 1`` found among ``key_b``.
    """

    docs: np.ndarray  # int64 document numbers in the segment, ascending
    weights: np.ndarray  # float64 posting weights (term frequency), by ``docs``
    keys: np.ndarray  # int64, ascending

    @property
    def size(self) -> int:
        return self.docs.nbytes + self.weights.nbytes + self.keys.nbytes + 200


#: ``pack_uint(n)`` is followed by ``pickle.dumps(deltas, 2)``: PROTO 2, EMPTY_LIST, BINPUT 0.
_PICKLED_LIST = np.frombuffer(b"\x80\x02]q\x00", np.uint8)
_OP_INT1, _OP_INT2, _OP_INT4 = ord("K"), ord("M"), ord("J")  # BININT1, BININT2, BININT
_OP_MARK, _OP_APPEND, _OP_APPENDS = ord("("), ord("a"), ord("e")
#: Values still being read when this few are left are decoded one at a time
#: (the steps of the array walk would cost more, one per position of the longest).
_DECODE_ONE_BY_ONE = 64


def _decode_positions(values: list[bytes], fmt: Any) -> tuple[np.ndarray, np.ndarray]:
    """Whoosh ``Positions`` values -> (occurrences per value, every position in order).

    Each value is ``pack_uint(count)`` and the pickled list of position
    deltas; decoding them one ``pickle.loads`` at a time is most of what a
    phrase costs. Here all values are read at once: one cursor per value
    steps over its pickled integers (1, 2 or 4 bytes after an opcode), all
    cursors together, one step per position, until few lists are left. Those,
    and any value in another shape (over 1,000 positions, pickled in batches),
    are decoded by Whoosh.
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lengths = np.fromiter(map(len, values), np.int64, n)
    starts = np.zeros(n, np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    buf = np.frombuffer(b"".join(values) + bytes(16), np.uint8)
    counts = (
        (buf[starts].astype(np.int64) << 24) | (buf[starts + 1].astype(np.int64) << 16)
        | (buf[starts + 2].astype(np.int64) << 8) | buf[starts + 3]
    )
    shaped = (lengths >= 11) & (counts >= 1) & (counts <= 1000)
    for i, byte in enumerate(_PICKLED_LIST):
        shaped &= buf[np.minimum(starts + 4 + i, len(buf) - 1)] == byte
    many = counts > 1
    shaped &= ~many | (buf[starts + 9] == _OP_MARK)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    out = np.zeros(int(offsets[-1]), np.int64)
    # Longest lists first, so the values still being read are always a prefix.
    order = np.argsort(-np.where(shaped, counts, 0), kind="stable")
    order = order[shaped[order]]
    cursor = starts[order] + 9 + many[order]
    base = offsets[order]
    position = np.zeros(len(order), np.int64)
    remaining = counts[order]
    ok = np.ones(len(order), bool)
    step = 0
    active = len(order)
    last = len(buf) - 5  # a value in another shape may send its cursor past the end
    while active > _DECODE_ONE_BY_ONE:
        c = np.minimum(cursor[:active], last)
        op = buf[c]
        b1 = buf[c + 1].astype(np.int64)
        two = b1 | (buf[c + 2].astype(np.int64) << 8)
        four = two | (buf[c + 3].astype(np.int64) << 16) | (buf[c + 4].astype(np.int64) << 24)
        is1, is2 = op == _OP_INT1, op == _OP_INT2
        ok[:active] &= is1 | is2 | (op == _OP_INT4)
        position[:active] += np.where(is1, b1, np.where(is2, two, four))
        out[base[:active] + step] = position[:active]
        cursor[:active] += np.where(is1, 2, np.where(is2, 3, 5))
        step += 1
        active = int(np.searchsorted(-remaining, -step, side="left"))
    ok &= buf[np.minimum(cursor, last)] == np.where(remaining > 1, _OP_APPENDS, _OP_APPEND)
    ok[:active] = False  # the few longest lists: one at a time below
    good = np.zeros(n, bool)
    good[order[ok]] = True
    for i in np.flatnonzero(~good).tolist():  # the longest, or not in the usual shape: Whoosh decodes it
        positions = fmt.decode_positions(values[i])
        if len(positions) != counts[i]:
            raise ValueError(f"a positions value holds {len(positions)} positions, its header says {counts[i]}")
        out[offsets[i] : offsets[i + 1]] = positions
    return counts, out


def _leaf_postings(
    matcher: W3LeafMatcher, wanted: list[int] | None
) -> tuple[list[int], list[int], list[float], list[bytes]]:
    """A term's postings in one segment, read in one piece rather than block by block:
    (block lengths, document-number deltas, weights, values). With ``wanted``
    (sorted document numbers), only the blocks that may hold one of them."""
    extent = matcher._length  # Whoosh 2.7.4 reads it from the term info as a 1-tuple
    raw = matcher._postfile.get(matcher._startoffset, extent[0] if isinstance(extent, tuple) else extent)
    blocks: list[int] = []
    deltas: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    taken = 0
    for count, last_id, data, compressed in _w3_blocks(raw):
        if wanted is not None:
            k = bisect.bisect_right(wanted, last_id)
            if k == taken:
                continue  # no wanted document in this block
            taken = k
        ids, ws, vs = pickle.loads(zlib.decompress(data) if compressed else data)
        blocks.append(count)
        deltas.extend(ids)
        weights.extend(_block_weights(ws, count))
        values.extend(vs)
        if wanted is not None and taken == len(wanted):
            break
    return blocks, deltas, weights, values


def _postings_size(postings: tuple[np.ndarray, np.ndarray]) -> int:
    return postings[0].nbytes + postings[1].nbytes + 200


def _occurrences_size(occurrences: _Occurrences) -> int:
    return occurrences.size


def _all_occurrences(reader: Any, field: str, term: str) -> _Occurrences:
    return _read_occurrences(reader, field, term, None)


def _read_occurrences(reader: Any, field: str, term: str, wanted: np.ndarray | None) -> _Occurrences:
    """Where ``term`` occurs in ``field`` of one segment (deleted documents included);
    with ``wanted`` (sorted document numbers), only in those."""
    empty = _Occurrences(np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64))
    if (field, term) not in reader:
        return empty
    matcher = reader.postings(field, term)
    if isinstance(matcher, whoosh.matching.FilterMatcher):  # a segment with deletions filters its postings
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        blocks, deltas, ws, values = _leaf_postings(matcher, None if wanted is None else wanted.tolist())
        ids = np.cumsum(np.asarray(deltas, np.int64))
        if len(blocks) > 1:  # deltas start again at each block
            ends = np.cumsum(blocks)
            ids -= np.repeat(np.concatenate(([0], ids[ends[:-1] - 1])), blocks)
    else:  # another codec, or postings kept in the term info: a posting at a time
        ids_list, ws, values = [], [], []
        while matcher.is_active():
            ids_list.append(matcher.id())
            ws.append(matcher.weight())
            values.append(matcher.value())
            matcher.next()
        ids = np.asarray(ids_list, np.int64)
    weights = np.asarray(ws, np.float64)
    if wanted is not None:
        keep = np.isin(ids, wanted)
        if not keep.all():
            kept = np.flatnonzero(keep)
            ids, weights, values = ids[kept], weights[kept], [values[i] for i in kept.tolist()]
    if not len(ids):
        return empty
    counts, positions = _decode_positions(values, reader.schema[field].format)
    return _Occurrences(ids, weights, (np.repeat(ids, counts) << 32) | positions)


class _PhraseScorer:
    """A phrase query (in title and body, or one field) answered from term
    positions decoded in bulk, rather than by Whoosh's span matcher.

    Whoosh walks the documents holding every word of the phrase and, for
    each, decodes each word's positions (a ``pickle.loads``) and compares
    spans in Python: a phrase of two common words costs hundreds of
    milliseconds, to count its matches exactly. Here each word's occurrences
    in a segment are arrays (:class:`_SegmentCache`), and the phrase is
    where the rarest word's occurrences, shifted by its place in the phrase,
    meet every other word's (binary searches over whole arrays). Every match
    is scored, as Whoosh scores a phrase: the BM25F scores of its words in
    the document, summed in the order of Whoosh's matcher tree, times the
    field's boost, and title and body added. Same total, same hits in the
    same order, same scores.
    """

    #: Read only the blocks that may hold candidates (and keep nothing) when
    #: there are this many times fewer candidates than postings: a block holds
    #: 128 postings, so then at most a quarter of the blocks are read.
    PARTIAL = 512

    def __init__(self, searcher: Searcher, docsets: "_DocSets", shared: _SegmentCache, compiler: "_Compiler") -> None:
        self.searcher = searcher
        self.docsets = docsets
        self.shared = shared
        self.compiler = compiler
        #: What this query read of each word in each segment, when not all of it.
        self.read: dict[tuple[int, str, str], _Occurrences] = {}

    @staticmethod
    def readings(node: Phrase, compiler: "_Compiler") -> list[tuple[str, tuple[str, ...], float]]:
        """(field, terms, boost) of each Whoosh ``Phrase`` the node compiles to (as ``_Compiler``)."""
        readings = (
            _best_readings(node.alternatives, node.weights or (), MAX_PHRASE_READINGS)
            if node.alternatives
            else [(node.terms, 1.0)]
        )
        return [(f, terms, boost * weight) for f, boost in compiler.fields(node.field) for terms, weight in readings]

    def _occurrences(self, segment: int, reader: Any, field: str, term: str, candidates: np.ndarray | None) -> _Occurrences:
        """Where ``term`` occurs in a segment: all of it (shared), or, when ``candidates``
        are few, at least in those (read for this query only)."""
        occ = self.read.get((segment, field, term)) or self.shared.cached(reader, field, term)
        if occ is None:
            if candidates is not None and len(candidates) * self.PARTIAL < reader.doc_frequency(field, term):
                occ = self.read[(segment, field, term)] = _read_occurrences(reader, field, term, candidates)
            else:
                occ = self.shared.get(reader, field, term)
        return occ

    def clause(
        self, field: str, terms: tuple[str, ...], allowed: np.ndarray | None, score: bool, slop: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """The live documents (among ``allowed``, when given) where ``terms`` stand one
        after the other in ``field`` (with ``slop`` > 1: each within ``slop`` positions
        after the one before, as Whoosh's ``Phrase(slop=...)``), and (with ``score``)
        Whoosh's score of the phrase in each."""
        frequency = self.docsets.frequency
        deadline = self.compiler.deadline
        empty = np.zeros(0, np.int64), np.zeros(0, np.float64)
        if not all(frequency(field, t) for t in terms):
            return empty
        order = sorted(range(len(terms)), key=lambda i: frequency(field, terms[i]))
        self.read.clear()  # partial reads hold this clause's candidates only
        docs, scores = [], []
        for segment, (sub, offset) in enumerate(self.searcher.leaf_searchers()):
            deadline.check()
            reader = sub.reader()
            if slop > 1:
                found = self._segment_near(segment, reader, offset, field, terms, slop, allowed)
            else:
                found = self._segment_matches(segment, reader, offset, field, terms, order, allowed)
            if len(found):
                docs.append(found + offset)
                if score:
                    scores.append(self._score(segment, reader, offset, field, terms, found))
        if not docs:
            return empty
        return np.concatenate(docs), np.concatenate(scores) if score else empty[1]

    def _segment_matches(
        self, segment: int, reader: Any, offset: int, field: str, terms: tuple[str, ...], order: list[int],
        allowed: np.ndarray | None,
    ) -> np.ndarray:
        """The live documents of one segment (its own numbers) where ``terms`` stand in a row."""
        first = order[0]
        occ = self._occurrences(segment, reader, field, terms[first], None)
        candidates = self._live(occ.docs, offset, allowed)
        starts = occ.keys[(occ.keys & 0xFFFFFFFF) >= first] - first  # where the phrase would start
        for i in order[1:]:
            if not len(starts) or not len(candidates):
                return candidates[:0]
            occ = self._occurrences(segment, reader, field, terms[i], candidates)
            candidates = _common(candidates, occ.docs)
            wanted = starts + i
            if not len(occ.keys):
                return candidates[:0]
            at = np.minimum(np.searchsorted(occ.keys, wanted), len(occ.keys) - 1)
            starts = starts[occ.keys[at] == wanted]
            # only where the phrase has begun: the next words are then often read in part
            candidates = _common(_distinct(starts >> 32), candidates)
        return candidates

    def _segment_near(
        self, segment: int, reader: Any, offset: int, field: str, terms: tuple[str, ...], slop: int,
        allowed: np.ndarray | None,
    ) -> np.ndarray:
        """The live documents of one segment (its own numbers) where each of ``terms`` stands
        1 to ``slop`` positions after the one before it (Whoosh's ``SpanNear2``, ordered)."""
        occ = self._occurrences(segment, reader, field, terms[0], None)
        candidates = self._live(occ.docs, offset, allowed)
        ends = occ.keys  # where the words so far end: docnum << 32 | position
        for term in terms[1:]:
            if not len(ends) or not len(candidates):
                return candidates[:0]
            occ = self._occurrences(segment, reader, field, term, candidates)
            candidates = _common(candidates, occ.docs)
            if not len(occ.keys) or not len(candidates):
                return candidates[:0]
            reached = []
            for step in range(1, slop + 1):
                wanted = ends + step
                at = np.minimum(np.searchsorted(occ.keys, wanted), len(occ.keys) - 1)
                reached.append(wanted[occ.keys[at] == wanted])
            ends = np.unique(np.concatenate(reached))
            candidates = _common(_distinct(ends >> 32), candidates)
        return candidates

    def _live(self, docs: np.ndarray, offset: int, allowed: np.ndarray | None) -> np.ndarray:
        """Those of a segment's ``docs`` that are live (and allowed)."""
        deleted = self.docsets.deleted()
        if deleted is not None:
            docs = docs[~deleted[docs + offset]]
        if allowed is not None:
            docs = docs[allowed[docs + offset]]
        return docs

    def _score(
        self, segment: int, reader: Any, offset: int, field: str, terms: tuple[str, ...], docs: np.ndarray
    ) -> np.ndarray:
        """Whoosh's phrase score of each of ``docs`` (of one segment): its words' BM25F
        scores, added as ``make_binary_tree`` nests Whoosh's intersection matchers."""
        searcher = self.searcher
        k1p1 = searcher.weighting.K1 + 1
        norms = self.docsets.norms(field)[docs + offset]
        raws = []
        for term in terms:
            occ = self._occurrences(segment, reader, field, term, docs)
            w = occ.weights[np.searchsorted(occ.docs, docs)]
            # as _DocSets.scored (so as whoosh.scoring.bm25), an array at a time
            raws.append(searcher.idf(field, term) * ((w * k1p1) / (w + norms)))

        def tree(parts: list[np.ndarray]) -> np.ndarray:
            if len(parts) == 1:
                return parts[0]
            half = len(parts) // 2
            return tree(parts[:half]) + tree(parts[half:])

        return tree(raws)


def _near(first: list[int], second: list[int], slop: int) -> bool:
    """Whether some position in ``second`` is 1 to ``slop`` after one in ``first`` (both sorted)."""
    j = 0
    for p in first:
        while j < len(second) and second[j] <= p:
            j += 1
        if j < len(second) and second[j] - p <= slop:
            return True
    return False


def _blend_readings(node: Node, frequency: Callable[[str, str], int], size: int) -> Node:
    """Weigh the readings of a romanized word by their spelling *and* the
    commonest reading's rarity: each reading's weight is scaled down by
    idf(commonest) / idf(its own) (as Lucene's SynonymQuery scores synonyms
    with one blended document frequency).

    Else a rare misreading outscores the right one on rarity alone:
    ``title:bharat`` put भारी (heavy) above every भारत. Measured with
    ``bench/romanized_eval.py``: roman phrases MRR@10 0.825 -> 0.832 as typed,
    0.856 -> 0.876 as any word; Devanagari queries have no readings. (Blending
    the typed word too gave 0.831 / 0.886 but cost covid-news headlines with a
    Latin word: `Coronavirus` is a word of the index as typed.)
    """
    if isinstance(node, Word):
        if not node.weights or len(node.terms) < 3:
            return node
        # The word as typed (terms[0]: `Coronavirus` in a Latin text) is no reading: it keeps its weight.
        found = [frequency("body", term) for term in node.terms[1:]]
        if not any(found):
            return node
        idfs = [math.log(size / (df + 1)) + 1 for df in found]  # Whoosh's BM25 idf
        commonest = min(idf for idf, df in zip(idfs, found) if df)
        weights = node.weights[:1] + tuple(w * min(1.0, commonest / idf) for w, idf in zip(node.weights[1:], idfs))
        return dataclasses.replace(node, weights=weights)
    if isinstance(node, (And, Or, AnyWords)):
        children = tuple(_blend_readings(c, frequency, size) for c in node.children)
        changed = any(new is not old for new, old in zip(children, node.children))
        return dataclasses.replace(node, children=children) if changed else node  # a Devanagari query: as it was
    if isinstance(node, Not):
        child = _blend_readings(node.child, frequency, size)
        return node if child is node.child else dataclasses.replace(node, child=child)
    return node


def _rank_key(item: tuple[float, int]) -> tuple[float, int]:
    """Higher score first; on a tie the lower document number, as Whoosh's collector."""
    return (item[0], -item[1])


#: Most readings a phrase with romanized words is searched as.
MAX_PHRASE_READINGS = 16
#: How far apart (in words) the readings of romanized keywords may stand to
#: earn the nearby bonus: room for the stop words a keyword query drops.
NEARBY_SLOP = 3


def _best_readings(
    alternatives: Sequence[Sequence[str]], weights: Sequence[Sequence[float]], cap: int
) -> list[tuple[tuple[str, ...], float]]:
    """The ``cap`` term sequences with the highest product of weights (a beam search,
    so ten words with eight readings each cost 10 x cap x 8 steps, not 8**10)."""
    beam: list[tuple[float, tuple[str, ...]]] = [(1.0, ())]
    for i, terms in enumerate(alternatives):
        ws = weights[i] if i < len(weights) else (1.0,) * len(terms)
        extended = [(score * w, seq + (t,)) for score, seq in beam for t, w in zip(terms, ws)]
        beam = heapq.nlargest(cap, extended, key=lambda sw: sw[0])
    return [(seq, score) for score, seq in beam]
