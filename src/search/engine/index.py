"""The Whoosh backend: one index directory, opened for searching or writing.

Owns: :class:`SearchIndex` — opening and creating an index, checking its files
against their sums, this thread's searcher (refreshed when a writer has
committed), the per-segment lexicons filed in the background, warm-up, and
the entry points of the backend interface (:mod:`.backend`): ``find``,
``estimate``, ``read_roman``, ``term_frequency``, ``writer``, ``compact``.

* Whoosh's ``Searcher`` is not meant to be shared between threads and does
  not notice new commits by itself: each thread keeps its own and refreshes
  it at most every ``refresh_seconds`` (0: at every search).
* Every step of a search checks one :class:`~search.deadline.Deadline`, and
  :meth:`SearchIndex.estimate` tells beforehand what a query will cost.
* A decoding error while reading (``zlib.error`` and kin) in a damaged
  segment becomes :class:`IndexUnavailable` (:func:`_reads_index`).
* A killed writer leaves spill directories and unreferenced segment files:
  :meth:`SearchIndex.remove_leftovers` clears them while the ingest lock is held.

Must not touch: ranking ideas that are not Whoosh's (feedback, blending the
readings of romanized words: :mod:`search.ranking`).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import pickle
import shutil
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import whoosh.index
import whoosh.scoring
from whoosh.searching import Searcher

from ..analysis import ANALYSIS_VERSION, AnalysisOptions
from ..config import Settings
from ..deadline import NO_DEADLINE, Deadline
from ..filtering import FilterError, FilterNode
from ..querying import AnyWords, Node, QueryError
from ..romanized import best_matches, candidate_keys
from ..vocabulary import Vocabulary, fsync_directory
from .backend import COLUMN_FIELDS, IndexLocked, IndexUnavailable, Ranking, ResultSet, TEXT_FIELDS
from .compiling import _Compiler, _estimate
from .docsets import _DocSets, _best, _bitset, _members
from .lexicon import _Lexicon, _Lexicons
from .matching import _AnyWordsScorer, _Evaluator
from .phrases import _PhraseScorer
from .positions import _all_occurrences, _occurrences_size
from .postings import _SegmentCache, _decode_postings, _postings_size
from .schema import HindiTokenizer, _check_schema, _schema, shared_analyzer
from .storage import _OWN_FILE_RE, _SEGMENT_FILE_RE, _Storage, _TEMP_FILE_RE, _TOC_RE, _leaf_segments, _segment_id, _segment_state
from .workers import SegmentBuilders
from .writing import Writer, _MergingWriter, _SegmentWriter, _codec


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
        self._lexicons = _Lexicons(ix.searcher)
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
        #: Worker processes of this run's writers (see :meth:`writer`).
        self._builders: SegmentBuilders | None = None

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

    def unverified_segments(self) -> int:
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
            local.docsets = _DocSets(local.searcher, self._segments, self._thread_cache_bytes, self._lexicons.by_segment)
            local.checked = now
            local.segment_ids = self._see(local.searcher)
        elif now - local.checked >= self.refresh_seconds:
            local.checked = now
            if not searcher.up_to_date():
                local.searcher = searcher.refresh()
                local.docsets = _DocSets(local.searcher, self._segments, self._thread_cache_bytes, self._lexicons.by_segment)  # the sets belong to one generation
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
        return _decode_postings(reader, field, term, self._lexicons.by_segment.get(_segment_id(reader) or ""))

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
        readers = [sub.reader() for sub, _ in self.searcher().leaf_searchers()]
        return self._lexicons.of(readers, wait=wait, deadline=deadline)

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
        boosts: Sequence[tuple[str, float]] = (),
        fields: Sequence[str] | None = None,
    ) -> ResultSet:
        """Search with a filter, facet counts over the whole result set and a sort order
        (see :meth:`search.engine.backend.Backend.find`).

        ``node`` None matches every document (for /stats and browsing by filter).
        ``sort`` is ``relevance``, ``published`` or ``-published``. The hits are
        the ``limit`` after the first ``offset`` (a page), the total and facets
        count every match. ``deadline`` (or a positive ``time_limit`` in
        seconds) bounds all of it: past it, :class:`SearchTimeout` is raised
        between two steps, so a pathological query cannot hold a worker.
        A search right after the same query's search on the same commit (in this
        thread) reuses that search's scores and stored fields.
        """
        if deadline is None:
            deadline = Deadline(time_limit)
        deadline.check()
        searcher = self.searcher()
        docsets: _DocSets = self._local.docsets
        compiler = _Compiler(self, searcher, docsets, self.ranking, max_prefix_terms, deadline)
        last: _SearchMemo | None = getattr(self._local, "last_search", None)
        # The same query again on the same commit (feedback's second run, hybrid search
        # scoring its nearest documents, the next page): its scores and stored fields
        # are those of the last run, whatever the filter (applied after them).
        if last is not None and last.searcher is searcher and last.node == node:
            memo = last
        else:
            memo = _SearchMemo(searcher, node)
        found = self._run(compiler, memo, node, offset + limit, filter, facets, sort, deadline, boosts)
        if not boosts:
            self._local.last_search = memo
        if fields is not None and set(fields) <= set(COLUMN_FIELDS):
            return _page_from_columns(found, docsets, offset, limit, fields)
        return _page(found, memo, offset, limit)

    def _run(
        self, compiler: "_Compiler", memo: "_SearchMemo", node: Node | None, window: int,
        filter: FilterNode | None, facets: Sequence[str], sort: str, deadline: Deadline,
        boosts: Sequence[tuple[str, float]] = (),
    ) -> "_Found":
        """One search: every match counted (and its facets), the best ``window`` ranked.

        ``boosts`` (body terms with weights, only with an :class:`AnyWords` node)
        add to the scores of the documents the query matches without matching
        any others (feedback)."""
        docsets = compiler.docsets
        allowed = docsets.filter(filter) if filter is not None else None
        evaluator = _Evaluator(compiler, self._phrase_scorer(compiler), scoring=sort == "relevance", allowed=allowed)
        if sort == "relevance" and isinstance(node, AnyWords):
            matched, top = _AnyWordsScorer(compiler, evaluator).run(
                node, max(window, 1), allowed, boosts, memo.any_words
            )
            total = len(matched)
            bits = _bitset(matched, docsets.size) if facets else 0
        else:
            assert not boosts
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

    def collection_size(self) -> int:
        """The documents idf counts: deleted ones not yet merged away included (Whoosh's
        ``doc_count_all``), in the generation this thread searches (not refreshed here:
        the ranking layer asks it around a search, which refreshes)."""
        return self._current().doc_count_all()

    @_reads_index
    def term_frequency(self, field: str, term: str) -> int:
        """Whoosh's document frequency of ``term`` in ``field``, in the generation this
        thread searches (remembered per thread and generation; not refreshed here)."""
        self._current()
        return self._local.docsets.frequency(field, term)

    def _current(self) -> Searcher:
        """This thread's searcher as it is (checking for a new commit lists the directory)."""
        searcher = getattr(self._local, "searcher", None)
        return searcher if searcher is not None else self.searcher()

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

    def compact(self, max_segments: int, timeout: float = 0.0) -> bool:
        """:meth:`merge_segments` when the last commit has more than ``max_segments``; whether it merged."""
        if not max_segments or self.segment_count() <= max_segments:
            return False
        self.merge_segments(timeout)
        return True

    def writer(
        self, timeout: float = 0.0, *, vocabulary: Vocabulary | None = None, workers: int = 0
    ) -> "Writer":
        """A writer holding the index lock; raises :class:`IndexLocked` after ``timeout`` s.

        With ``workers``, that many worker processes (:class:`SegmentBuilders`, started
        once and kept for the next writers until :meth:`stop_workers`) index a share of
        large batches. The words of the documents this process adds are counted in
        ``vocabulary``; :meth:`Writer.commit` returns the counts of the workers' documents.
        """
        if workers > 0 and (self._builders is None or self._builders.workers != workers):
            self.stop_workers()
            self._builders = SegmentBuilders(self.path, workers)
        try:
            w = _SegmentWriter(self._ix, timeout=timeout, limitmb=256, codec=_codec())
        except whoosh.index.LockError as exc:
            raise IndexLocked(f"another ingest is writing to {self.path!r}") from exc
        w.vocabulary = vocabulary
        return Writer(w, self._builders if workers > 0 else None)

    def stop_workers(self) -> None:
        """Shut down the worker processes :meth:`writer` started (idle after a commit or cancel)."""
        builders, self._builders = self._builders, None
        if builders is not None:
            builders.close()


