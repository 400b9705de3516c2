"""API keys: which requests need which key, and whether the one sent is right.

Writes (``POST``, ``PUT``, ``DELETE`` on ``/documents…``) are off unless
``SEARCH_API_KEY`` is set, and then need ``Authorization: Bearer <key>``.
Reads are open unless ``SEARCH_READ_KEY`` is set; then every read needs the
read key or the write key. ``/health`` (load balancers probe it without
credentials, and it tells only whether the index opens and how many documents
it holds), ``/openapi.json`` (the API's shape, no data), the static files and
the widget script (code, no data) and CORS preflights (a browser never sends
credentials with one) stay open.

Keys are compared with :func:`hmac.compare_digest` and never logged or echoed.
Pure functions of the settings and the request's method, path and header, so
the web layer only turns a :class:`Refusal` into an answer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from .config import Settings

__all__ = ["Refusal", "refusal", "is_write", "OPEN_PATHS", "WRITE_METHODS"]

#: Methods that change documents (on paths under ``/documents``).
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
#: Paths a read key never closes.
OPEN_PATHS = frozenset({"/health", "/openapi.json", "/widget.js"})


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the HTTP status, the error kind and what to do."""

    status: int
    kind: str
    message: str


def is_write(method: str, path: str) -> bool:
    """Whether the request would change documents."""
    return method in WRITE_METHODS and (path == "/documents" or path.startswith("/documents/"))


def _bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _matches(token: str, key: str) -> bool:
    return bool(key) and hmac.compare_digest(token.encode("utf-8", "surrogatepass"), key.encode("utf-8", "surrogatepass"))


def refusal(settings: Settings, method: str, path: str, authorization: str | None) -> Refusal | None:
    """None when the request may go on, else why not (401 without a key, 403 with a wrong one,
    403 ``writes_disabled`` for a write where no write key is configured)."""
    if method == "OPTIONS":
        return None
    if is_write(method, path):
        if not settings.api_key:
            return Refusal(403, "writes_disabled", "writes are disabled on this server: set SEARCH_API_KEY to enable them")
        token = _bearer(authorization)
        if token is None:
            return Refusal(401, "unauthorized", "this write needs the API key: send Authorization: Bearer <key>")
        if not _matches(token, settings.api_key):
            return Refusal(403, "forbidden", "the key sent is not the API key of this server")
        return None
    if not settings.read_key or path in OPEN_PATHS or path.startswith("/static/"):
        return None
    token = _bearer(authorization)
    if token is None:
        return Refusal(401, "unauthorized", "this server needs a key to read: send Authorization: Bearer <key>")
    if not (_matches(token, settings.read_key) or _matches(token, settings.api_key)):
        return Refusal(403, "forbidden", "the key sent is not a key of this server")
    return None
