"""Each segment's lexicon: its sorted terms, document frequencies, posting extents
and phonetic keys, read once from the term table.

Owns: :class:`_Lexicon` and how it is read (:func:`_read_lexicon`, straight
from Whoosh 2.7's term table, :func:`_lexicon_items`). Prefix queries expand
from it (a binary search, then the slice's frequencies); romanized words are
read against its Devanagari terms filed under their phonetic key
(:mod:`search.romanized`).

Must not touch: postings (it only says where they are).
"""

from __future__ import annotations

import bisect
import struct
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import whoosh.codec.whoosh3
import whoosh.reading

from ..deadline import Deadline
from ..romanized import key
from .backend import TEXT_FIELDS
from .storage import _segment_id


#: ``filetables._lengths``: the key and value lengths before each hash file record.
_HASH_LENGTHS = struct.Struct("!ii")


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


class _Lexicons:
    """Every segment's :class:`_Lexicon`, by segment id: read once, then shared by
    every thread and index generation (segments never change); the segments a
    commit adds are read by a background thread."""

    def __init__(self, open_searcher: Callable[[], Any]) -> None:
        #: Segment id -> its lexicon (what has been read so far).
        self.by_segment: dict[str, _Lexicon] = {}
        self._open_searcher = open_searcher  # a searcher of the latest commit, for the filing thread
        self._filed = threading.Condition()
        self._filing = False  # a thread reads new segments' lexicons

    def of(self, readers: list[Any], *, wait: bool, deadline: Deadline) -> list[tuple[Any, _Lexicon | None]]:
        """``(reader, its lexicon or None)`` for the segment ``readers`` of one searcher
        (see :meth:`SearchIndex.lexicons <search.engine.index.SearchIndex.lexicons>`)."""
        found: list[tuple[Any, _Lexicon | None]] = []
        missing = False
        for reader in readers:
            segment_id = _segment_id(reader)
            if segment_id is None:  # an empty index
                continue
            lexicon = self.by_segment.get(segment_id)
            missing = missing or lexicon is None
            found.append((reader, lexicon))
        if not missing:
            self._forget({id(lexicon) for _, lexicon in found})
            return found
        self._file()
        if not wait:
            return found
        while True:
            with self._filed:
                found = [(reader, self.by_segment.get(_segment_id(reader))) for reader, _ in found]
                if all(lexicon is not None for _, lexicon in found):
                    return found
                filing = self._filing
                if filing:
                    deadline.check()
                    self._filed.wait(min(0.1, deadline.remaining() or 0.1))
                    continue
            # The filing thread read a later commit, which no longer has these segments
            # (merged away meanwhile): read them here.
            for reader, lexicon in found:
                if lexicon is None:
                    deadline.check()
                    read = _read_lexicon(reader)
                    with self._filed:
                        self.by_segment.setdefault(_segment_id(reader) or "", read)

    def _file(self) -> None:
        """Read, in a background thread, the lexicons of the latest commit's segments that have none."""
        with self._filed:
            if self._filing:
                return
            self._filing = True
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """The filing thread: with a searcher of its own (Whoosh's readers are not shared)."""
        try:
            with self._open_searcher() as searcher:
                for reader, _ in searcher.reader().leaf_readers():
                    segment_id = _segment_id(reader)
                    if segment_id is not None and segment_id not in self.by_segment:
                        lexicon = _read_lexicon(reader, pause=0.005)
                        with self._filed:
                            self.by_segment[segment_id] = lexicon
                            self._filed.notify_all()
        except Exception:  # noqa: BLE001 - a closed or damaged index: the searches report it
            pass
        finally:
            with self._filed:
                self._filing = False
                self._filed.notify_all()

    def _forget(self, live: set[int]) -> None:
        """Drop the lexicons of segments merged away (kept up to a few spare)."""
        if len(self.by_segment) > 2 * len(live) + 8:
            with self._filed:
                for segment_id in [k for k, m in self.by_segment.items() if id(m) not in live]:
                    del self.by_segment[segment_id]
