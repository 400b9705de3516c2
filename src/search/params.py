"""Request parameters -> checked values, shared by the JSON API, the export and the HTML page.

Every check raises :class:`BadRequest` with a message that says what to fix;
the JSON API answers it with a 400 ``bad_request``, the page shows it above the
results. Parameters take a mapping (``request.args``) so they do not depend on
Flask's request context.
"""

from __future__ import annotations

from typing import Mapping

from .config import Settings
from .searching import FACETS, MODES, SORTS, SearchRequest

__all__ = ["BadRequest", "positive_int", "choice", "choice_list", "tag", "required_q", "search_request"]


class BadRequest(Exception):
    """A parameter is missing or wrong; answered with 400."""


def positive_int(args: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    """``args[name]`` as a whole number in 1 … ``maximum``; ``default`` when absent or empty."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be a positive whole number, got {raw[:20]!r}") from None
    if value < 1:
        raise BadRequest(f"'{name}' must be at least 1, got {value}")
    if value > maximum:
        raise BadRequest(f"'{name}' must be at most {maximum}, got {value}")
    return value


def choice_list(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of names from ``allowed`` (duplicates dropped, order kept)."""
    raw = args.get(name, "")
    chosen: list[str] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if part not in allowed:
            raise BadRequest(f"'{name}' takes {', '.join(allowed)}; got {part[:40]!r}")
        if part not in chosen:
            chosen.append(part)
    return tuple(chosen)


def choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``; the first when absent or empty."""
    raw = args.get(name, "") or allowed[0]
    if raw not in allowed:
        raise BadRequest(f"'{name}' must be one of {', '.join(allowed)}; got {raw[:40]!r}")
    return raw


def tag(args: Mapping[str, str], name: str, default: str) -> str:
    """A highlight tag (raw, at most 200 characters)."""
    raw = args.get(name)
    if raw is None:
        return default
    if len(raw) > 200:
        raise BadRequest(f"'{name}' must be at most 200 characters")
    return raw


def required_q(args: Mapping[str, str]) -> str:
    q = args.get("q", "")
    if not q.strip():
        raise BadRequest("'q' is required: give the words to search for, e.g. ?q=भारत")
    return q


def search_request(args: Mapping[str, str], settings: Settings, *, paged: bool = True) -> SearchRequest:
    """The ``/search`` parameters as a :class:`SearchRequest`.

    ``paged=False`` (the exports) leaves ``page``/``per_page`` out: an export
    takes every page up to its own cap.
    """
    q = args.get("q", "")  # blank: a placeholder search, every document the filter keeps
    page, per_page = 1, settings.default_per_page
    if paged:
        per_page = positive_int(args, "per_page", settings.default_per_page, settings.max_per_page)
        page = positive_int(args, "page", 1, settings.max_page)
    return SearchRequest(
        q=q,
        page=page,
        per_page=per_page,
        filter=args.get("filter", ""),
        facets=choice_list(args, "facets", FACETS) if paged else (),
        sort=choice(args, "sort", SORTS),
        highlight_pre_tag=tag(args, "highlight_pre_tag", "<mark>"),
        highlight_post_tag=tag(args, "highlight_post_tag", "</mark>"),
        snippet_chars=positive_int(args, "snippet_chars", settings.snippet_chars, settings.max_snippet_chars),
        snippets=positive_int(args, "snippets", 1, settings.max_snippets),
        mode=choice(args, "mode", MODES),
    )
