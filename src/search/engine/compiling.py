"""What the nodes of a query tree stand for in this index, and what answering them will cost.

Owns: :class:`_Compiler` (the fields and weights a word or phrase is looked
for in, prefix expansion from the lexicons, kept per generation, the readings
of romanized words that earn the nearby bonus) and the cost model of
:func:`_estimate` (microseconds, before anything is read).

Must not touch: postings (:mod:`.docsets` reads them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from whoosh.searching import Searcher

from ..deadline import Deadline
from ..querying import And, Node, Not, Phrase, Prefix, Word
from ..romanized import best_readings as _best_readings
from .backend import Ranking
from .docsets import _COST_PER_DOCUMENT, _DocSets
from .lexicon import _prefixed_terms
from .phrases import MAX_PHRASE_READINGS, _PhraseScorer
from .postings import _SegmentCache


if TYPE_CHECKING:
    from .index import SearchIndex


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


#: Prefix expansions a thread keeps per index generation.
_EXPANSIONS_REMEMBERED = 512


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
