"""Term positions of a segment, decoded in bulk for phrases.

Owns: :class:`_Occurrences` (where a term occurs: documents, weights, and
``docnum << 32 | position`` keys) and how they are read from Whoosh's
Positions format without unpickling each posting's value.

Must not touch: matching phrases (:mod:`.phrases`).
"""

from __future__ import annotations

import bisect
import pickle
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import whoosh.codec.whoosh3
import whoosh.matching
from whoosh.codec.whoosh3 import W3LeafMatcher

from .postings import _block_weights, _w3_blocks


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
