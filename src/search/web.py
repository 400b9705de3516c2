"""HTTP: the Flask app. Parses and checks parameters, nothing more.

The web layer never touches Whoosh: it asks :class:`SearchService` and turns
its answers and errors into JSON (and CSV for ``/export.csv``). Every error is
a JSON body with ``error`` (a machine-readable kind) and ``message`` (what to
fix). The HTML search page and the widget are a blueprint in :mod:`search.pages`;
the security headers of every HTML answer are set here, in one place; caching
and compression (ETags, 304s, Cache-Control, gzip and brotli) in :mod:`search.caching`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from typing import Any, Iterator, Mapping

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .access import refusal
from .caching import install_caching
from .config import Settings, SettingsError
from .documents_api import documents_api
from .exporting import csv_chunks, json_chunks
from .openapi import openapi_spec
from .pages import pages
from .params import BadRequest, positive_int, required_q, search_request
from .searching import Busy, FilterError, IndexUnavailable, QueryError, SearchService, SearchTimeout, SemanticOff

__all__ = ["create_app"]

log = logging.getLogger("search.access")

#: For every HTML response: scripts, styles, fetches and forms of this origin only
#: (no inline code, so injected markup cannot run), and no framing by other sites.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)


def _error(status: int, kind: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": kind, "message": message}), status


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
    service.warm_up()
    app.extensions["search"] = service
    origins = settings.allowed_origins()

    @app.before_request
    def start_clock() -> None:
        """The request's one deadline: every step of its answer checks it."""
        g.started = time.perf_counter()
        g.deadline = service.deadline()

    # -- The documents API (issue 19): keys for reads and writes, and the write endpoints.
    write_methods = "GET, HEAD, OPTIONS, POST, PUT, DELETE" if settings.api_key else "GET, HEAD, OPTIONS"

    @app.before_request
    def check_key() -> Any:
        """Writes need the API key (and are off without one); reads the read key when one is set."""
        refused = refusal(settings, request.method, request.path, request.headers.get("Authorization"))
        if refused is None:
            return None
        response, status = _error(refused.status, refused.kind, refused.message)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="hindi-search"'
        return response, status

    app.register_blueprint(documents_api)
    # -- (end of the documents API)

    @app.get("/search")
    def search() -> Any:
        response = service.search(search_request(request.args, settings), g.deadline)
        g.hits, g.total = len(response.hits), response.total
        return jsonify(response.as_dict())

    def export(kind: str) -> Response:
        """All pages of a search, up to ``export_max_rows``, as CSV or JSON.

        The whole file is written (in memory, then a temporary file past
        ``EXPORT_MEMORY_BYTES``) before the answer starts, within the export's
        own time limit: a search or snippets past it are a clean 503, never a
        download cut short without a word."""
        deadline = service.export_deadline()
        wanted = search_request(request.args, settings, paged=False)
        limit = positive_int(request.args, "limit", settings.export_max_rows, settings.export_max_rows)
        total, hits = service.export(wanted, limit, deadline)
        g.hits, g.total = min(total, limit), total
        if kind == "csv":
            chunks = csv_chunks(hits, pre=wanted.highlight_pre_tag, post=wanted.highlight_post_tag)
            mimetype = "text/csv"
        else:
            head = {
                "query": wanted.q,
                "filter": wanted.filter or None,
                "sort": wanted.sort,
                "total": total,
                "exported": min(total, limit),
            }
            chunks = json_chunks(head, hits)
            mimetype = "application/json"
        response = Response(_spooled(chunks), mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="hindi-search-results.{kind}"'
        response.headers["X-Total-Count"] = str(total)
        response.headers["X-Export-Rows"] = str(min(total, limit))
        return response

    @app.get("/export.csv")
    def export_csv() -> Response:
        return export("csv")

    @app.get("/export.json")
    def export_json() -> Response:
        return export("json")

    @app.get("/suggest")
    def suggest() -> Any:
        q = required_q(request.args)
        limit = positive_int(request.args, "limit", settings.suggest_limit, settings.max_suggest_limit)
        if len(q) > settings.max_query_chars:
            raise BadRequest(f"'q' is longer than {settings.max_query_chars} characters")
        answer = service.suggest(q, limit, g.deadline)
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
        return jsonify(service.stats(g.deadline))

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

    @app.errorhandler(SemanticOff)
    def semantic_off(exc: SemanticOff) -> Any:
        return _error(400, "semantic_unavailable", str(exc))

    @app.errorhandler(FilterError)
    def bad_filter(exc: FilterError) -> Any:
        return _error(400, "bad_filter", f"filter: {exc}")

    @app.errorhandler(SearchTimeout)
    def timeout(exc: SearchTimeout) -> Any:
        response, status = _error(503, "timeout", f"{exc}; narrow the query (fewer prefixes, more words)")
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(Busy)
    def busy(exc: Busy) -> Any:
        response, status = _error(503, "busy", f"{exc} (expensive searches are answered one at a time)")
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
    def generation(response: Response) -> Response:
        """The index commit the answer comes from: it never goes back for a client that
        asks again (each request reads the latest commit), whichever worker answers."""
        if "deadline" in g:  # (not for requests refused before they began)
            seen = service.generation()
            if seen is not None:
                response.headers["X-Index-Generation"] = str(seen)
        return response

    @app.after_request
    def security_headers(response: Response) -> Response:
        """HTML pages run only our own scripts and styles, and are never framed by other sites."""
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.after_request
    def cors(response: Response) -> Response:
        """Allowed origins may read the (read-only, GET) API; a preflight is answered
        for any request headers a site's script adds (the answers hold no secrets)."""
        if not origins:
            return response
        if "*" not in origins:
            response.vary.add("Origin")  # a shared cache must not serve one site's answer to another
        origin = request.headers.get("Origin")
        if not origin or ("*" not in origins and origin not in origins):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response.headers["Access-Control-Allow-Methods"] = write_methods
            wanted = request.headers.get("Access-Control-Request-Headers", "")
            if wanted:
                response.headers["Access-Control-Allow-Headers"] = wanted
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    app.register_blueprint(pages)
    # Last: its hooks run first after a view (Cache-Control, ETag, then compression),
    # so the access log and the headers above see the answer as it is sent.
    install_caching(app, service)
    return app


#: An export is kept in memory up to this size while it is written, then in a temporary file.
EXPORT_MEMORY_BYTES = 8 << 20


def _spooled(chunks: Iterator[str]) -> Iterator[bytes]:
    """Write every chunk of an answer now (raising its errors before any byte is sent),
    then hand the written bytes over in blocks."""
    spool = tempfile.SpooledTemporaryFile(max_size=EXPORT_MEMORY_BYTES)
    try:
        for chunk in chunks:
            spool.write(chunk.encode("utf-8"))
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    def blocks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(64 << 10):
                yield block

    return blocks()
