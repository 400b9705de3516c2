"""Ranking ideas above the backend: any backend gets them, through its interface only.

* **Blended readings.** A romanized word stands for several Devanagari
  readings (:mod:`search.romanized`); each reading's weight is scaled by the
  commonest reading's rarity (:func:`blend_readings`), so a rare misreading
  cannot outscore the right one on rarity alone.
* **Pseudo-relevance feedback.** A headline shares few words with its story;
  for a long any-word query, the distinctive words of the best hits re-rank
  the hits after the first few (:func:`feedback_words`, :class:`Ranker`).

The long-query rule (a query of many words needs not all of them) lives in the
parser (:mod:`search.querying`). Must not touch: a backend's internals; it
calls :class:`~search.engine.backend.Backend` methods only.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import threading
from collections import defaultdict
from typing import Any, Callable, Sequence

from .analysis import Analyzer
from .deadline import Deadline, SearchTimeout
from .engine import Backend, Ranking, ResultSet
from .filtering import Condition, FilterNode
from .querying import And, AnyWords, Node, Not, Or, Phrase, Word

__all__ = ["Ranker", "blend_readings", "feedback_words", "whole_documents"]

#: Words of a hit's body that feedback reads (a cost bound for very long documents).
FEEDBACK_WORDS = 5_000
#: Long queries whose feedback words are kept, per index generation, for their next pages.
FEEDBACK_REMEMBERED = 256


class Ranker:
    """Searches a backend with the ranking ideas of this module on top.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        #: Feedback words of recent long queries, by (generation, query, filter), oldest first.
        self.feedback: dict[tuple[int, Node, FilterNode | None], list[tuple[str, float]]] = {}
        self._lock = threading.Lock()

    def find(
        self, node: Node | None, *, limit: int, offset: int = 0, max_prefix_terms: int = 50,
        filter: FilterNode | None = None, facets: Sequence[str] = (), sort: str = "relevance",
        time_limit: float = 0.0, deadline: Deadline | None = None, fields: Sequence[str] | None = None,
        feedback: bool = True,
    ) -> ResultSet:
        """:meth:`Backend.find` with romanized readings blended and, for a long any-word
        query by relevance, the hits after the first ``feedback_after`` re-ranked by the
        words of the best ``feedback_docs`` (whatever the page size: pages agree).
        ``fields`` as for :meth:`Backend.find`; ``feedback`` False leaves feedback out
        (hybrid search, where the meaning vectors find the stories in other words)."""
        backend = self.backend
        if deadline is None:
            deadline = Deadline(time_limit)
        deadline.check()
        if node is not None and _has_readings(node):
            node = blend_readings(node, backend.term_frequency, backend.collection_size())
        ranking = backend.ranking
        window = offset + limit
        same = dict(max_prefix_terms=max_prefix_terms, filter=filter, sort=sort, fields=fields)
        if not (
            feedback and isinstance(node, AnyWords) and sort == "relevance" and ranking.feedback_terms > 0
            and ranking.feedback_docs > 0 and window > ranking.feedback_after
        ):
            return backend.find(node, limit=limit, offset=offset, facets=facets, deadline=deadline, **same)
        found = backend.find(node, limit=max(window, ranking.feedback_docs), facets=facets, deadline=deadline, **same)
        kept = found.hits[: ranking.feedback_after]
        again = None
        if len(found.hits) > len(kept):
            try:
                # Optional work: at most half the time left, so the answer keeps time for its snippets.
                rerun = deadline.share(0.5)
                best = [stored for _, stored in found.hits[: ranking.feedback_docs]]
                if fields is not None:  # the hits carry ids only: feedback reads the best ones whole
                    whole = whole_documents(backend, [stored["id"] for stored in best], rerun)
                    best = [whole.get(stored["id"], stored) for stored in best]
                boosts = self._feedback(node, filter, best)
                if boosts:
                    rerun.check()
                    again = backend.find(node, limit=window, deadline=rerun, boosts=boosts, **same)
            except SearchTimeout:  # the search itself succeeded: answer it without feedback
                pass
        if again is None:
            return ResultSet(found.total, found.hits[offset:window], found.facets)
        seen = {stored["id"] for _, stored in kept}
        rest = [hit for hit in again.hits if hit[1]["id"] not in seen]
        return ResultSet(found.total, (kept + rest[: window - len(kept)])[offset:], found.facets)

    def _feedback(self, node: AnyWords, filter: FilterNode | None, texts: list[dict[str, Any]]) -> list[tuple[str, float]]:
        """:func:`feedback_words` of the best hits' stored ``texts``, kept for the query's
        next pages while the index generation lives."""
        backend = self.backend
        wanted = (backend.generation(), node, filter)
        with self._lock:
            words = self.feedback.get(wanted)
        if words is None:
            words = feedback_words(
                backend.analyzer, backend.ranking, backend.doc_count(), backend.term_frequency, node, texts
            )
            with self._lock:
                if len(self.feedback) >= FEEDBACK_REMEMBERED:
                    del self.feedback[next(iter(self.feedback))]
                self.feedback[wanted] = words
        return words


