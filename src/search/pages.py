"""HTML: the search page for analysts (``GET /``) and the widget for other sites.

Server-rendered from Jinja2 templates (autoescaped) so everything works without
JavaScript; ``static/search.js`` adds autocomplete and live updates on top.
The whole state of a search lives in the URL (``q``, ``source``, ``category``,
``from``, ``to``, ``filter``, ``sort``, ``page``), so it can be bookmarked and
shared. Like the JSON API, this module only talks to :class:`SearchService`.
Snippets and highlighted titles are the service's HTML (escaped text, our
``<mark>`` tags); they are the only values rendered unescaped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, render_template, request, send_from_directory

from .config import Settings
from .filtering import AllOf, Condition, FilterError, FilterNode, date_bound, describe_filter
from .params import BadRequest, choice, positive_int
from .searching import FACETS, SORTS, Busy, IndexUnavailable, QueryError, SearchRequest, SearchService, SearchTimeout

__all__ = ["pages", "PageState"]

pages = Blueprint("pages", __name__)


@pages.record_once
def _compact_templates(state: Any) -> None:
    """Template tags leave no blank lines behind (smaller pages)."""
    state.app.jinja_env.trim_blocks = True
    state.app.jinja_env.lstrip_blocks = True

#: Above this many months the date facet is shown by year.
MAX_MONTHS_SHOWN = 24

def _date_bound(args: Mapping[str, str], name: str, end: bool) -> str:
    """``from``/``to`` as a full ISO date; ``2026`` or ``2026-03`` mean the first (``from``)
    or last (``to``) day of that year or month, so ``to=2026-03`` includes all of March."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return ""
    try:
        return date_bound(raw, end=end)
    except ValueError:
        raise BadRequest(f"'{name}' must be a date like 2026-03-01 (or 2026-03, 2026), got {raw[:20]!r}") from None


@dataclass(frozen=True)
class PageState:
    """Everything a search page shows, as read from (and written back to) its URL."""

    q: str = ""
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    filter: str = ""
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def from_args(cls, args: Any, settings: Settings, strict: bool = True) -> "PageState":
        """Read the URL's parameters; raises :class:`BadRequest` saying which one is wrong.

        With ``strict`` False a wrong parameter is left at its default instead,
        so the page that shows the error keeps the rest of the selection.
        """
        def read(get: Callable[[], Any], default: Any) -> Any:
            try:
                return get()
            except BadRequest:
                if strict:
                    raise
                return default

        date_from = read(lambda: _date_bound(args, "from", end=False), "")
        date_to = read(lambda: _date_bound(args, "to", end=True), "")
        if date_from and date_to and date_from > date_to and strict:
            raise BadRequest(f"'from' ({date_from}) is after 'to' ({date_to}): no date is in that range")
        return cls(
            q=args.get("q", ""),
            sources=tuple(dict.fromkeys(v for v in args.getlist("source") if v)),
            categories=tuple(dict.fromkeys(v for v in args.getlist("category") if v)),
            date_from=date_from,
            date_to=date_to,
            filter=args.get("filter", ""),
            sort=read(lambda: choice(args, "sort", SORTS), SORTS[0]),
            page=read(lambda: positive_int(args, "page", 1, settings.max_page), 1),
        )

    def pairs(self) -> list[tuple[str, str]]:
        """The state as URL parameters, defaults left out."""
        out = [("q", self.q)] if self.q else []
        out += [("source", v) for v in self.sources] + [("category", v) for v in self.categories]
        for name, value in (("from", self.date_from), ("to", self.date_to), ("filter", self.filter)):
            if value:
                out.append((name, value))
        if self.sort != SORTS[0]:
            out.append(("sort", self.sort))
        if self.page != 1:
            out.append(("page", str(self.page)))
        return out

    def url(self, **changes: Any) -> str:
        """This page's URL with some state changed (a new selection starts again at page 1)."""
        changed = replace(self, **({"page": 1} | changes))
        query = urlencode(changed.pairs())
        return "/?" + query if query else "/"

    def filter_text(self, service: SearchService, without: str = "") -> str:
        """The ``filter`` for the service: the typed filter AND the ticked facets and date range.

        ``without`` leaves one facet's selection out (to count that facet's
        other values). Raises :class:`FilterError` for a typed filter that cannot be read.
        """
        parts: list[FilterNode] = []
        typed = service.parse_filter(self.filter)
        if typed is not None:
            parts.append(typed)
        if self.sources and without != "source":
            parts.append(Condition("source", "in", self.sources))
        if self.categories and without != "category":
            parts.append(Condition("category", "in", self.categories))
        if without != "published":
            if self.date_from:
                parts.append(Condition("published", ">=", (self.date_from,)))
            if self.date_to:
                parts.append(Condition("published", "<=", (self.date_to,)))
        if not parts:
            return ""
        return describe_filter(parts[0] if len(parts) == 1 else AllOf(tuple(parts)))

    def export_url(self, kind: str, service: SearchService) -> str:
        """``/export.csv`` or ``/export.json`` for this search (every page)."""
        params = [("q", self.q)]
        flt = self.filter_text(service)
        if flt:
            params.append(("filter", flt))
        if self.sort != SORTS[0]:
            params.append(("sort", self.sort))
        return f"/export.{kind}?" + urlencode(params)


