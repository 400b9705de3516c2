"""Matching and scoring a query tree from document sets.

Owns: :class:`_Evaluator` (every node, nested any way, answered as bitsets and
score arrays) and :class:`_AnyWordsScorer` (long any-word queries, a term at a
time, with the proximity bonus where it can change the top). Whoosh stores
the index; we search it: no Whoosh matcher or collector is used, so a total,
the set of hits and the facets are the same whatever the sort, the page size
or the facets asked for, and nothing can loop in Whoosh's block-quality
skipping (Whoosh #446, #461). Scores are Whoosh's BM25F, computed the way
Whoosh computes them.

Must not touch: files (it reads through :mod:`.docsets` and :mod:`.phrases`).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np
import whoosh.reading

from ..querying import And, AnyWords, Node, Not, Or, Phrase, Prefix, Word
from .compiling import _Compiler
from .docsets import _best, _bitset, _mask, _members, _rank_key
from .phrases import NEARBY_SLOP, _PhraseScorer, _near


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