def whole_documents(backend: Backend, ids: Sequence[str], deadline: Deadline) -> dict[str, dict[str, Any]]:
    """``{id: all stored fields}`` of the documents ``ids``, in one search."""
    if not ids:
        return {}
    found = backend.find(None, limit=len(ids), filter=Condition("id", "in", tuple(ids)), deadline=deadline)
    return {stored["id"]: stored for _, stored in found.hits}


def feedback_words(
    analyzer: Analyzer, ranking: Ranking, live: int, frequency: Callable[[str, str], int], node: AnyWords,
    texts: list[dict[str, Any]],
) -> list[tuple[str, float]]:
    """Pseudo-relevance feedback: ``[(body term, boost)]`` of the words that best
    characterise the best hits of a long query (their stored ``texts``; ``live``
    documents in the index, ``frequency(field, term)`` a term's document frequency).

    A headline shares few words with its story, and those words are common to
    hundreds of stories; the best hits' other distinctive words (each weighted
    by its share of a hit's words times its idf, summed over the hits) find the
    stories about the same event further down. They only re-rank documents the
    query matched (the backend's ``boosts``). Measured in docs/relevance.md.
    """
    own: set[str] = set()  # the query's own terms, every reading
    for child in node.children:
        if isinstance(child, (Word, Phrase)):
            own.update(child.terms)
        if isinstance(child, Phrase) and child.alternatives:
            own.update(t for terms in child.alternatives for t in terms)
    share: dict[str, float] = defaultdict(float)  # a term's share of each hit's words, summed
    count: dict[str, int] = defaultdict(int)
    for stored in texts:
        tokens = list(itertools.islice(analyzer.tokens(stored.get("body") or ""), FEEDBACK_WORDS))
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


def blend_readings(node: Node, frequency: Callable[[str, str], int], size: int) -> Node:
    """Weigh the readings of a romanized word by their spelling *and* the
    commonest reading's rarity: each reading's weight is scaled down by
    idf(commonest) / idf(its own) (as Lucene's SynonymQuery scores synonyms
    with one blended document frequency). ``size``: the documents idf counts.

    Else a rare misreading outscores the right one on rarity alone:
    ``title:bharat`` put भारी (heavy) above every भारत. Measured with
    ``bench/romanized_eval.py``: roman phrases MRR@10 0.825 -> 0.832 as typed,
    0.856 -> 0.876 as any word; Devanagari queries have no readings. (Blending
    the typed word too gave 0.831 / 0.886 but cost covid-news headlines with a
    Latin word: `Coronavirus` is a word of the index as typed.)

    >>> word = Word("bharat", terms=("bharat", "भारत", "भारी"), weights=(1.0, 1.0, 0.9))
    >>> documents = {"भारत": 50, "भारी": 2}
    >>> [round(w, 2) for w in blend_readings(word, lambda field, term: documents.get(term, 0), 1000).weights]
    [1.0, 1.0, 0.53]
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
        children = tuple(blend_readings(c, frequency, size) for c in node.children)
        changed = any(new is not old for new, old in zip(children, node.children))
        return dataclasses.replace(node, children=children) if changed else node  # a Devanagari query: as it was
    if isinstance(node, Not):
        child = blend_readings(node.child, frequency, size)
        return node if child is node.child else dataclasses.replace(node, child=child)
    return node


def _has_readings(node: Node) -> bool:
    """Whether ``node`` has a romanized word with readings to blend (a Devanagari query has none)."""
    if isinstance(node, Word):
        return bool(node.weights) and len(node.terms) >= 3
    if isinstance(node, (And, Or, AnyWords)):
        return any(_has_readings(c) for c in node.children)
    if isinstance(node, Not):
        return _has_readings(node.child)
    return False
