"""Hybrid search: the lexical ranking fused with the meaning vectors' nearest documents.

A headline shares few words with its story; a model of meaning finds stories
about the same thing in other words. For a query that runs in hybrid mode the
query is embedded once; the candidates are the lexical top
``lexical_candidates`` and the ``semantic_candidates`` documents nearest to the
query's vector; each candidate's score is a linear mix of its BM25F score
(divided by the best one) and its cosine (min-max scaled over the candidates),
``semantic_weight`` the cosine's share. A linear mix beat reciprocal rank
fusion in every measurement (docs/relevance.md).

What never changes in hybrid mode:

* a quoted phrase, a ``-word``, a ``field:`` query, a prefix or a boolean
  query's structure still holds for every hit: a document the lexical query
  does not match is admitted only when it matches the query's *hard part*
  (:func:`hard_part`: the query without its plain words) and the filter;
* the total counts every hit one can page through: the lexical matches plus
  the nearest documents the lexical query does not match. Past the fused
  candidates, pages go on in lexical order;
* facets count that same set;
* a vector is used only while the index holds the version of the document it
  was made from (a replaced document waits for ``hindi-search embed``).

Latin-script (romanized) Hindi is not fused: the model does not read it
(dense retrieval alone: MRR@10 0.30 on romanized queries), so such queries stay
lexical. ``auto`` mode fuses only long natural-language queries (the parser's
any-word rule); short keyword queries from a search box stay lexical, so
keystroke latency does not grow.

Must not touch: a backend's internals (it uses :class:`~search.engine.Backend`
and :class:`~search.ranking.Ranker` only).
"""

from __future__ import annotations

import concurrent.futures
import math
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .analysis import normalise
from .deadline import Deadline, SearchTimeout
from .embedding import Embedder
from .engine import Backend, ResultSet
from .filtering import AllOf, Condition, FilterNode
from .querying import And, AnyWords, Node, Or, Phrase, Prefix, Word, positive_leaves
from .ranking import Ranker, whole_documents
from .vectors import VectorStore, VectorView

__all__ = ["MODES", "Fuser", "hard_part", "model_text", "choose_mode"]

#: Accepted values of ``mode`` on /search. ``auto``: hybrid for long natural-language queries.
MODES = ("auto", "lexical", "semantic", "hybrid")
#: Query vectors remembered (a query's next pages, the page's facet requests).
QUERY_VECTORS_REMEMBERED = 512
#: Embeds queries beside the request's thread (one model per process, its calls serialised).
_EMBEDDING = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="embed-query")

_LATIN = re.compile(r"[A-Za-z]")
_DEVANAGARI = re.compile(r"[\u0900-\u097F]")
_FIELD_NAME = re.compile(r"^\(*(title|body):")
_LETTERS = re.compile(r"[\w\u0900-\u0963\u0966-\u097F\u200c\u200d]+")  # a word: letters, signs, joiners

#: What a candidate carries until it is shown: enough to find its vector and sort it by date.
_CANDIDATE_FIELDS = ("id", "hash", "published")

#: :func:`hard_part` of a query whose every hit must match it lexically (nothing may be added).
EVERYTHING_REQUIRED = "everything"


def _plain(node: Node) -> bool:
    """A word typed without quotes, field or operator: hybrid search may do without it."""
    return isinstance(node, Word) and node.field is None and not node.quoted


def hard_part(node: Node) -> Node | None | str:
    """What a document found by meaning alone must still match: the query without
    its plain words (None: nothing, any document may come), or
    :data:`EVERYTHING_REQUIRED` when the query's structure leaves no room.

    >>> from search.analysis import Analyzer
    >>> from search.querying import parse, describe
    >>> describe(hard_part(parse('"लॉकडाउन में" मजदूर घर लौटे पैदल -दिल्ली', Analyzer())))
    '"लॉकडाउन में" AND NOT दिल्ल'
    >>> hard_part(parse("मजदूरों की घर वापसी पैदल", Analyzer())) is None
    True
    """
    if _plain(node) or isinstance(node, AnyWords):
        return None
    if isinstance(node, And):
        kept = [c for c in node.children if not (_plain(c) or isinstance(c, AnyWords))]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else And(tuple(kept))
    if isinstance(node, Or) and all(_plain(c) for c in node.children):
        return None
    if isinstance(node, (Phrase, Prefix, Word)):
        return node  # a quoted word or phrase, a field query, a prefix: exactly as typed
    return EVERYTHING_REQUIRED  # OR of phrases, nested structure: semantic only re-ranks


