"""Query -> hits with highlighted snippets, facets, suggestions. The code behind
``/search``, the exports, ``/suggest``, the search page and ``hindi-search query``.

Owns: :class:`SearchService` (parse, admit, rank through the backend interface,
snippets from :mod:`search.highlighting`, did-you-mean, completions, stats).
Must not touch: a backend's internals (it speaks :mod:`search.engine.backend`).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from . import admission
from .admission import HIT_COST, Busy, ExpensiveSearches, text_cost
from .analysis import Analyzer
from .config import Settings
from .deadline import NO_DEADLINE, Deadline, SearchTimeout
from .embedding import SemanticUnavailable, load_embedder, probed_status
from .engine import SORTS, Backend, IndexUnavailable, Ranking, ResultSet, open_index
from .filtering import FilterError, FilterNode, describe_filter, parse_filter
from .fusion import MODES, Fuser, choose_mode
from .highlighting import _hit_snippet, _SnippetStyle, highlight, make_fragments, make_snippet
from .querying import Node, QueryError, Word, describe, parse, positive_leaves
from .ranking import Ranker
from .romanized import RomanCompletions, is_roman
from .vectors import VectorStore
from .vocabulary import VOCABULARY_FILE, Vocabulary

__all__ = [
    "SearchService",
    "SearchRequest",
    "browse_sort",
    "SearchResponse",
    "Hit",
    "make_snippet",
    "make_fragments",
    "QueryError",
    "FilterError",
    "SearchTimeout",
    "Busy",
    "Deadline",
    "IndexUnavailable",
    "SORTS",
    "FACETS",
    "MODES",
    "SemanticOff",
]

#: Accepted values of ``facets`` (and of ``sort``: :data:`search.engine.SORTS`).
FACETS = ("source", "category", "published")


def browse_sort(sort: str) -> str:
    """The order of a placeholder search (no query): without words there is no
    relevance, so newest first unless ``published`` asks for oldest first.

    >>> browse_sort("relevance"), browse_sort("published")
    ('-published', 'published')
    """
    return "published" if sort == "published" else "-published"


@dataclass(frozen=True)
class SearchRequest:
    q: str
    page: int = 1
    per_page: int = 10
    filter: str = ""
    facets: tuple[str, ...] = ()
    sort: str = "relevance"
    highlight_pre_tag: str = "<mark>"
    highlight_post_tag: str = "</mark>"
    snippet_chars: int | None = None  # None: the configured default
    snippets: int = 1
    mode: str = "auto"  # lexical, semantic, hybrid; auto: hybrid for long natural-language queries

    def __post_init__(self) -> None:
        if not self.q.strip():  # a placeholder search is by date (browse_sort)
            object.__setattr__(self, "sort", browse_sort(self.sort))


@dataclass
class Hit:
    id: str
    title: str
    url: str
    source: str
    published: str
    category: str
    score: float
    snippet: str
    title_html: str = ""


@dataclass
class SearchResponse:
    query: str
    parsed: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    sort: str = "relevance"
    filter: str | None = None
    facets: dict[str, dict[str, int]] | None = None
    suggestion: str | None = None
    mode: str = "lexical"  # the mode that ran

    def as_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready data, fields in declaration order. Shallow:
        ``dataclasses.asdict`` deep-copies every value (0.3 ms for a page of 10 hits)."""
        out = dict(self.__dict__)
        out["hits"] = [dict(hit.__dict__) for hit in self.hits]
        return out


#: Estimated cost of embedding a query, in the admission's microseconds.
EMBED_COST = 15_000


class SemanticOff(ValueError):
    """A request asked for semantic or hybrid search where it is not available; the message says why."""


#: How many of the most common written words a server analyses as it starts
#: (about 3 MB of the analyzer's memory; the words of nearly every text).
WARM_WORDS = 30_000
#: Most written words a server's analyzer remembers (about 30 MB).
SERVER_WORDS = 60_000