#: Romanized words whose readings an index keeps (a search box repeats them as it is typed into).
_READINGS_REMEMBERED = 10_000


class _SearchMemo:
    """What the runs of one search share: feedback's second run mostly re-finds
    the first's hits, and scores the same words."""

    def __init__(self, searcher: Searcher, node: Node | None) -> None:
        self.searcher = searcher
        self.node = node
        self.fields: dict[int, dict[str, Any]] = {}
        #: An any-word query's own scores and matches, see :meth:`_AnyWordsScorer.run`
        self.any_words: dict[AnyWords, tuple[np.ndarray, np.ndarray]] = {}

    def stored(self, docnum: int) -> dict[str, Any]:
        """A document's stored fields, read once per search."""
        fields = self.fields.get(docnum)
        if fields is None:
            fields = self.fields[docnum] = self.searcher.stored_fields(docnum)
        return fields


@dataclass
class _Found:
    """What one run of a search found: the total, the best ``(score, docnum)`` in
    rank order (a window from the first), and the facet counts."""

    total: int
    top: list[tuple[float, int]]
    facets: dict[str, dict[str, int]]


def _page_from_columns(found: _Found, docsets: _DocSets, offset: int, limit: int, fields: Sequence[str]) -> ResultSet:
    """A page whose hits carry only ``fields``, read from the sortable columns
    (a stored document is a compressed pickle: 0.1 ms each to read whole)."""
    columns = {name: docsets.column(name) for name in fields}
    hits = [
        (score, {name: labels[codes[docnum]] for name, (labels, codes) in columns.items()})
        for score, docnum in found.top[offset : offset + limit]
    ]
    return ResultSet(total=found.total, hits=hits, facets=found.facets)


def _page(found: _Found, memo: "_SearchMemo", offset: int, limit: int) -> ResultSet:
    """The page of ``found`` a search asked for, with the stored fields of its hits only."""
    hits = [(score, memo.stored(docnum)) for score, docnum in found.top[offset : offset + limit]]
    return ResultSet(total=found.total, hits=hits, facets=found.facets)
