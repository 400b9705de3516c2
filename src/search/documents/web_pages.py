"""A web page, saved as text or HTML -> one item: :func:`read_text` and :func:`read_html`.

Owns what is taken from a page and what is dropped: share/like/follow lines
(:func:`is_boilerplate_line`), datelines, and in HTML the page furniture
around the article (navigation, asides, ads, comments), the metadata (URL,
date, site) and the body's text block by block (:func:`_leaf_blocks`).

Must not touch: what a record's values must be (:mod:`.validation`), or
reading the file and its record limit (:mod:`.inputs` passes the page in as
text).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from .records import DEFAULT_LIMITS, Item, Limits
from .validation import _published, _reject_or_record, clean_text


#: Words of share/like/follow buttons, in English and Hindi; a line made only
#: of these (with at least one of the verbs) is page furniture.
_BUTTON_WORDS = frozenset(
    "share shares sharing this article post story page on via like likes follow us subscribe tweet "
    "facebook twitter x whatsapp telegram linkedin email e-mail print copy link pin it and "
    "शेयर करें कीजिए लाइक फॉलो फ़ॉलो सब्सक्राइब हमें पर यह लेख खबर ख़बर और".split()
)
_BUTTON_VERBS = frozenset("share like follow subscribe tweet शेयर लाइक फॉलो फ़ॉलो सब्सक्राइब".split())
_LINE_WORD_RE = re.compile(r"[\w\u0900-\u0963\u0971-\u097f-]+")


def is_boilerplate_line(line: str) -> bool:
    """True for a line that is only share/like/follow buttons.

    >>> is_boilerplate_line("Share This Article"), is_boilerplate_line("शेयर करें")
    (True, True)
    >>> is_boilerplate_line("भारत और रूस ने साझेदारी को मजबूत किया")
    False
    """
    words = _LINE_WORD_RE.findall(line.lower())
    return bool(words) and len(words) <= 12 and all(w in _BUTTON_WORDS for w in words) and any(
        w in _BUTTON_VERBS for w in words
    )


#: ``रायपुर / ETrendingIndia / …``: a short place, a short source, then maybe the headline.
_DATELINE_RE = re.compile(r"^(?P<place>[^/|]{2,30}?)\s+[/|]\s+(?P<source>[^/|]{2,40}?)(?:\s+[/|]\s+(?P<rest>.*))?$")
_MAX_TITLE_CHARS = 200


def _dateline(line: str) -> tuple[str, str, str] | None:
    """``(place, source, rest)`` when ``line`` is a dateline, else None."""
    match = _DATELINE_RE.match(line)
    if not match or len(match["place"].split()) > 3 or len(match["source"].split()) > 4:
        return None
    return match["place"], match["source"], match["rest"] or ""


def read_text(text: str, source: str, doc_id: str, limits: Limits | None = None) -> Iterator[Item]:
    """One document from a plain-text file (a web page saved as text).

    Share/like/follow lines are dropped; a dateline (``रायपुर / ETrendingIndia
    / शीर्षक``) gives the ``source`` and, when it carries one, the title;
    otherwise the first meaningful line of at most 200 characters is the
    title. The rest is the body.
    """
    lines = [line for line in clean_text(text).split("\n") if not is_boilerplate_line(line)]
    fields: dict[str, str] = {"id": doc_id}
    meaningful = [i for i, line in enumerate(lines) if any(ch.isalnum() for ch in line)]
    if meaningful:
        first = meaningful[0]
        dateline = _dateline(lines[first])
        if dateline:
            fields["source"] = dateline[1]
            lines[first] = dateline[2]
            if not dateline[2]:
                meaningful = meaningful[1:]
                first = meaningful[0] if meaningful else first
        if len(lines[first]) <= _MAX_TITLE_CHARS:
            fields["title"] = lines[first]
            lines[first] = ""
    fields["body"] = "\n".join(lines)
    yield _reject_or_record(fields, None, source, 1, text, limits or DEFAULT_LIMITS)


_HTML_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
                   "iframe", "svg", "button", "template", "select", "figure")
#: class/id words of page furniture around an article.
_HTML_FURNITURE_RE = re.compile(
    r"share|sharing|social|\bnav|menu|breadcrumb|footer|comment|related|advert|\bads?\b|sidebar|"
    r"subscribe|newsletter|cookie|popup|promo|widget|\btags?\b|author|byline|trending|recommend",
    re.IGNORECASE,
)
#: Elements whose text is a block of the body: each innermost one is taken (see :func:`_leaf_blocks`).
_HTML_BLOCK_TAGS = frozenset(("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "dd"))


def _leaf_blocks(root: Any) -> list[Any]:
    """The block elements under ``root`` (itself included) that hold no other block, in page order.

    One walk over the tree (first child, next sibling, back up to the
    parent), each node visited once: asking every block for the blocks inside
    it was quadratic in the nesting (5,000 nested ``<blockquote>``: minutes).
    Innermost blocks never contain one another, so the order in which the
    walk closes them is the page's order.
    """
    blocks = _HTML_BLOCK_TAGS
    leaves: list[Any] = []
    path: list[list[Any]] = [[root, False]]  # the open nodes, and whether a block was found inside each
    node = root.child
    while path:
        if node is not None:
            path.append([node, False])
            node = node.child
            continue
        done, inner = path.pop()
        if done.tag in blocks:
            if not inner:
                leaves.append(done)
            inner = True
        if path:
            if inner:
                path[-1][1] = True
            node = done.next
    return leaves


def _meta(tree: Any, *names: str) -> str:
    for name in names:
        for attr in ("property", "name", "itemprop"):
            node = tree.css_first(f'meta[{attr}="{name}"]')
            if node is not None and (node.attributes.get("content") or "").strip():
                return node.attributes["content"].strip()
    return ""


def _optional_date(value: str) -> str:
    try:
        return _published(value)
    except ValueError:
        return ""


_ABSOLUTE_URL_RE = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def canonical_id(url: str) -> str:
    """The id a page takes from its canonical URL: the URL itself when it is an absolute
    http(s) address of at most 512 characters (an id's limit), else "" (the path's id).

    A page saved by a crawler keeps its canonical URL wherever the file is moved, so a
    job whose directory moves updates its pages instead of adding them again; a
    relative ``href`` ("/", "story.html") says nothing about which page it is.

    >>> canonical_id("https://janawaz.example/monsoon-delhi"), canonical_id("/monsoon-delhi")
    ('https://janawaz.example/monsoon-delhi', '')
    """
    return url if len(url) <= 512 and _ABSOLUTE_URL_RE.fullmatch(url) else ""


def read_html(html: str, source: str, doc_id: str, limits: Limits | None = None) -> Iterator[Item]:
    """One document from a web page: its title and main text, without page furniture.

    Parsing is selectolax's (Lexbor, a browser-grade HTML5 parser). Navigation,
    header, footer, asides, forms, scripts and elements whose class or id
    names share buttons, menus, comments, related links or ads are removed;
    the text is taken from ``<article>`` (or ``itemprop=articleBody``,
    ``<main>``, the body), block by block. ``url`` comes from the canonical
    link or ``og:url``, ``published`` from ``article:published_time`` or the
    first ``<time datetime>``, ``source`` from ``og:site_name``. The page's id is
    its canonical URL (:func:`canonical_id`) when it has one, else ``doc_id``
    (its path under the input root).
    """
    from selectolax.lexbor import LexborHTMLParser  # only HTML inputs need it

    tree = LexborHTMLParser(html)
    canonical = tree.css_first('link[rel="canonical"]')
    url = (canonical.attributes.get("href") or "").strip() if canonical is not None else ""
    url = url or _meta(tree, "og:url")
    published = _meta(tree, "article:published_time", "datePublished", "date", "pubdate", "dc.date")
    time_node = tree.css_first("time[datetime]")
    if not published and time_node is not None:
        published = time_node.attributes.get("datetime") or ""
    site = _meta(tree, "og:site_name", "application-name")
    page_title = tree.css_first("title")
    h1 = tree.css_first("article h1") or tree.css_first("h1")
    title = _meta(tree, "og:title", "twitter:title") or (h1.text(separator=" ") if h1 is not None else "")
    if not title and page_title is not None:
        title = page_title.text()

    tree.strip_tags(list(_HTML_DROP_TAGS))
    for node in tree.css("[class], [id]"):
        names = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
        if node.tag not in ("html", "body", "article", "main") and _HTML_FURNITURE_RE.search(names):
            node.decompose()
    root = (tree.css_first("article") or tree.css_first('[itemprop="articleBody"]')
            or tree.css_first("main") or tree.body)
    blocks: list[str] = []
    if root is not None:
        texts = [n.text(separator=" ") for n in _leaf_blocks(root)] or [root.text(separator="\n")]
        blocks = [b for b in (clean_text(t) for t in texts) if b and not is_boilerplate_line(b)]
    fields = {"id": canonical_id(url) or doc_id, "title": title, "body": "\n".join(blocks), "url": url,
              "published": _optional_date(published), "source": site}
    yield _reject_or_record(fields, None, source, 1, html, limits or DEFAULT_LIMITS)