class SearchService:
    """Answers searches from one index directory; opens it lazily, sees new commits.

    Every public method takes the request's :class:`~search.deadline.Deadline`
    (a new one with ``query_time_limit`` when none is given) and checks it
    between its steps: parsing, each search, snippets, did-you-mean.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._index: Backend | None = None
        self._ranker: Ranker | None = None
        self._lock = threading.Lock()
        self._roman_lock = threading.Lock()
        self._roman_completions: tuple[Vocabulary, RomanCompletions] | None = None
        self._vocabulary: Vocabulary | None = None
        self._vocabulary_checked = 0.0
        self._vocabulary_stamp: int | None = None
        self._vocabulary_loading = False
        self._fuser: Fuser | None = None
        self._semantic_reason: str | None = None if settings.semantic else "off (set SEARCH_SEMANTIC=1)"
        shared = admission.SERVER_ADMISSION
        if shared is not None and (shared.cheap, shared.budget) == (settings.cheap_cost, max(settings.work_budget, 1)):
            self.expensive = shared
        else:
            self.expensive = ExpensiveSearches(settings.cheap_cost, settings.work_budget)

    def index(self) -> Backend:
        """The open index; raises :class:`IndexUnavailable` (retried on the next call)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    index = open_index(
                        self.settings.index, refresh_seconds=self.settings.refresh_seconds,
                        ranking=Ranking.from_settings(self.settings),
                        cache_bytes=self.settings.cache_mb << 20,
                        positions_bytes=self.settings.positions_cache_mb << 20,
                    )
                    # A server analyses the words of every hit's text: bound what it remembers
                    # (an ingest remembers more, for speed; see Analyzer.cache_size).
                    index.analyzer.cache_size = min(index.analyzer.cache_size, SERVER_WORDS)
                    self._ranker = Ranker(index)
                    self._index = index
        return self._index

    def deadline(self) -> Deadline:
        """A new deadline of ``query_time_limit`` seconds, for one request."""
        return Deadline(self.settings.query_time_limit)

    def generation(self) -> int | None:
        """The index commit this thread answers from (None without an index)."""
        try:
            return self.index().generation()
        except IndexUnavailable:
            return None

    def answers_version(self) -> str | None:
        """What an answer depends on besides the request and the settings, as text that
        starts with the index commit: the commit, the vocabulary loaded (/suggest,
        did-you-mean) and, with hybrid search on, whether the model runs and which
        vectors are committed. Equal versions give equal answers to equal requests,
        so HTTP caches key their validators on it; None without an index."""
        generation = self.generation()
        if generation is None:
            return None
        parts = [str(generation), str(self._vocabulary_stamp)]
        if self.settings.semantic:
            if self._fuser is None:
                parts.append("lexical" if self._semantic_reason else "loading")
            else:
                view = self._fuser.view()
                parts.append(f"v{view.state.number}.{view.state.rows}" if view is not None else "v0")
        return "-".join(parts)

    def health(self) -> dict[str, Any]:
        index = self.index()
        return {"status": "ok", "documents": index.doc_count(), "generation": index.generation(),
                "semantic": self.semantic_state(counts=False)}

    def fuser(self) -> Fuser | None:
        """The hybrid search, or None (and :meth:`semantic_state` says why): loads the
        model on first use when ``semantic`` is on."""
        if self._fuser is None and self._semantic_reason is None:
            index = self.index()
            with self._lock:
                if self._fuser is None and self._semantic_reason is None:
                    try:
                        embedder = load_embedder(threads=self.settings.semantic_threads, max_tokens=self.settings.embed_tokens)
                    except (SemanticUnavailable, OSError, RuntimeError) as exc:
                        self._semantic_reason = str(exc)
                        return None
                    assert self._ranker is not None
                    self._fuser = Fuser(
                        self._ranker, embedder, VectorStore(index.path), weight=self.settings.semantic_weight,
                        lexical_candidates=self.settings.lexical_candidates,
                        semantic_candidates=self.settings.semantic_candidates,
                    )
        return self._fuser

    def semantic_state(self, *, counts: bool = True) -> dict[str, Any]:
        """Whether hybrid search runs, and if not why: for /health and /stats. Asking
        does not load the model (the warm-up does); it is ``loading`` until then."""
        state: dict[str, Any] = {"enabled": bool(self.settings.semantic)}
        if self._semantic_reason is not None:
            return {**state, "available": False, "reason": self._semantic_reason}
        if self._fuser is None:
            reason = probed_status()  # the warm-up's child process checks the model runs here, once
            if reason:
                return {**state, "available": False, "reason": reason}
            return {**state, "available": False, "reason": "loading the model"}
        view = self._fuser.view()
        vectors = len(view) if view is not None else 0
        state.update(available=vectors > 0, model=self._fuser.embedder.name, vectors=vectors)
        if not vectors:
            state["reason"] = "no document is embedded yet: run hindi-search embed"
        if counts:
            state["documents"] = self.index().doc_count()
        return state

    def parse(self, q: str, *, strict: bool = True, deadline: Deadline = NO_DEADLINE) -> Node:
        """Parse ``q`` with the index's analyzer; raises :class:`QueryError`.

        ``strict=False`` reads a query without operators as any of its words
        and phrases, however short (the fallback when nothing matches).
        """
        if len(q) > self.settings.max_query_chars:
            raise QueryError(f"the query is longer than {self.settings.max_query_chars} characters")
        index = self.index()
        roman = None
        if self.settings.roman_candidates > 0:
            limit, min_score = self.settings.roman_candidates, self.settings.roman_min_similarity

            def roman(word: str) -> list[tuple[str, float]]:
                # more than needed: the parser drops stop words from a content word's readings
                return index.read_roman(word, limit=4 * limit, min_score=min_score, deadline=deadline)

        return parse(
            q,
            index.analyzer,
            max_terms=self.settings.max_query_terms,
            all_words_max=self.settings.all_words_max if strict else 0,
            quotes_required=strict,
            roman=roman,
            roman_limit=self.settings.roman_candidates,
        )

    def _ranked(
        self, q: str, offset: int, limit: int, *, filter: FilterNode | None = None,
        facets: Sequence[str] = (), sort: str = "relevance", deadline: Deadline, extra_cost: int = 0,
        mode: str = "auto",
    ) -> tuple[Node | None, ResultSet, bool, str]:
        """Parse and rank ``q``: the query tree used, what it found, and
        whether that tree is the relaxed one (the strict one found nothing).
        A blank ``q`` is a placeholder search (tree None): :func:`browse_sort`.

        When a query without operators finds nothing (a short one requires
        every word, a long one its quoted phrases), it is searched again as
        any of its words and phrases, ranked, rather than answering with
        nothing. A phrase still only matches where its words stand together.
        The last item is the mode that ran (``lexical``, ``hybrid``, ``semantic``).
        """
        if not q.strip():  # a placeholder search: every document the filter keeps, by date
            return None, self.find(None, limit, offset=offset, filter=filter, facets=facets,
                                   sort=browse_sort(sort), deadline=deadline, extra_cost=extra_cost), False, "lexical"
        with self.expensive.admit(text_cost(q) + extra_cost, deadline):
            node = self.parse(q, deadline=deadline)
            wanted = dict(offset=offset, filter=filter, facets=facets, sort=sort, deadline=deadline, extra_cost=extra_cost)
            found, ran = self.find_in_mode(node, limit, q=q, mode=mode, **wanted)
            if found.total == 0:
                loose = self.parse(q, strict=False, deadline=deadline)
                if loose != node:
                    again, ran = self.find_in_mode(loose, limit, q=q, mode=mode, **wanted)
                    return loose, again, True, ran
            return node, found, False, ran

    def parse_filter(self, text: str) -> FilterNode | None:
        """Parse the ``filter`` parameter; raises :class:`FilterError` saying where it fails.

        Empty or blank means no filter, but a blank one longer than
        ``max_filter_chars`` is refused like any other too-long filter."""
        if not text.strip() and len(text) <= self.settings.max_filter_chars:
            return None
        return parse_filter(text, max_chars=self.settings.max_filter_chars)

    def find(
        self, node: Node | None, limit: int, *, offset: int = 0, filter: FilterNode | None = None,
        facets: Sequence[str] = (), sort: str = "relevance", max_prefix_terms: int | None = None,
        deadline: Deadline | None = None, extra_cost: int = 0,
    ) -> ResultSet:
        """The engine search with this service's settings (ranking, prefix cap), within
        ``deadline``, admitted as an expensive search when its estimated cost (plus
        ``extra_cost``, e.g. an export's rows) says so (:class:`ExpensiveSearches`)."""
        deadline = deadline or self.deadline()
        prefix_terms = max_prefix_terms or self.settings.max_prefix_terms
        cost = self._cost(node, prefix_terms, extra_cost, deadline)
        assert self._ranker is not None
        with self.expensive.admit(cost, deadline):
            return self._ranker.find(
                node, limit=limit, offset=offset, max_prefix_terms=prefix_terms, filter=filter,
                facets=facets, sort=sort, deadline=deadline,
            )

    def _cost(self, node: Node | None, prefix_terms: int, extra_cost: int, deadline: Deadline) -> int:
        """A search's estimated work for admission control, ``extra_cost`` included."""
        return extra_cost + self.index().estimate(
            node, max_prefix_terms=prefix_terms, budget=self.expensive.budget, deadline=deadline
        )

    def find_in_mode(
        self, node: Node | None, limit: int, *, q: str = "", mode: str = "auto", offset: int = 0, filter: FilterNode | None = None,
        facets: Sequence[str] = (), sort: str = "relevance", deadline: Deadline | None = None, extra_cost: int = 0,
    ) -> tuple[ResultSet, str]:
        """:meth:`find` in ``mode`` (:data:`~search.fusion.MODES`): ``(found, the mode that ran)``.
        :class:`SemanticOff` when semantic or hybrid search is asked for and cannot run."""
        deadline = deadline or self.deadline()
        wanted = choose_mode(node, mode, sort) if self.settings.semantic or mode != "auto" else "lexical"
        fuser = self.fuser() if wanted != "lexical" else None
        if fuser is None or node is None:
            if wanted != "lexical" and mode != "auto":
                raise SemanticOff(f"mode={mode} is not available here: semantic search is {self._semantic_reason}")
            return self.find(node, limit, offset=offset, filter=filter, facets=facets, sort=sort,
                             deadline=deadline, extra_cost=extra_cost), "lexical"
        prefix_terms = self.settings.max_prefix_terms
        cost = self._cost(node, prefix_terms, extra_cost + EMBED_COST, deadline)
        vocabulary = self.vocabulary(deadline)

        with self.expensive.admit(cost, deadline):
            return fuser.find(
                q, node, wanted, limit=limit, offset=offset, filter=filter, facets=facets, sort=sort,
                deadline=deadline, max_prefix_terms=prefix_terms, spelling=vocabulary.spelled,
            )

    def search(self, request: SearchRequest, deadline: Deadline | None = None) -> SearchResponse:
        started = time.perf_counter()
        deadline = deadline or self.deadline()
        index = self.index()
        flt = self.parse_filter(request.filter)
        offset = (request.page - 1) * request.per_page
        node, found, relaxed, mode = self._ranked(
            request.q, offset, request.per_page, filter=flt, facets=request.facets, sort=request.sort,
            deadline=deadline, extra_cost=HIT_COST * request.per_page, mode=request.mode,
        )
        total = found.total
        leaves = positive_leaves(node) if node is not None else []
        style = self._snippet_style(request)
        hits = []
        for score, stored in found.hits:
            deadline.check()
            hits.append(_make_hit(score, stored, index.analyzer, leaves, style))
        suggestion = None
        strict_total = 0 if relaxed else total  # a relaxed answer still deserves a correction
        if node is not None and strict_total < self.settings.suggest_below:
            suggestion = self.did_you_mean(request.q, node, strict_total, flt, deadline=deadline)
        parsed = describe(node) if node is not None else ""
        return SearchResponse(
            query=request.q,
            parsed=parsed if mode == "lexical" else f"{mode}: {parsed}",
            total=total,
            page=request.page,
            per_page=request.per_page,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            hits=hits,
            sort=request.sort,
            filter=describe_filter(flt) if flt is not None else None,
            facets=_facet_counts(found.facets) if request.facets else None,
            suggestion=suggestion,
            mode=mode,
        )

    def _snippet_style(self, request: SearchRequest) -> _SnippetStyle:
        return _SnippetStyle(
            request.highlight_pre_tag,
            request.highlight_post_tag,
            request.snippet_chars or self.settings.snippet_chars,
            request.snippets,
        )

    def export_deadline(self) -> Deadline:
        """A new deadline of ``export_time_limit`` seconds, for one export."""
        return Deadline(self.settings.export_time_limit)

    def export(self, request: SearchRequest, max_rows: int, deadline: Deadline | None = None) -> tuple[int, Iterator[Hit]]:
        """``(total, hits)``: every hit of ``request`` (all pages) up to ``max_rows``, in its sort order.

        The query and filter are checked and the hits collected now, so errors
        come before an answer starts; the snippets are made as the iterator is
        consumed, each checking ``deadline`` (the caller writes the whole export
        before answering, so a timeout is still a clean 503)."""
        deadline = deadline or self.export_deadline()
        index = self.index()
        flt = self.parse_filter(request.filter)
        node, found, _, _ = self._ranked(  # what /search finds, the relaxed reading included
            request.q, 0, max_rows, filter=flt, sort=request.sort, deadline=deadline,
            extra_cost=HIT_COST * max_rows, mode=request.mode,
        )
        leaves = positive_leaves(node) if node is not None else []
        style = self._snippet_style(request)

        def rows() -> Iterator[Hit]:
            for score, stored in found.hits[:max_rows]:
                deadline.check()
                yield _make_hit(score, stored, index.analyzer, leaves, style)

        return found.total, rows()

    def facet_counts(
        self, q: str, filter: str, names: Sequence[str], deadline: Deadline | None = None, mode: str = "auto"
    ) -> dict[str, dict[str, int]]:
        """Facet counts of ``names`` over the documents ``q`` finds under ``filter`` (no hits).

        The search page counts a facet under the *other* facets' selections, so
        a ticked source still shows how many documents the other sources have.
        """
        deadline = deadline or self.deadline()
        node = self.parse(q, deadline=deadline) if q.strip() else None
        found, _ = self.find_in_mode(
            node, 1, filter=self.parse_filter(filter), facets=names, deadline=deadline, q=q, mode=mode,
        )
        return _facet_counts(found.facets)

    # -- help for the searcher -------------------------------------------

    def vocabulary(self, deadline: Deadline = NO_DEADLINE) -> Vocabulary:
        """The index's surface vocabulary, reloaded when an ingest has saved a new one.

        Loading it takes seconds on a large index, so after the first load a
        new file is read in the background while searches go on with the
        previous one (with ``refresh_seconds`` 0, at once: every change seen).
        The first load is the warm-up's (:meth:`warm_up`): a request that comes
        before it is done waits for it until ``deadline``.
        """
        index = self.index()
        path = os.path.join(index.path, VOCABULARY_FILE)
        now = time.monotonic()
        with self._lock:
            cached = self._vocabulary
            if cached is not None and now - self._vocabulary_checked < self.settings.refresh_seconds:
                return cached
            self._vocabulary_checked = now
            try:
                stamp: int | None = os.stat(path).st_mtime_ns
            except OSError:
                stamp = None
            if cached is not None and stamp == self._vocabulary_stamp:
                return cached
            if cached is not None and self.settings.refresh_seconds > 0:
                if not self._vocabulary_loading:
                    self._vocabulary_loading = True
                    threading.Thread(target=self._reload_vocabulary, args=(index, stamp), daemon=True).start()
                return cached
            if cached is not None or not self._vocabulary_loading:
                self._vocabulary, self._vocabulary_stamp = _load_vocabulary(index, stamp), stamp
                return self._vocabulary
        while True:  # the first load is under way in the warm-up: wait for it
            deadline.check()
            time.sleep(0.01)
            with self._lock:
                if self._vocabulary is not None:
                    return self._vocabulary
                if not self._vocabulary_loading:
                    return self.vocabulary(deadline)

    def _reload_vocabulary(self, index: Backend, stamp: int | None, pause: float = 0.003) -> None:
        try:
            loaded = _load_vocabulary(index, stamp, pause=pause)  # leave the searches room
            with self._lock:
                self._vocabulary, self._vocabulary_stamp = loaded, stamp
        finally:
            self._vocabulary_loading = False

    def warm_up(self, *, background: bool = True) -> None:
        """Open the index, read its lexicons (prefixes, phonetic keys), read the most
        common words' positions, load the vocabulary and analyse its most common
        words (in a thread unless ``background`` is False): the first romanized
        query, phrase, did-you-mean and snippets after a server starts then do
        not wait for them."""

        def load() -> None:
            try:
                index = self.index()
                with self._lock:
                    first = self._vocabulary is None and not self._vocabulary_loading
                    if first:
                        self._vocabulary_loading = True
                if first:
                    path = os.path.join(index.path, VOCABULARY_FILE)
                    stamp = os.stat(path).st_mtime_ns if os.path.exists(path) else None
                    self._reload_vocabulary(index, stamp, pause=0.0)
                index.warm_up(self.settings.phrase_warm_share)
                fuser = self.fuser()  # the model (~1 s to load) when semantic search is on
                if fuser is not None:
                    view = fuser.view()
                    if view is not None:
                        view.matrix()
                for word in self.vocabulary().common_words(WARM_WORDS):
                    index.analyzer.word(word)  # remembered: snippets analyse hits' text word by word
                self.roman_completions(self.vocabulary())
                if self.settings.semantic:
                    self.vocabulary().vowel_length_forms()  # how hybrid search spells the query for the model
            except Exception:  # noqa: BLE001 - a missing or damaged index is reported by the searches themselves
                pass

        if background:
            threading.Thread(target=load, daemon=True).start()
        else:
            load()

    def did_you_mean(
        self, q: str, node: Node, total: int, flt: FilterNode | None = None, deadline: Deadline = NO_DEADLINE
    ) -> str | None:
        """``q`` with unknown or rare words replaced by close, common index words.

        Returned only when the corrected query finds more documents than ``q``
        (``किसन आंदोलन`` -> ``किसान आंदोलन``).
        """
        index = self.index()
        vocabulary = self.vocabulary(deadline)
        corrected = q
        changed = False
        for leaf in positive_leaves(node):
            if not isinstance(leaf, Word) or leaf.stop:
                continue
            deadline.check()
            known = max(index.doc_frequency(t) for t in leaf.terms)
            if known >= self.settings.suggest_below:
                continue  # a word found often enough is not the misspelling
            for surface, documents in vocabulary.corrections(leaf.text, self.settings.suggest_max_distance):
                if documents > max(known * 4, 0) and index.analyzer.word(surface)[0] not in leaf.terms:
                    if leaf.text in corrected:
                        corrected = corrected.replace(leaf.text, surface, 1)
                        changed = True
                    break
        if not changed:
            return None
        try:
            better = self.find(self.parse(corrected, deadline=deadline), 1, filter=flt, deadline=deadline).total
        except (QueryError, Busy):
            return None
        return corrected if better > total else None

    def suggest(self, q: str, limit: int, deadline: Deadline | None = None) -> dict[str, Any]:
        """Completions of the last, partial word of ``q`` and titles that match as typed."""
        started = time.perf_counter()
        deadline = deadline or self.deadline()
        head, _, last = q.rstrip().rpartition(" ") if not q.endswith(" ") else (q.rstrip(), "", "")
        vocabulary = self.vocabulary(deadline)
        completions = []
        # A phrase or group being typed ("भार, (भार) or an excluded word (-भार):
        # the word is completed, the syntax before it kept.
        partial = last.strip().lstrip('"(-')
        syntax = last.strip()[: len(last.strip()) - len(partial)]
        if partial and is_roman(partial):  # bhar -> भारत, भारतीय: the index's words read in Latin letters
            for norm, documents, spelled in self.roman_completions(vocabulary).complete(partial, limit):
                word = vocabulary.surface(norm)
                completions.append({"text": word, "query": f"{head} {syntax}{word}".strip(), "documents": documents,
                                    "roman": spelled})
        if partial:
            shown = {c["text"] for c in completions}
            for word, documents in vocabulary.complete(partial, limit):
                if word not in shown and len(completions) < limit:
                    completions.append({"text": word, "query": f"{head} {syntax}{word}".strip(), "documents": documents})
        titles: list[dict[str, str]] = []
        words, excluded = _title_words(q)
        if words and completions and completions[0].get("roman") and words[-1] == partial:
            words[-1] = completions[0]["text"]  # titles with the best reading of the Latin prefix
        complete_word = q.endswith(" ") or (bool(excluded) and excluded[-1] == partial)
        tail = self.index().analyzer.normalise_word(words[-1]) if words else ""
        # Titles once the last word has 3 letters (or is complete): before that
        # a prefix matches too many titles to be worth a search per keystroke.
        if words and (complete_word or len(tail) >= 3):
            query = " ".join(f"title:{w}" for w in words[:-1])
            # A prefix is matched against stems: दिल्ली* alone misses दिल्ली, indexed as दिल्ल
            # (the vowel sign is a suffix), so a typed word the index has as a word also
            # counts as a whole word (a partial one, कोरो, would match stems it is not: कोर).
            if complete_word:
                query += f" title:{words[-1]}"
            elif vocabulary.frequency(tail):
                query += f" (title:{words[-1]} OR title:{words[-1]}*)"
            else:
                query += f" title:{words[-1]}*"
            query += "".join(f" -title:{w}" for w in excluded)
            try:
                # The last word's 10 most common completions are enough here.
                found = self.find(self.parse(query, deadline=deadline), limit, max_prefix_terms=10, deadline=deadline)
                titles = [{"id": h["id"], "title": h.get("title", "")} for _, h in found.hits]
            except QueryError:
                titles = []
        return {
            "query": q,
            "completions": completions,
            "titles": titles,
            "took_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    def roman_completions(self, vocabulary: Vocabulary) -> RomanCompletions:
        """The romanized-prefix completions of ``vocabulary``'s words, built once per
        vocabulary (a second or two on 100,000 words; the warm-up builds the first)."""
        with self._roman_lock:
            built = self._roman_completions
            if built is not None and built[0] is vocabulary:
                return built[1]
        completions = RomanCompletions(vocabulary.documents())
        with self._roman_lock:
            self._roman_completions = (vocabulary, completions)
        return completions

    def document(self, doc_id: str) -> dict[str, Any] | None:
        """One stored document (without internal fields), or None."""
        stored = self.index().stored(doc_id)
        if stored is None:
            return None
        return {name: stored.get(name, "") for name in ("id", "title", "body", "url", "published", "source", "category")}

    def stats(self, deadline: Deadline | None = None) -> dict[str, Any]:
        """Document count, per-source and per-category counts, index size, last ingest."""
        deadline = deadline or self.deadline()
        index = self.index()
        everything = self.find(None, 1, facets=("source", "category"), deadline=deadline)
        files = index.files()
        return {
            "documents": everything.total,
            "generation": index.generation(),
            "sources": _by_count(everything.facets["source"]),
            "categories": _by_count(everything.facets["category"]),
            "index_bytes": files["index_bytes"],
            "last_ingest": files["last_commit"],
            "vocabulary_words": len(self.vocabulary(deadline)),
            "semantic": self.semantic_state(),
        }

    def ranked_ids(self, q: str, limit: int, mode: str = "auto") -> list[str]:
        """Just the ranked ids for ``q``, through the same parse and ranking as :meth:`search`."""
        _, found, _, _ = self._ranked(q, 0, limit, deadline=self.deadline(), mode=mode)
        return [stored["id"] for _, stored in found.hits]


def _load_vocabulary(index: Backend, stamp: int | None, pause: float = 0.0) -> Vocabulary:
    loaded = Vocabulary.load(index.path, index.analyzer, pause=pause) if stamp else None
    if loaded is None:  # an index from before the side file: count its documents once
        loaded = Vocabulary.from_documents(index.analyzer, index.iter_stored())
    # Its hundreds of thousands of dicts and lists live as long as the index: out
    # of the cyclic collector's full passes, which otherwise stall a search now
    # and then by 30-70 ms (reference counting still frees an old vocabulary).
    gc.freeze()
    return loaded



def _title_words(q: str) -> tuple[list[str], list[str]]:
    """The words of a query being typed that titles should contain, and those
    they must not (``-भारत``, ``NOT भारत``): quotes, parentheses and operators dropped."""
    words: list[str] = []
    excluded: list[str] = []
    negate = False
    for raw in q.split():
        if raw in ("OR", "AND"):
            continue
        if raw == "NOT":
            negate = True
            continue
        word = raw.strip('"()')
        if word.startswith("-"):
            word, negate = word.lstrip("-"), True
        if word.strip("*"):
            (excluded if negate else words).append(word)
        negate = False
    return words, excluded


def _make_hit(score: float, stored: dict[str, Any], analyzer: Analyzer, leaves: Sequence[Any], style: _SnippetStyle) -> Hit:
    return Hit(
        id=stored["id"],
        title=stored.get("title", ""),
        url=stored.get("url", ""),
        source=stored.get("source", ""),
        published=stored.get("published", ""),
        category=stored.get("category", ""),
        score=round(score, 4),
        snippet=_hit_snippet(stored, analyzer, leaves, style),
        title_html=highlight(stored.get("title", ""), analyzer, leaves, style.pre, style.post),
    )


def _facet_counts(raw: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Facet values most common first; ``published`` folded into a by-month histogram."""
    out: dict[str, dict[str, int]] = {}
    for name, counts in raw.items():
        if name == "published":
            months: Counter[str] = Counter()
            for day, n in counts.items():
                months[day[:7]] += n
            out[name] = dict(sorted(months.items()))
        else:
            out[name] = _by_count(counts)
    return out


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