def model_text(q: str, node: Node, spelling: Callable[[str], str] | None = None) -> str:
    """What of the query ``q`` (parsed as ``node``) the model reads: the text as typed,
    stop words included (the model reads sentences), without what is excluded
    (``-word``, ``NOT word``), operators, field names, quotes and prefixes, each
    word in its normalised spelling (:func:`search.analysis.normalise`) or, with
    ``spelling`` (normalised word -> the index's commonest written form of it), in
    the spelling the documents use most; "" for
    a query mostly in Latin script (romanized Hindi, which the model does not
    understand) or one of nothing but prefixes.

    >>> from search.analysis import Analyzer
    >>> from search.querying import parse
    >>> q = 'हिन्दी के "गाँव में" -मास्क'
    >>> model_text(q, parse(q, Analyzer()))
    'हिंदी के गांव में'
    >>> model_text("bharat rus sahyog", parse("bharat rus sahyog", Analyzer()))
    ''
    """
    if re.search(r"(^|\s)(-|NOT\s+)\(", q):  # an excluded group: keep to the words the tree looks for
        words = [leaf.text for leaf in positive_leaves(node) if not isinstance(leaf, Prefix)]
    else:
        words, skip = [], False
        for token in q.split():
            if skip:
                skip = False
                continue
            if token in ("NOT", "!"):
                skip = True
                continue
            if token in ("OR", "AND", "||", "&&") or token.startswith("-") or token.rstrip('")').endswith("*"):
                continue
            words.append(_FIELD_NAME.sub("", token))
    text = " ".join(" ".join(words).replace('"', " ").replace("(", " ").replace(")", " ").split())
    latin, devanagari = len(_LATIN.findall(text)), len(_DEVANAGARI.findall(text))
    # One spelling of each word (हिन्दी -> हिंदी, गये -> गए, ज़ोर -> जोर), as the index
    # has them: the model's vector moves with spelling the lexical side ignores.
    if devanagari <= latin:
        return ""
    spell = spelling or (lambda word: word)
    # each run of letters of a token on its own: "ओडिशा:", "आगरा-दिल्ली"
    return " ".join(_LETTERS.sub(lambda m: spell(normalise(m.group())), token) for token in text.split())


def choose_mode(node: Node | None, mode: str, sort: str) -> str:
    """The mode a query runs in: ``auto`` means hybrid for a long any-word query by
    relevance (the parser's long-query rule), lexical otherwise."""
    if node is None:
        return "lexical"  # browsing: nothing to embed
    if mode == "auto":
        long_query = isinstance(node, AnyWords) or (
            isinstance(node, And) and any(isinstance(c, AnyWords) for c in node.children)
        )
        return "hybrid" if long_query and sort == "relevance" else "lexical"
    return mode


@dataclass
class _Candidate:
    score: float  # lexical (BM25F), 0 when the lexical query does not match
    stored: dict[str, Any]
    cosine: float | None  # None: no vector of this version
    lexical_rank: int  # rank among lexical hits; len(hits) + n for those found by meaning alone


