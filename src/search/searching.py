"""Query -> hits with highlighted snippets. The code behind ``/search``.

Snippets are built here rather than by Whoosh's highlighter: the stored text is
re-analysed with the index's own analyzer, so a highlight always covers a
whole original word (``हिन्दी`` in the text is marked when the query said
``हिंदी``), phrases are marked only where their words stand together, and the
document's own text is always HTML-escaped around our tags.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from .analysis import Analyzer, Token
from .config import Settings
from .engine import IndexUnavailable, SearchIndex
from .querying import Node, Phrase, Prefix, QueryError, Word, describe, parse, positive_leaves

__all__ = [
    "SearchService",
    "SearchRequest",
    "SearchResponse",
    "Hit",
    "make_snippet",
    "QueryError",
    "IndexUnavailable",
]


@dataclass(frozen=True)
class SearchRequest:
    q: str
    page: int = 1
    per_page: int = 10


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


@dataclass
class SearchResponse:
    query: str
    parsed: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SearchService:
    """Answers searches from one index directory; opens it lazily, sees new commits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()

    def index(self) -> SearchIndex:
        """The open index; raises :class:`IndexUnavailable` (retried on the next call)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = SearchIndex.open(self.settings.index, self.settings.refresh_seconds)
        return self._index

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "documents": self.index().doc_count()}

    def parse(self, q: str) -> Node:
        """Parse ``q`` with the index's analyzer; raises :class:`QueryError`."""
        if len(q) > self.settings.max_query_chars:
            raise QueryError(f"the query is longer than {self.settings.max_query_chars} characters")
        index = self.index()
        roman = None
        if self.settings.roman_candidates > 0:
            limit, min_score = self.settings.roman_candidates, self.settings.roman_min_similarity

            def roman(word: str) -> list[tuple[str, float]]:
                # more than needed: the parser drops stop words from a content word's readings
                return index.read_roman(word, limit=4 * limit, min_score=min_score)

        return parse(
            q,
            index.analyzer,
            max_terms=self.settings.max_query_terms,
            roman=roman,
            roman_limit=self.settings.roman_candidates,
        )

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        index = self.index()
        node = self.parse(request.q)
        offset = (request.page - 1) * request.per_page
        total, scored = index.search(
            node, limit=offset + request.per_page, title_boost=self.settings.title_boost
        )
        leaves = positive_leaves(node)
        hits = [
            Hit(
                id=stored["id"],
                title=stored.get("title", ""),
                url=stored.get("url", ""),
                source=stored.get("source", ""),
                published=stored.get("published", ""),
                category=stored.get("category", ""),
                score=round(score, 4),
                snippet=_hit_snippet(stored, index.analyzer, leaves, self.settings.snippet_chars),
            )
            for score, stored in scored[offset:]
        ]
        return SearchResponse(
            query=request.q,
            parsed=describe(node),
            total=total,
            page=request.page,
            per_page=request.per_page,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            hits=hits,
        )

    def ranked_ids(self, q: str, limit: int) -> list[str]:
        """Just the ranked ids for ``q``, through the same parse and ranking as :meth:`search`."""
        total, scored = self.index().search(self.parse(q), limit=limit, title_boost=self.settings.title_boost)
        return [stored["id"] for _, stored in scored]


# --------------------------------------------------------------------------
# Snippets
# --------------------------------------------------------------------------

_SENTENCE_END = "।॥.!?\n"


def _hit_snippet(stored: dict[str, Any], analyzer: Analyzer, leaves: Sequence[Any], chars: int) -> str:
    body, title = stored.get("body", ""), stored.get("title", "")
    snippet, matched = make_snippet(body, analyzer, leaves, chars)
    if not matched and title:
        title_snippet, title_matched = make_snippet(title, analyzer, leaves, chars)
        if title_matched or not body:
            return title_snippet
    return snippet


def _matched_tokens(tokens: list[Token], leaves: Sequence[Any]) -> list[bool]:
    """Which tokens a query's words, phrases and prefixes match."""
    words = {t for leaf in leaves if isinstance(leaf, Word) for t in leaf.terms}
    prefixes = tuple(leaf.prefix for leaf in leaves if isinstance(leaf, Prefix))
    phrases = [
        leaf.alternatives or tuple((t,) for t in leaf.terms) for leaf in leaves if isinstance(leaf, Phrase)
    ]
    marked = [t.term in words or (bool(prefixes) and t.term.startswith(prefixes)) for t in tokens]
    for terms in phrases:
        n = len(terms)
        for i in range(len(tokens) - n + 1):
            if all(tokens[i + k].term in terms[k] for k in range(n)):
                for k in range(n):
                    marked[i + k] = True
    return marked


def make_snippet(
    text: str,
    analyzer: Analyzer,
    leaves: Sequence[Any],
    chars: int = 200,
    pre: str = "<mark>",
    post: str = "</mark>",
) -> tuple[str, bool]:
    """An HTML fragment of ``text`` around the densest run of matches.

    >>> make_snippet("भारत और रूस ने हिन्दी में <b>बात</b> की।", Analyzer(),
    ...              [Word("हिंदी", ("हिंद",))])[0]
    'भारत और रूस ने <mark>हिन्दी</mark> में &lt;b&gt;बात&lt;/b&gt; की।'

    Returns ``(html, whether anything matched)``. The fragment starts at a
    sentence start when one is near, else at a word, and ends at a word end.
    """
    tokens = list(analyzer.tokens(text))
    marked = _matched_tokens(tokens, leaves)
    hits = [i for i, m in enumerate(marked) if m]
    if not tokens:
        return html.escape(text[:chars]), False
    # Window: the run of tokens starting at a match that covers the most
    # distinct matched terms within ``chars`` characters.
    best_first, best_score = 0, -1
    for i in hits:
        limit = tokens[i].start + chars
        seen = {tokens[j].term for j in hits if i <= j and tokens[j].end <= limit}
        if len(seen) > best_score:
            best_first, best_score = i, len(seen)
    first = best_first
    # Step back to the start of the sentence if it is close, for context.
    while first > 0 and tokens[best_first].start - tokens[first - 1].start < chars // 3:
        between = text[tokens[first - 1].end : tokens[first].start]
        if any(c in _SENTENCE_END for c in between):
            break
        first -= 1
    start = tokens[first].start
    last = first
    while last + 1 < len(tokens) and tokens[last + 1].end - start <= chars:
        last += 1
    end = tokens[last].end
    # Keep the sentence's closing danda/full stop when it follows directly.
    if end < len(text) and text[end] in "।॥.!?":
        end += 1
    pieces = ["…"] if start > 0 else []
    cursor = start
    for i in range(first, last + 1):
        if marked[i]:
            token = tokens[i]
            pieces.append(html.escape(text[cursor : token.start]))
            pieces.append(pre + html.escape(text[token.start : token.end]) + post)
            cursor = token.end
    pieces.append(html.escape(text[cursor:end]))
    if end < len(text.rstrip()):
        pieces.append("…")
    return "".join(pieces), bool(hits)
