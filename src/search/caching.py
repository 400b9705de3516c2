"""HTTP caching and compression: ETags, ``304 Not Modified``, ``Cache-Control``, versioned
static files, gzip and brotli.

Why here and not in each view: every answer's cache policy is one table
(:data:`POLICIES`), so no endpoint can forget one, and an error is never cached.

**ETags are weak** (``W/"…"``) and name what an answer is made from, not its
bytes: the service's answer state (:meth:`SearchService.answers_version`: the
index commit, the vocabulary, the vectors of hybrid search), the app (package
version, settings, static files) and the request (method, path, query string).
Two answers with one ETag are the same answer, though not the same bytes
(``took_ms`` differs, and so does the body gzip or brotli makes of it): that is
what a weak validator says, and ``If-None-Match`` compares weakly anyway. So the
ETag is known *before* the answer is made, and a revalidation that matches is a
304 without searching. A static file's ETag is its content hash.

**Compression** is flask-compress: brotli or gzip, as the client's
``Accept-Encoding`` prefers, for JSON, HTML, CSV, JavaScript and CSS of at least
500 bytes, with ``Vary: Accept-Encoding`` on every answer. Exports stream
compressed (brotli or gzip) block by block, after the whole file is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, g, request, send_from_directory
from flask_compress import Compress

from . import version
from .config import Settings
from .searching import SearchService

__all__ = ["install_caching", "POLICIES", "IMMUTABLE"]

#: A versioned static URL (``/static/style.css?v=<its hash>``): its bytes never change.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Stable URLs other sites load (``/widget.js``, ``/static/widget.css`` unversioned).
STABLE = "public, max-age=3600"
#: Search answers: kept, but revalidated at every use (a 304 is nearly free), so a
#: client never sees an older index commit after a newer one.
REVALIDATE = "no-cache"
#: Liveness, counts, downloads and every error: never stored.
NEVER = "no-store"

#: Endpoint -> Cache-Control of its successful answers; every other endpoint is ``no-store``.
#: Those listed get an ETag and answer a matching ``If-None-Match`` with 304.
POLICIES: dict[str, str] = {
    "search": REVALIDATE,
    "suggest": REVALIDATE,
    "document": REVALIDATE,
    "openapi": REVALIDATE,
    "pages.search_page": REVALIDATE,
    "pages.widget_demo": REVALIDATE,
    "pages.widget_script": STABLE,
    "static": IMMUTABLE,  # when versioned; STABLE without a version, REVALIDATE with another one
}

#: What flask-compress compresses: our text answers (CSV is not in its defaults).
COMPRESSED_TYPES = ["application/json", "text/html", "text/css", "text/csv", "text/javascript", "application/javascript"]
#: Bytes below which an answer is sent as it is (gzip's header and the round trip outweigh the saving).
COMPRESS_MIN_BYTES = 500


def _static_hashes(folder: str | None) -> dict[str, str]:
    """File name -> the first 12 hex digits of its SHA-256, for every file shipped in ``static/``."""
    hashes: dict[str, str] = {}
    if not folder or not os.path.isdir(folder):
        return hashes
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                hashes[name] = hashlib.sha256(f.read()).hexdigest()[:12]
    return hashes


def _app_fingerprint(settings: Settings, hashes: dict[str, str]) -> str:
    """What every answer of this app depends on besides the index: code version, settings, static files."""
    text = json.dumps([version(), asdict(settings), hashes], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def install_caching(app: Flask, service: SearchService) -> None:
    """ETags, 304s, Cache-Control, static versions and compression for ``app``.

    Install it after every view and blueprint is registered (it replaces the
    static view by one with content ETags and no byte ranges)."""
    settings: Settings = app.config["SETTINGS"]
    hashes = _static_hashes(app.static_folder)
    fingerprint = _app_fingerprint(settings, hashes)

    app.config.update(
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_MIN_SIZE=COMPRESS_MIN_BYTES,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_ALGORITHM_STREAMING=["br", "gzip"],
        COMPRESS_STREAMS=True,
        # Conditional requests are answered here, before any work (see check_not_modified).
        COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,
    )
    Compress(app)

    @app.url_defaults
    def static_version(endpoint: str, values: dict[str, Any]) -> None:
        """``url_for('static', filename='style.css')`` -> ``/static/style.css?v=<hash>``."""
        if endpoint == "static" and "v" not in values:
            digest = hashes.get(values.get("filename", ""))
            if digest:
                values["v"] = digest

    def static_file(filename: str) -> Response:
        """A file of ``static/``: no byte ranges (they would be ranges of the compressed bytes)
        and no ETag of werkzeug's (ours is the content hash)."""
        return send_from_directory(app.static_folder or "static", filename, etag=False, conditional=False)

    app.view_functions["static"] = static_file

    def etag_of_request() -> str | None:
        """The ETag the answer to this request will have, or None for an answer never cached."""
        endpoint = request.endpoint or ""
        if endpoint not in POLICIES or request.method not in ("GET", "HEAD"):
            return None
        if endpoint == "static":
            return hashes.get((request.view_args or {}).get("filename", ""))
        if endpoint == "pages.widget_script":
            return hashes.get("widget.js")
        state = service.answers_version()
        if state is None:  # no index: the answer is an error
            return None
        # HEAD is GET without the body: one representation, one ETag.
        key = "\n".join((fingerprint, state, "GET", request.path, request.query_string.decode("latin-1")))
        generation = state.split("-", 1)[0]
        return f"{generation}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:20]}"

    @app.before_request
    def check_not_modified() -> Response | None:
        """A revalidation that matches is answered 304 at once, before the search runs."""
        tag = etag_of_request()
        g.etag = tag
        if tag is None:
            return None
        wanted = request.if_none_match
        if wanted and not wanted.star_tag and wanted.contains_weak(tag):
            response = Response(status=304)
            del response.headers["Content-Type"]
            return response
        return None

    @app.after_request
    def cache_headers(response: Response) -> Response:
        """Cache-Control of every answer (``no-store`` unless its endpoint has a policy and
        it succeeded), and the ETag of those that have one."""
        tag = g.get("etag")
        ok = response.status_code in (200, 304) and tag is not None
        if not ok:
            response.headers["Cache-Control"] = NEVER
            response.headers.pop("Expires", None)
            response.headers.pop("ETag", None)
            return response
        policy = POLICIES[request.endpoint or ""]
        if request.endpoint == "static":
            given = request.args.get("v")
            policy = STABLE if given is None else IMMUTABLE if given == tag else REVALIDATE
        response.headers["Cache-Control"] = policy
        response.headers.pop("Expires", None)  # Cache-Control says it
        response.set_etag(tag, weak=True)
        return response

