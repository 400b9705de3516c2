"""Snippets and highlighted titles, marked on whole original words.

Snippets are built here rather than by Whoosh's highlighter: the stored text is
re-analysed with the index's own analyzer, so a highlight always covers a
whole original word (``हिन्दी`` in the text is marked when the query said
``हिंदी``), phrases are marked only where their words stand together, and the
document's own text is always HTML-escaped around our tags.

Must not touch: the index (it works on stored text and the query's leaves).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Sequence

from .analysis import Analyzer
from .querying import Phrase, Prefix, Word

__all__ = ["make_snippet", "make_fragments", "highlight", "MAX_HIGHLIGHTED_CHARS"]

_SENTENCE_END = "।॥.!?\n"
#: Snippets and highlighted titles are made from at most this much of a text
#: (Elasticsearch's max_analyzed_offset, smaller): a 10 MB body took seconds a
#: hit; a match further in still finds the document, which is then shown by its start.
MAX_HIGHLIGHTED_CHARS = 100_000


def _highlighted_part(text: str) -> str:
    """``text`` cut to :data:`MAX_HIGHLIGHTED_CHARS`, at a space when there is one."""
    if len(text) <= MAX_HIGHLIGHTED_CHARS:
        return text
    cut = text.rfind(" ", MAX_HIGHLIGHTED_CHARS // 2, MAX_HIGHLIGHTED_CHARS)
    return text[: cut if cut > 0 else MAX_HIGHLIGHTED_CHARS]


@dataclass(frozen=True)
class _SnippetStyle:
    pre: str = "<mark>"
    post: str = "</mark>"
    chars: int = 200
    count: int = 1


def _hit_snippet(stored: dict[str, Any], analyzer: Analyzer, leaves: Sequence[Any], style: _SnippetStyle) -> str:
    body, title = stored.get("body", ""), stored.get("title", "")
    snippet, matched = make_fragments(body, analyzer, leaves, style.chars, style.count, style.pre, style.post)
    if not matched and title:
        title_snippet, title_matched = make_snippet(title, analyzer, leaves, style.chars, style.pre, style.post)
        if title_matched or not body:
            return title_snippet
    return snippet


def _matched_tokens(terms: list[str], leaves: Sequence[Any]) -> list[bool]:
    """Which of a text's ``terms`` a query's words, phrases and prefixes match."""
    words = {t for leaf in leaves if isinstance(leaf, Word) for t in leaf.terms}
    prefixes = tuple(leaf.prefix for leaf in leaves if isinstance(leaf, Prefix))
    phrases = [
        leaf.alternatives or tuple((t,) for t in leaf.terms) for leaf in leaves if isinstance(leaf, Phrase)
    ]
    if prefixes:
        marked = [t in words or t.startswith(prefixes) for t in terms]
    else:
        marked = [t in words for t in terms]
    for phrase in phrases:
        n = len(phrase)
        for i in range(len(terms) - n + 1):
            if terms[i] in phrase[0] and all(terms[i + k] in phrase[k] for k in range(1, n)):
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
    return make_fragments(text, analyzer, leaves, chars, 1, pre, post)


def make_fragments(
    text: str,
    analyzer: Analyzer,
    leaves: Sequence[Any],
    chars: int = 200,
    count: int = 1,
    pre: str = "<mark>",
    post: str = "</mark>",
) -> tuple[str, bool]:
    """Up to ``count`` fragments of ``text`` of about ``chars`` characters, joined in text order.

    Each fragment is chosen around the densest run of matches not yet shown;
    fragments start at a sentence (after ``।``) or word start and end at a word
    end (keeping a closing danda), so no Devanagari cluster is ever cut.
    ``…`` marks text left out. ``pre``/``post`` go around every matched word;
    everything else is HTML-escaped.

    >>> text = "किसान आए। " + "बात हुई। " * 30 + "किसान गए।"
    >>> make_fragments(text, Analyzer(), [Word("किसान", ("किसान",))], 20, 2)[0]
    '<mark>किसान</mark> आए। बात हुई। … <mark>किसान</mark> गए।'
    """
    text = _highlighted_part(text)
    terms, starts, ends = analyzer.term_spans(text)
    if not terms:
        return html.escape(text[:chars]), False
    marked = _matched_tokens(terms, leaves)
    hits = [i for i, m in enumerate(marked) if m]
    windows: list[tuple[int, int]] = []
    remaining = hits
    while len(windows) < max(count, 1):
        first, last = _window(text, terms, starts, ends, remaining, chars)
        windows.append((first, last))
        remaining = [i for i in remaining if not any(a <= i <= b for a, b in windows)]
        if not remaining:
            break
    windows.sort()
    merged: list[tuple[int, int]] = []
    for first, last in windows:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    joined = ""
    for first, last in merged:
        fragment = _render(text, starts, ends, marked, first, last, pre, post)
        if joined:  # one ellipsis, spaced, between two fragments
            joined = joined.removesuffix("…").rstrip() + " … " + fragment.removeprefix("…").lstrip()
        else:
            joined = fragment
    return joined, bool(hits)


def highlight(text: str, analyzer: Analyzer, leaves: Sequence[Any], pre: str = "<mark>", post: str = "</mark>") -> str:
    """All of ``text``, HTML-escaped, with ``pre``/``post`` around matched words (for titles).

    >>> highlight("भारत-रूस <संबंध>", Analyzer(), [Word("रूस", ("रुस",))])
    'भारत-<mark>रूस</mark> &lt;संबंध&gt;'
    """
    text = _highlighted_part(text)
    terms, starts, ends = analyzer.term_spans(text)
    if not terms:
        return html.escape(text)
    marked = _matched_tokens(terms, leaves)
    return _render(text, starts, ends, marked, 0, len(terms) - 1, pre, post, whole=True)


def _window(
    text: str, terms: list[str], starts: list[int], ends: list[int], hits: Sequence[int], chars: int
) -> tuple[int, int]:
    """First and last token of the ``chars``-long window covering the most distinct matched terms."""
    best_first, best_score = 0, -1
    end = 0  # hits[i:end] fit in the window starting at hits[i]
    for n, i in enumerate(hits):
        limit = starts[i] + chars
        end = max(end, n)
        while end < len(hits) and ends[hits[end]] <= limit:
            end += 1
        distinct = len({terms[j] for j in hits[n:end]}) if end - n > 1 else end - n
        if distinct > best_score:
            best_first, best_score = i, distinct
    first = best_first
    # Step back to the start of the sentence if it is close, for context.
    while first > 0 and starts[best_first] - starts[first - 1] < chars // 3:
        between = text[ends[first - 1] : starts[first]]
        if any(c in _SENTENCE_END for c in between):
            break
        first -= 1
    start = starts[first]
    last = first
    while last + 1 < len(ends) and ends[last + 1] - start <= chars:
        last += 1
    return first, last


def _render(
    text: str,
    starts: list[int],
    ends: list[int],
    marked: list[bool],
    first: int,
    last: int,
    pre: str,
    post: str,
    whole: bool = False,
) -> str:
    """Tokens ``first..last`` as escaped HTML with marks, and ``…`` where text is left out.

    ``whole``: render all of ``text`` (tokens 0..last), no ellipses."""
    start, end = (0, len(text)) if whole else (starts[first], ends[last])
    # Keep the sentence's closing danda/full stop when it follows directly.
    if end < len(text) and text[end] in "।॥.!?":
        end += 1
    pieces = ["…"] if start > 0 else []
    cursor = start
    for i in range(first, last + 1):
        if marked[i]:
            a, b = starts[i], ends[i]
            pieces.append(html.escape(text[cursor:a]))
            pieces.append(pre + html.escape(text[a:b]) + post)
            cursor = b
    pieces.append(html.escape(text[cursor:end]))
    if end < len(text.rstrip()):
        pieces.append("…")
    return "".join(pieces)
