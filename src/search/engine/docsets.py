"""Document sets: what the searches of one searcher (one thread, one index generation) keep.

Owns: :class:`_DocSets` (a term's live documents as a bitset, its BM25F score
array, field-length norms, columns for filters, facets and date order) and the
small array helpers of the evaluator (bitsets, intersections, top-k).

Must not touch: query trees (:mod:`.matching` walks them).
"""

from __future__ import annotations

import math
import operator
from typing import Any, Iterable

import numpy as np
import whoosh.codec.whoosh3
import whoosh.columns
import whoosh.scoring
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length, length_to_byte

from ..filtering import AllOf, Condition, FilterNode, Negate
from .lexicon import _Lexicon
from .postings import _NO_POSTINGS, _SegmentCache
from .storage import _segment_id


#: Document frequencies a thread keeps per index generation for feedback's candidate words
#: (a hit's distinctive words recur from query to query; about 100 bytes each).
_FREQUENCIES_REMEMBERED = 20_000


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
        self.label_codes: dict[str, dict[str, int]] = {}
        self.lengths: dict[str, np.ndarray] = {}
        self.scores: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self.scores_size = 0
        self.frequencies: dict[tuple[str, str], int] = {}
        #: In how many segments a term is, where the lexicons told (see :meth:`cost`).
        self.presence: dict[tuple[str, str], int] = {}
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
            if node.op in ("=", "in"):  # a set of values (hybrid search's ids): looked up, not tested one by one
                where = self._label_codes(node.field)
                wanted = np.zeros(len(labels), dtype=bool)
                wanted[[where[v] for v in node.values if v in where]] = True
                return wanted[codes]
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

    def column(self, name: str) -> tuple[list[str], np.ndarray]:
        """Field ``name``'s values (``""`` first) and, per document, the index of its value."""
        return self._column(name)

    def _label_codes(self, name: str) -> dict[str, int]:
        """``{value: its index in the column's labels}`` of field ``name``."""
        cached = self.label_codes.get(name)
        if cached is None:
            cached = self.label_codes[name] = {label: i for i, label in enumerate(self._column(name)[0])}
        return cached

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


def _rank_key(item: tuple[float, int]) -> tuple[float, int]:
    """Higher score first; on a tie the lower document number, as Whoosh's collector."""
    return (item[0], -item[1])