class Fuser:
    """Runs a query tree in lexical, semantic or hybrid mode over one backend."""

    def __init__(
        self, ranker: Ranker, embedder: Embedder, store: VectorStore, *, weight: float,
        lexical_candidates: int, semantic_candidates: int,
    ) -> None:
        self.ranker = ranker
        self.backend: Backend = ranker.backend
        self.embedder = embedder
        self.store = store
        self.weight = weight
        self.lexical_candidates = lexical_candidates
        self.semantic_candidates = semantic_candidates
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def view(self) -> VectorView | None:
        """The committed vectors of this model, or None."""
        view = self.store.view()
        if view is None or view.model != self.embedder.name or not len(view):
            return None
        return view

    def query_vector(self, text: str) -> np.ndarray:
        with self._lock:
            cached = self._vectors.get(text)
        if cached is None:
            cached = self.embedder.queries([text])[0]
            with self._lock:
                if len(self._vectors) >= QUERY_VECTORS_REMEMBERED:
                    del self._vectors[next(iter(self._vectors))]
                self._vectors[text] = cached
        return cached

    def find(
        self, q: str, node: Node, mode: str, *, limit: int, offset: int = 0, filter: FilterNode | None = None,
        facets: Sequence[str] = (), sort: str = "relevance", deadline: Deadline,
        spelling: Callable[[str], str] | None = None, **same: Any,
    ) -> tuple[ResultSet, str]:
        """``(what was found, the mode that ran)``; ``mode`` is ``hybrid`` or ``semantic``.
        Runs lexically (and says so) when there is no vector yet, the query has no
        words the model reads, or the semantic part runs out of time."""
        text = model_text(q, node, spelling)
        view = self.view() if text else None
        if view is None:
            return self._lexical(node, limit, offset, filter, facets, sort, deadline, same), "lexical"
        window = offset + limit
        # The model embeds the query and the product finds its nearest documents (both
        # outside the interpreter lock) while the lexical candidates are found: the
        # costs overlap instead of adding up.
        embedding = _EMBEDDING.submit(self._nearest, text, view)
        lexical = None
        if mode == "hybrid":
            # Without pseudo-relevance feedback: the nearest documents do its work (measured:
            # MRR@10 +0.005, R@100 -0.003, 13 ms less a query; docs/relevance.md).
            lexical = self._lexical(
                node, max(self.lexical_candidates, window) if sort != "relevance" else self.lexical_candidates,
                0, filter, facets, sort, deadline, same, fields=_CANDIDATE_FIELDS, feedback=False,
            )
        try:
            semantic = deadline.share(0.5) if lexical is not None else deadline
            try:
                vector, nearest = embedding.result(timeout=None if math.isinf(semantic.at) else semantic.remaining())
            except concurrent.futures.TimeoutError:
                raise SearchTimeout("the query's embedding took longer than its share of the time limit") from None
            semantic.check()
            found = self._semantic_candidates(node, view, nearest, lexical, filter, semantic, same)
        except SearchTimeout:
            if lexical is None:
                raise
            return self._lexical(node, limit, offset, filter, facets, sort, deadline, same), "lexical"
        added, found_lexically = found
        if mode == "semantic":
            ranked = sorted(added, key=lambda c: (-(c.cosine or 0.0), c.stored["id"]))
            if sort != "relevance":
                ranked = _by_date(ranked, sort)
            hits = self._whole([(c.cosine or 0.0, c.stored) for c in ranked[offset:window]], deadline)
            return ResultSet(len(ranked), hits, self._facets({}, ranked, facets, filter, deadline)), "semantic"
        assert lexical is not None
        total = lexical.total + len(added)
        facet_counts = self._facets(lexical.facets, added, facets, filter, deadline)
        if sort != "relevance":  # the same set, by date: the lexical hits and the added ones merged
            merged = _by_date([_Candidate(s, f, None, i) for i, (s, f) in enumerate(lexical.hits)] + added, sort)
            return ResultSet(total, self._whole([(c.score, c.stored) for c in merged[offset:window]], deadline), facet_counts), "hybrid"
        head = self._fuse(lexical, found_lexically, added, view, vector)
        hits = self._whole([(score, c.stored) for score, c in head[offset:window]], deadline)
        if window > len(head) and lexical.total > len(lexical.hits):
            hits += self._tail(node, lexical, found_lexically, max(0, offset - len(head)), window - len(head),
                               filter, deadline, same)
        return ResultSet(total, hits, facet_counts), "hybrid"

    # -- the parts ---------------------------------------------------------

    def _lexical(self, node: Node, limit: int, offset: int, filter: FilterNode | None, facets: Sequence[str],
                 sort: str, deadline: Deadline, same: dict[str, Any], fields: Sequence[str] | None = None,
                 feedback: bool = True) -> ResultSet:
        return self.ranker.find(node, limit=limit, offset=offset, filter=filter, facets=facets, sort=sort,
                                deadline=deadline, fields=fields, feedback=feedback, **same)

    def _whole(self, hits: list[tuple[float, dict[str, Any]]], deadline: Deadline) -> list[tuple[float, dict[str, Any]]]:
        """The hits of a page with all their stored fields (candidates carry ids and hashes only)."""
        whole = whole_documents(self.backend, [stored["id"] for _, stored in hits if "body" not in stored], deadline)
        return [(score, whole.get(stored["id"], stored)) for score, stored in hits]

    def _nearest(self, text: str, view: VectorView) -> tuple[np.ndarray, list[tuple[int, float]]]:
        """The query's vector and its :attr:`semantic_candidates` nearest rows of ``view``."""
        vector = self.query_vector(text)
        return vector, view.nearest(vector, self.semantic_candidates)

    def _semantic_candidates(
        self, node: Node, view: VectorView, nearest: list[tuple[int, float]], lexical: ResultSet | None,
        filter: FilterNode | None, deadline: Deadline, same: dict[str, Any],
    ) -> tuple[list[_Candidate], list[_Candidate]]:
        """The nearest documents the lexical candidates lack, checked in the index:
        ``(added: matched by meaning alone, found_lexically: lexical matches past the
        lexical candidates)``, each with the vector of its current version."""
        shown = {stored["id"] for _, stored in lexical.hits} if lexical is not None else set()
        cosines = {}
        for row, cosine in nearest:
            doc_id = view.ids[row]
            if doc_id not in shown:
                cosines[doc_id] = (cosine, view.hashes[row])
        deadline.check()
        found_lexically: list[_Candidate] = []
        rest = set(cosines)
        if lexical is not None and rest:  # the lexical matches among them are hits anyway: their BM25F scores
            matched = self.backend.find(node, limit=len(rest), filter=_only(filter, rest), deadline=deadline,
                                        fields=_CANDIDATE_FIELDS, **same)
            for score, stored in matched.hits:
                rest.discard(stored["id"])
                cosine, made_from = cosines[stored["id"]]
                if stored.get("hash", "") == made_from:
                    found_lexically.append(_Candidate(score, stored, cosine, len(shown) + len(found_lexically)))
        hard = hard_part(node) if lexical is not None else _semantic_hard_part(node)
        added: list[_Candidate] = []
        if rest and hard != EVERYTHING_REQUIRED:
            allowed = self.backend.find(hard, limit=len(rest), filter=_only(filter, rest), deadline=deadline,  # type: ignore[arg-type]
                                        fields=_CANDIDATE_FIELDS, **same)
            for _, stored in allowed.hits:
                cosine, made_from = cosines[stored["id"]]
                if stored.get("hash", "") == made_from:  # else replaced since it was embedded
                    added.append(_Candidate(0.0, stored, cosine, len(shown) + len(cosines) + len(added)))
        return added, found_lexically

    def _fuse(self, lexical: ResultSet, found_lexically: list[_Candidate], added: list[_Candidate],
              view: VectorView, vector: np.ndarray) -> list[tuple[float, _Candidate]]:
        """The candidates in fused order, with their fused scores."""
        candidates = []
        for rank, (score, stored) in enumerate(lexical.hits):
            own = view.vector(stored["id"], stored.get("hash", ""))
            cosine = float(own @ vector) if own is not None else None
            candidates.append(_Candidate(score, stored, cosine, rank))
        candidates += found_lexically + added
        if not candidates:
            return []
        best = max((c.score for c in candidates), default=0.0) or 1.0
        cosines = [c.cosine for c in candidates if c.cosine is not None]
        low, high = (min(cosines), max(cosines)) if cosines else (0.0, 1.0)
        spread = (high - low) or 1.0
        w = self.weight
        fused = [
            ((1 - w) * c.score / best + w * ((c.cosine - low) / spread if c.cosine is not None else 0.0), c)
            for c in candidates
        ]
        fused.sort(key=lambda sc: (-sc[0], sc[1].lexical_rank))
        return fused

    def _tail(self, node: Node, lexical: ResultSet, found_lexically: list[_Candidate], start: int, end: int,
              filter: FilterNode | None, deadline: Deadline, same: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
        """Lexical hits past the fused candidates, ``[start, end)`` of them (those fused already left out)."""
        fused = {c.stored["id"] for c in found_lexically}
        more = self.ranker.find(node, limit=end + len(fused), offset=len(lexical.hits), filter=filter,
                                deadline=deadline, feedback=False, **same)
        best = (lexical.hits[0][0] if lexical.hits else 1.0) or 1.0
        rest = [((1 - self.weight) * score / best, stored) for score, stored in more.hits if stored["id"] not in fused]
        return rest[start:end]

    def _facets(self, lexical: dict[str, dict[str, int]], added: list[_Candidate], facets: Sequence[str],
                filter: FilterNode | None, deadline: Deadline) -> dict[str, dict[str, int]]:
        """Facet counts of the lexical matches plus the documents added by meaning."""
        if not facets:
            return {}
        counts = {name: dict(lexical.get(name, {})) for name in facets}
        if added:
            extra = self.backend.find(None, limit=0, filter=_only(filter, {c.stored["id"] for c in added}),
                                      facets=facets, deadline=deadline)
            for name, values in extra.facets.items():
                for value, n in values.items():
                    counts[name][value] = counts[name].get(value, 0) + n
        return counts


def _semantic_hard_part(node: Node) -> Node | None | str:
    """In semantic mode every document comes by meaning: the hard part decides alone,
    and a query whose structure leaves no room keeps its lexical matches only."""
    hard = hard_part(node)
    return node if hard == EVERYTHING_REQUIRED else hard


def _only(filter: FilterNode | None, ids: set[str]) -> FilterNode:
    """``filter`` and the documents ``ids``."""
    chosen = Condition("id", "in", tuple(sorted(ids)))
    return chosen if filter is None else AllOf((filter, chosen))


def _by_date(candidates: list[_Candidate], sort: str) -> list[_Candidate]:
    """Newest (``-published``) or oldest first, undated last either way, then as given."""
    dated = [c for c in candidates if c.stored.get("published")]
    undated = [c for c in candidates if not c.stored.get("published")]
    dated.sort(key=lambda c: c.stored["published"], reverse=sort == "-published")
    return dated + undated

