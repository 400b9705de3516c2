"""Phrases answered from term positions decoded in bulk.

Owns: :class:`_PhraseScorer` (exact phrases, and ordered words within a slop,
matched and scored as Whoosh's ``Phrase`` would).

Must not touch: postings files (positions come from :mod:`.positions`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from whoosh.searching import Searcher

from ..querying import Phrase
from ..romanized import best_readings as _best_readings
from .docsets import _DocSets, _common, _distinct
from .positions import _Occurrences, _read_occurrences
from .postings import _SegmentCache


if TYPE_CHECKING:
    from .compiling import _Compiler


#: Most readings a phrase with romanized words is searched as.
MAX_PHRASE_READINGS = 16
#: How far apart (in words) the readings of romanized keywords may stand to
#: earn the nearby bonus: room for the stop words a keyword query drops.
NEARBY_SLOP = 3


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
