"""HTTP: the Flask app. Parses and checks parameters, nothing more.

The web layer never touches Whoosh: it asks :class:`SearchService` and turns
its answers and errors into JSON. Every error is a JSON body with ``error``
(a machine-readable kind) and ``message`` (what to fix).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .config import Settings
from .searching import IndexUnavailable, QueryError, SearchRequest, SearchService

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


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides ``SEARCH_*`` environment variables and defaults.

    ``gunicorn 'search:create_app()'`` serves the index named by ``SEARCH_INDEX``.
    """
    settings = Settings.load(config)
    app = Flask(__name__)
    app.json.ensure_ascii = False  # Hindi readable in responses
    app.json.sort_keys = False
    app.config["SETTINGS"] = settings
    service = SearchService(settings)
    app.extensions["search"] = service
    origins = settings.allowed_origins()

    @app.get("/search")
    def search() -> Any:
        q = request.args.get("q", "")
        if not q.strip():
            raise BadRequest("'q' is required: give the words to search for, e.g. ?q=भारत")
        per_page = _positive_int("per_page", settings.default_per_page, settings.max_per_page)
        page = _positive_int("page", 1, settings.max_page)
        response = service.search(SearchRequest(q=q, page=page, per_page=per_page))
        log.info(
            "search q_chars=%d hits=%d total=%d took_ms=%.1f",
            len(q), len(response.hits), response.total, response.took_ms,
        )
        return jsonify(response.as_dict())

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
