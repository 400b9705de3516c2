"""HTTP: the Flask app. Parses and checks parameters, nothing more.

The web layer never touches Whoosh: it asks :class:`SearchService` and turns
its answers and errors into JSON. Every error is a JSON body with ``error``
(a machine-readable kind) and ``message`` (what to fix).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any, Mapping

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .config import Settings, SettingsError
from .openapi import openapi_spec
from .searching import (
    FACETS,
    SORTS,
    FilterError,
    IndexUnavailable,
    QueryError,
    SearchRequest,
    SearchService,
    SearchTimeout,
)

__all__ = ["create_app"]

log = logging.getLogger("search.access")


class BadRequest(Exception):
    """A parameter is missing or wrong; answered with 400."""


def _error(status: int, kind: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": kind, "message": message}), status


def _positive_int(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
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


def _choice_list(name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of names from ``allowed`` (duplicates dropped, order kept)."""
    raw = request.args.get(name, "")
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


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    raw = request.args.get(name, "") or allowed[0]
    if raw not in allowed:
        raise BadRequest(f"'{name}' must be one of {', '.join(allowed)}; got {raw[:40]!r}")
    return raw


def _tag(name: str, default: str) -> str:
    raw = request.args.get(name)
    if raw is None:
        return default
    if len(raw) > 200:
        raise BadRequest(f"'{name}' must be at most 200 characters")
    return raw


def _required_q() -> str:
    q = request.args.get("q", "")
    if not q.strip():
        raise BadRequest("'q' is required: give the words to search for, e.g. ?q=भारत")
    return q


def _log_to_stderr_unless_configured() -> None:
    """Access lines go to stderr (one JSON object a line) unless the host set up logging.

    gunicorn and ``hindi-search serve`` leave the root logger bare, so the lines
    reach the server's error log; an application that configures logging
    (or pytest) gets them through its own handlers instead.
    """
    if log.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides ``SEARCH_*`` environment variables and defaults.

    ``gunicorn 'search:create_app()'`` serves the index named by ``SEARCH_INDEX``.
    """
    settings = Settings.load(config)
    if settings.log_queries not in ("text", "hash", "none"):
        raise SettingsError(f"setting 'log_queries' must be text, hash or none, got {settings.log_queries!r}")
    _log_to_stderr_unless_configured()
    app = Flask(__name__)
    app.json.ensure_ascii = False  # Hindi readable in responses
    app.json.sort_keys = False
    app.config["SETTINGS"] = settings
    service = SearchService(settings)
    app.extensions["search"] = service
    origins = settings.allowed_origins()

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.get("/search")
    def search() -> Any:
        q = _required_q()
        per_page = _positive_int("per_page", settings.default_per_page, settings.max_per_page)
        page = _positive_int("page", 1, settings.max_page)
        search_request = SearchRequest(
            q=q,
            page=page,
            per_page=per_page,
            filter=request.args.get("filter", ""),
            facets=_choice_list("facets", FACETS),
            sort=_choice("sort", SORTS),
            highlight_pre_tag=_tag("highlight_pre_tag", "<mark>"),
            highlight_post_tag=_tag("highlight_post_tag", "</mark>"),
            snippet_chars=_positive_int("snippet_chars", settings.snippet_chars, settings.max_snippet_chars),
            snippets=_positive_int("snippets", 1, settings.max_snippets),
        )
        response = service.search(search_request)
        g.hits, g.total = len(response.hits), response.total
        return jsonify(response.as_dict())

    @app.get("/suggest")
    def suggest() -> Any:
        q = _required_q()
        limit = _positive_int("limit", settings.suggest_limit, settings.max_suggest_limit)
        if len(q) > settings.max_query_chars:
            raise BadRequest(f"'q' is longer than {settings.max_query_chars} characters")
        answer = service.suggest(q, limit)
        g.hits = len(answer["completions"]) + len(answer["titles"])
        return jsonify(answer)

    @app.get("/documents/<path:doc_id>")
    def document(doc_id: str) -> Any:
        stored = service.document(doc_id)
        if stored is None:
            return _error(404, "not_found", f"no document with id {doc_id[:200]!r}")
        return jsonify(stored)

    @app.get("/stats")
    def stats() -> Any:
        return jsonify(service.stats())

    @app.get("/openapi.json")
    def openapi() -> Any:
        return jsonify(openapi_spec(settings))

    @app.get("/health")
    def health() -> Any:
        try:
            return jsonify(service.health())
        except IndexUnavailable as exc:
            return jsonify({"status": "error", "message": str(exc)}), 503

    @app.errorhandler(BadRequest)
    def bad_request(exc: BadRequest) -> Any:
        return _error(400, "bad_request", str(exc))

    @app.errorhandler(QueryError)
    def bad_query(exc: QueryError) -> Any:
        return _error(400, "bad_query", str(exc))

    @app.errorhandler(FilterError)
    def bad_filter(exc: FilterError) -> Any:
        return _error(400, "bad_filter", f"filter: {exc}")

    @app.errorhandler(SearchTimeout)
    def timeout(exc: SearchTimeout) -> Any:
        response, status = _error(503, "timeout", f"{exc}; narrow the query (fewer prefixes, more words)")
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(IndexUnavailable)
    def unavailable(exc: IndexUnavailable) -> Any:
        return _error(503, "index_unavailable", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return _error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        app.logger.exception("unhandled error")
        return _error(500, "internal_error", "the server failed to answer; the error was logged")

    @app.after_request
    def access_log(response: Response) -> Response:
        """One JSON line per request: what was asked and how it went, never document text."""
        if log.isEnabledFor(logging.INFO):
            started = g.get("started")
            entry = {
                "method": request.method,
                "path": request.path[:200],
                "status": response.status_code,
                "took_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            }
            if "q" in request.args:
                q = request.args.get("q", "")
                if settings.log_queries == "text":
                    entry["query"] = q[:200]
                elif settings.log_queries == "hash":
                    entry["query_sha256"] = hashlib.sha256(q.encode("utf-8", "replace")).hexdigest()[:16]
                entry["query_chars"] = len(q)
            for name in ("filter", "sort", "facets", "page"):
                if name in request.args:
                    entry[name] = request.args.get(name, "")[:200]
            for name in ("hits", "total"):
                if name in g:
                    entry[name] = g.get(name)
            log.info(json.dumps(entry, ensure_ascii=False))
        return response

    @app.after_request
    def cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and origins:
            if "*" in origins:
                response.headers["Access-Control-Allow-Origin"] = "*"
            elif origin in origins:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Vary"] = "Origin"
        return response

    return app