def _selected(state: PageState, name: str) -> tuple[str, ...]:
    if name == "published":
        return (state.date_from, state.date_to) if state.date_from or state.date_to else ()
    return state.sources if name == "source" else state.categories


def _date_links(state: PageState, months: dict[str, int]) -> list[dict[str, Any]]:
    """The date facet as links: by month, or by year when there are many months."""
    if len(months) > MAX_MONTHS_SHOWN:
        years: dict[str, int] = {}
        for month, n in months.items():
            years[month[:4]] = years.get(month[:4], 0) + n
        periods = years
    else:
        periods = months
    links = []
    for period, count in periods.items():
        low = _date_bound({"d": period}, "d", end=False)
        high = _date_bound({"d": period}, "d", end=True)
        links.append({
            "label": period,
            "count": count,
            "most": max(periods.values()),  # the histogram's scale
            "url": state.url(date_from=low, date_to=high),
            "current": (state.date_from, state.date_to) == (low, high),
        })
    return links


def _last_page(total: int, per_page: int, max_page: int) -> int:
    return min(max(1, -(-total // per_page)), max_page)


def _pagination(state: PageState, total: int, per_page: int, max_page: int) -> list[dict[str, Any]]:
    """Page links: first, a window around the current page, last; gaps shown as ellipses."""
    last = _last_page(total, per_page, max_page)
    shown = sorted({1, last, *range(max(1, state.page - 2), min(last, state.page + 2) + 1)})
    links: list[dict[str, Any]] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            links.append({"gap": True})
        links.append({"number": number, "url": state.url(page=number), "current": number == state.page})
        previous = number
    return links


#: What the page says first when a search cannot run, in the page's language; the
#: service's own words (the API's message) follow, as the detail.
_SAID = {
    "query": "यह खोज समझ में नहीं आई।",
    "request": "पता (URL) में कुछ गलत है।",
    "filter": "फ़िल्टर में गलती है।",
    "timeout": "यह खोज समय-सीमा में पूरी नहीं हुई; कम उपसर्ग (भार*) या ज़्यादा शब्द आज़माएँ।",
    "busy": "सर्वर अभी व्यस्त है; थोड़ी देर में फिर कोशिश करें।",
    "unavailable": "इंडेक्स अभी उपलब्ध नहीं है।",
}


@pages.get("/")
def search_page() -> tuple[str, int]:
    """The search page: form, facets, results, pagination, export links."""
    service: SearchService = current_app.extensions["search"]
    settings: Settings = current_app.config["SETTINGS"]
    error, status, result, facets = "", 200, None, {}
    try:
        state = PageState.from_args(request.args, settings)
    except BadRequest as exc:
        state, error, status = PageState.from_args(request.args, settings, strict=False), f"{_SAID['request']} {exc}", 400
    per_page = settings.default_per_page
    if not error:  # an empty box browses: the newest documents, the whole index's facet counts
        try:
            deadline = g.deadline  # one for the whole page: the search and every facet count
            result = service.search(
                SearchRequest(q=state.q, page=state.page, per_page=per_page,
                              filter=state.filter_text(service), facets=FACETS, sort=state.sort),
                deadline,
            )
            facets = dict(result.facets or {})
            for name in FACETS:  # a ticked facet still counts its other values
                if _selected(state, name):
                    facets.update(
                        service.facet_counts(state.q, state.filter_text(service, without=name), (name,), deadline)
                    )
            g.hits, g.total = len(result.hits), result.total
        except QueryError as exc:
            error, status = f"{_SAID['query']} {exc}", 400
        except BadRequest as exc:
            error, status = f"{_SAID['request']} {exc}", 400
        except FilterError as exc:
            error, status = f"{_SAID['filter']} filter: {exc}", 400
        except SearchTimeout as exc:
            error, status = f"{_SAID['timeout']} {exc}; narrow the query (fewer prefixes, more words)", 503
        except Busy as exc:
            error, status = f"{_SAID['busy']} {exc}", 503
        except IndexUnavailable as exc:
            error, status = f"{_SAID['unavailable']} {exc}", 503
    # Without a result (an error) the ticked values stay, uncounted, so the next search keeps them.
    ticked = {name: _facet_values({}, _selected(state, name), counted=False) for name in ("source", "category")}
    context: dict[str, Any] = {"state": state, "error": error, "result": result, "facet_values": ticked, "date_links": []}
    if result is not None:
        context |= {
            "facet_values": {
                name: _facet_values(facets.get(name, {}), _selected(state, name)) for name in ("source", "category")
            },
            "date_links": _date_links(state, facets.get("published", {})),
            "pagination": _pagination(state, result.total, per_page, settings.max_page),
            "export_csv": state.export_url("csv", service),
            "export_json": state.export_url("json", service),
            "last_page": _last_page(result.total, per_page, settings.max_page),
        }
    labels = settings.facet_labels()
    context |= {"labels": labels, "chips": _chips(state, labels)}
    return render_template("search.html", **context), status


def _chips(state: PageState, labels: dict[str, str]) -> list[dict[str, str]]:
    """The active filters as removable chips: each names one selection and links to
    the same search without it."""
    chips = []
    for name, chosen in (("sources", state.sources), ("categories", state.categories)):
        for value in chosen:
            chips.append({"text": labels.get(value, value),
                          "url": state.url(**{name: tuple(v for v in chosen if v != value)})})
    if state.date_from or state.date_to:
        chips.append({"text": f"{state.date_from or '…'} – {state.date_to or '…'}", "url": state.url(date_from="", date_to="")})
    if state.filter:
        chips.append({"text": state.filter, "url": state.url(filter=""), "code": "1"})
    return chips


def _facet_values(counts: dict[str, int], selected: tuple[str, ...], counted: bool = True) -> list[dict[str, Any]]:
    """Values with counts, most common first; a ticked value stays listed even at 0
    (count None: not counted)."""
    values = [{"value": v, "count": n, "checked": v in selected} for v, n in counts.items()]
    values += [{"value": v, "count": 0 if counted else None, "checked": True} for v in selected if v not in counts]
    return values


@pages.get("/widget.js")
def widget_script() -> Response:
    """The embeddable search box (a static file, at a short, stable URL). Its
    Cache-Control (an hour) and ETag (its content hash) are :mod:`search.caching`'s."""
    return send_from_directory(
        current_app.static_folder or "static", "widget.js", mimetype="text/javascript", etag=False, conditional=False
    )


@pages.get("/widget-demo")
def widget_demo() -> str:
    """A page that embeds the widget exactly as docs/api.md tells a site to.

    Its ``data-api`` is ``SEARCH_PUBLIC_URL``, never a request header (a forged
    ``Host`` would be written into the page, and into any cache in front of it);
    unset, the element has none and the widget calls the origin it was loaded from.
    """
    settings: Settings = current_app.config["SETTINGS"]
    return render_template("widget_demo.html", api=settings.public_url.rstrip("/"))
