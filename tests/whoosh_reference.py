"""Whoosh's own answer to a query tree, for differential tests of the engine.

The engine (:mod:`search.engine`) matches and scores every query from postings
it reads in bulk, never with Whoosh's matchers. Where Whoosh 2.7.4 itself is
right (positive queries, one or many segments, deletions, filters, facets,
date order) its answer is the reference: this module compiles a query tree to
Whoosh queries the way the engine's scores are defined (BM25F over title,
body and lead, phrases, prefixes, the nearby bonus of romanized words, the
feedback words of long queries) and runs Whoosh's searcher, collector and
facets on it. Known Whoosh faults are out of its reach and tested against the
brute-force oracle instead (tests/test_oracle.py): excluded words in a segment
with deletions, a NOT inside an OR, block-quality skipping that loops.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import whoosh.collectors
import whoosh.query
import whoosh.scoring
import whoosh.sorting

from search.engine import ResultSet, SearchIndex
from search.engine.phrases import MAX_PHRASE_READINGS, NEARBY_SLOP
from search.ranking import blend_readings as _blend_readings
from search.ranking import feedback_words
from search.romanized import best_readings as _best_readings
from search.filtering import AllOf, AnyOf, Condition, FilterNode, Negate
from search.querying import And, AnyWords, Node, Not, Or, Phrase, Prefix, Word


def _or(queries: Iterable[whoosh.query.Query]) -> whoosh.query.Query:
    queries = list(queries)
    if not queries:
        return whoosh.query.NullQuery
    return queries[0] if len(queries) == 1 else whoosh.query.Or(queries)


class WhooshReference:
    """Searches ``index``'s files with Whoosh alone (a searcher of its own)."""

    def __init__(self, index: SearchIndex, max_prefix_terms: int = 50) -> None:
        self.index = index
        self.ranking = index.ranking
        self.max_prefix_terms = max_prefix_terms
        weighting = whoosh.scoring.BM25F(B=self.ranking.b, K1=self.ranking.k1)
        self.searcher = index._ix.searcher(weighting=weighting)
        self.reader = self.searcher.reader()
        self.analyzer = index.analyzer
        self.read_roman = index.read_roman
        self.stored = index.stored

    # -- the query tree as Whoosh queries ----------------------------------

    def fields(self, field: str | None) -> list[tuple[str, float]]:
        if field:
            return [(field, 1.0)]
        return [("title", self.ranking.title_boost), ("body", 1.0)]

    def word_fields(self, node: Word) -> list[tuple[str, float]]:
        fields = self.fields(node.field)
        if node.field is None and self.ranking.lead_boost > 0:
            return [*fields, ("lead", self.ranking.lead_boost)]
        return fields

    def expand(self, field: str, prefix: str) -> list[str]:
        terms = [t.decode("utf-8") for t in self.reader.expand_prefix(field, prefix)]
        if len(terms) > self.max_prefix_terms:
            terms.sort(key=lambda t: -self.reader.doc_frequency(field, t))
            terms = terms[: self.max_prefix_terms]
        return terms

    def compile(self, node: Node) -> whoosh.query.Query:
        if isinstance(node, Word):
            weights = node.weights or (1.0,) * len(node.terms)
            return _or(
                whoosh.query.Term(f, term, boost=boost * weight)
                for f, boost in self.word_fields(node)
                for term, weight in zip(node.terms, weights)
            )
        if isinstance(node, Phrase):
            readings = (
                _best_readings(node.alternatives, node.weights or (), MAX_PHRASE_READINGS)
                if node.alternatives
                else [(node.terms, 1.0)]
            )
            return _or(
                whoosh.query.Phrase(f, list(terms), boost=boost * weight)
                for f, boost in self.fields(node.field)
                for terms, weight in readings
            )
        if isinstance(node, Prefix):
            return _or(
                whoosh.query.Term(f, term, boost=boost)
                for f, boost in self.fields(node.field)
                for term in self.expand(f, node.prefix)
            )
        if isinstance(node, Not):
            return whoosh.query.Not(self.compile(node.child))
        if isinstance(node, And):
            positive = [self.compile(c) for c in node.children if not isinstance(c, Not)]
            negative = [self.compile(c.child) for c in node.children if isinstance(c, Not)]
            query = positive[0] if len(positive) == 1 else whoosh.query.And(positive)
            nearby = self.nearby(node)
            if nearby is not None:
                query = whoosh.query.AndMaybe(query, nearby)
            return whoosh.query.AndNot(query, _or(negative)) if negative else query
        if isinstance(node, Or):
            return _or(self.compile(c) for c in node.children)
        if isinstance(node, AnyWords):
            clauses = [self.compile(c) for c in node.children]
            boost = self.ranking.proximity_boost
            if boost > 0:
                for left, right in zip(node.children, node.children[1:]):
                    if isinstance(left, Word) and isinstance(right, Word) and not (left.field or right.field):
                        clauses.extend(
                            whoosh.query.Phrase(
                                f, [left.terms[0], right.terms[0]], slop=self.ranking.proximity_slop,
                                boost=weight * boost,
                            )
                            for f, weight in self.fields(None)
                        )
            return _or(clauses)
        raise TypeError(f"not a query node: {node!r}")

    def nearby(self, node: And) -> whoosh.query.Query | None:
        words = [c for c in node.children if isinstance(c, Word) and c.field is None]
        if len(words) < 2 or all(w.weights is None for w in words):
            return None
        readings = _best_readings(
            [w.terms for w in words], [w.weights or (1.0,) * len(w.terms) for w in words], MAX_PHRASE_READINGS
        )
        return _or(
            whoosh.query.Phrase(f, list(terms), slop=NEARBY_SLOP, boost=boost * weight)
            for f, boost in self.fields(None)
            for terms, weight in readings
        )

    # -- searching -----------------------------------------------------------

    def find(
        self, node: Node | None, *, limit: int, filter: FilterNode | None = None, facets: Sequence[str] = (),
        sort: str = "relevance",
    ) -> ResultSet:
        """As :meth:`SearchIndex.find` with the engine's ranking, feedback included."""
        if node is not None:
            node = _blend_readings(node, self.searcher.doc_frequency, self.searcher.doc_count_all())
        ranking = self.ranking
        if not (
            isinstance(node, AnyWords) and sort == "relevance" and ranking.feedback_terms > 0
            and ranking.feedback_docs > 0 and limit > ranking.feedback_after
        ):
            return self._run(node, limit, filter, facets, sort)
        found = self._run(node, max(limit, ranking.feedback_docs), filter, facets, sort)
        kept = found.hits[: ranking.feedback_after]
        extra = []
        if len(found.hits) > len(kept):
            texts = [fields for _, fields in found.hits[: ranking.feedback_docs]]
            extra = feedback_words(
                self.index.analyzer, ranking, self.searcher.doc_count(), self.searcher.doc_frequency, node, texts
            )
        if not extra:
            return ResultSet(total=found.total, hits=found.hits[:limit], facets=found.facets)
        again = self._run(node, limit, filter, (), sort, extra)
        seen = {fields["id"] for _, fields in kept}
        rest = [hit for hit in again.hits if hit[1]["id"] not in seen]
        return ResultSet(total=found.total, hits=kept + rest[: limit - len(kept)], facets=found.facets)

    def _run(
        self, node: Node | None, limit: int, filter: FilterNode | None, facets: Sequence[str], sort: str,
        extra: Sequence[tuple[str, float]] = (),
    ) -> ResultSet:
        query = whoosh.query.Every() if node is None else self.compile(node)
        if extra:
            query = whoosh.query.AndMaybe(query, _or(whoosh.query.Term("body", t, boost=b) for t, b in extra))
        newest_first = sort.startswith("-")
        sortedby = None
        if sort != "relevance":
            facet = whoosh.sorting.FieldFacet("published")
            sortedby = facet if newest_first else whoosh.sorting.TranslateFacet(lambda k: k or b"\xff", facet)
        groupedby = {name: whoosh.sorting.FieldFacet(name, maptype=whoosh.sorting.Count) for name in facets} or None
        optimize = not extra
        collector = self.searcher.collector(
            limit=max(limit, 1), sortedby=sortedby, reverse=newest_first, groupedby=groupedby, optimize=optimize
        )
        if not optimize:
            collector.replace = 0
        if filter is not None:
            collector = whoosh.collectors.FilterCollector(collector, _compile_filter(filter))
        self.searcher.search_with_collector(query, collector)
        results = collector.results()
        hits = [((hit.score or 0.0) if sortedby is None else 0.0, self.searcher.stored_fields(hit.docnum)) for hit in results]
        counts = {
            name: {str(k): int(v) for k, v in results.groups(name).items() if k not in (None, "", b"")}
            for name in facets
        }
        return ResultSet(total=len(results), hits=hits[:limit], facets=counts)


def _compile_filter(node: FilterNode) -> Any:
    if isinstance(node, Condition):
        if node.op in ("=", "in"):
            return _or(whoosh.query.Term(node.field, v) for v in node.values)
        if node.op == "!=":
            return whoosh.query.Not(whoosh.query.Term(node.field, node.values[0]))
        value = node.values[0]
        if node.op in (">", ">="):
            return whoosh.query.TermRange(node.field, value, None, startexcl=node.op == ">")
        return whoosh.query.TermRange(node.field, None, value, endexcl=node.op == "<")
    if isinstance(node, Negate):
        return whoosh.query.Not(_compile_filter(node.child))
    if isinstance(node, AllOf):
        return whoosh.query.And([_compile_filter(c) for c in node.children])
    if isinstance(node, AnyOf):
        return whoosh.query.Or([_compile_filter(c) for c in node.children])
    raise TypeError(f"not a filter node: {node!r}")
