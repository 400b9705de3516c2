"""Term postings of a segment, decoded in bulk, and the cache they are kept in.

Owns: :func:`_decode_postings` (a W3 posting list read with one file read and
taken apart in memory) and :class:`_SegmentCache` (what was read of a term in
a segment, shared by every thread and index generation).

Must not touch: scores (:mod:`.docsets`) or positions (:mod:`.positions`).
"""

from __future__ import annotations

import io
import pickle
import struct
import threading
import zlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import whoosh.codec.whoosh3
import whoosh.matching
import whoosh.reading

from .backend import IndexUnavailable
from .lexicon import _Lexicon
from .storage import _segment_id


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


def _postings_size(postings: tuple[np.ndarray, np.ndarray]) -> int:
    return postings[0].nbytes + postings[1].nbytes + 200
