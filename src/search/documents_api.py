"""HTTP: the documents API's writes, a Flask blueprint. ``POST /documents``,
``PUT /documents/<id>``, ``DELETE /documents/<id>``, ``POST /documents/delete``.

A request's body is read into records by :mod:`search.documents` (the same
validation and rejects as a line of ``ingest.py``'s input) and written by
:func:`search.indexing.ingest` (the same lock, idempotence by content hash,
and commit), so a record sent here and the same record in a feed file land
alike. Each write is committed before the answer, which lists what became of
every record, in order.

Statuses: 200 when the body was read and at least one record was taken (the
results say which were rejected, and why); 422 ``rejected`` when every record
was; 400 when nothing of the body could be read (or a PUT's id is not the
URL's); 404 for a ``DELETE`` of an id the index does not hold; 413 past
``SEARCH_MAX_BATCH`` records or ``SEARCH_MAX_BODY_BYTES``; 415 for a body that
is neither JSON nor JSON Lines; 503 ``index_locked`` with ``Retry-After``
while another writer (an ingest) holds the index longer than
``SEARCH_WRITE_LOCK_WAIT``. Keys are checked before any of this (:mod:`search.access`).

Must not touch: the engine (it speaks to :mod:`search.indexing` only).
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .config import Settings
from .documents import (
    BodyError,
    BodyItem,
    IdMismatch,
    Limits,
    Reject,
    TooManyRecords,
    delete_item,
    read_body,
    read_ids,
    read_one,
)
from .indexing import OUTCOMES, IndexLocked, VocabularyNotSaved, ingest

__all__ = ["documents_api", "JSON_TYPES", "NDJSON_TYPES"]

documents_api = Blueprint("documents_api", __name__)

#: Content types of a JSON body, and of a JSON Lines one.
JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"})


def _error(status: int, kind: str, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": kind, "message": message, **extra}), status


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


class _Refused(Exception):
    """A request answered with an error before anything is written."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


@documents_api.errorhandler(_Refused)
def _refused(exc: _Refused) -> Any:
    return _error(exc.status, exc.kind, exc.message)


def _body(settings: Settings, allowed: frozenset[str]) -> tuple[bytes, bool]:
    """The request's body (at most ``max_body_bytes``) and whether it is JSON Lines."""
    mimetype = request.mimetype
    if mimetype not in allowed:
        wanted = " or ".join(sorted(t for t in allowed if t in JSON_TYPES or t == "application/x-ndjson"))
        raise _Refused(415, "unsupported_media_type",
                       f"send the body as {wanted} (Content-Type), not {mimetype or 'no content type'!r}")
    most = settings.max_body_bytes
    if request.content_length is not None and request.content_length > most:
        raise _Refused(413, "too_large", f"the body is {request.content_length:,} bytes; at most {most:,} "
                       "(SEARCH_MAX_BODY_BYTES): send the records in smaller batches")
    data = request.stream.read(most + 1)
    if len(data) > most:
        raise _Refused(413, "too_large", f"the body is over {most:,} bytes (SEARCH_MAX_BODY_BYTES): "
                       "send the records in smaller batches")
    return data, mimetype in NDJSON_TYPES


def _read(reader: Any, *args: Any) -> list[BodyItem]:
    """The body's items; a body that cannot be read at all is a 400 (413: too many records)."""
    try:
        return reader(*args)
    except IdMismatch as exc:
        raise _Refused(400, "id_mismatch", str(exc)) from None
    except BodyError as exc:
        raise _Refused(400, "bad_body", str(exc)) from None
    except TooManyRecords as exc:
        raise _Refused(413, "too_many_records", str(exc)) from None


def _write(items: list[BodyItem], settings: Settings) -> dict[str, Any]:
    """Write ``items`` as one ingest (under the ingest lock, committed before it returns);
    what became of each, in order, and the counts."""
    outcomes: list[str] = []
    try:
        report = ingest(
            (b.item for b in items), settings.index, wait=settings.write_lock_wait, fsync=bool(settings.fsync),
            on_outcome=lambda item, outcome: outcomes.append(outcome),
        )
        notes = report.notes
    except IndexLocked as exc:
        raise _Locked(str(exc), settings.write_lock_wait) from None
    except VocabularyNotSaved as exc:  # the documents are committed; /suggest catches up at the next write
        notes = exc.report.notes if exc.report is not None else []
    except OSError as exc:
        raise _Refused(503, "index_unwritable", f"the index could not be written ({exc.strerror or exc}); "
                       "nothing of this request was committed") from None
    results = []
    for body_item, outcome in zip(items, outcomes):
        result: dict[str, Any] = {"position": body_item.position, "id": body_item.id, "status": outcome}
        if isinstance(body_item.item, Reject):
            result["reason"] = body_item.item.reason
        results.append(result)
    counts = {name: outcomes.count(name) for name in OUTCOMES}
    return {"results": results, **counts, "committed": True, "notes": notes}


class _Locked(Exception):
    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


@documents_api.errorhandler(_Locked)
def _locked(exc: _Locked) -> Any:
    response, status = _error(
        503, "index_locked",
        f"another writer (an ingest) holds the index; waited {exc.wait:g} s (SEARCH_WRITE_LOCK_WAIT): "
        "nothing was written, try again",
    )
    response.headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    return response, status


def _answer(answer: dict[str, Any]) -> Any:
    """200 when a record was taken; 422 when every one was rejected (nothing written)."""
    if answer["rejected"] == len(answer["results"]):
        return _error(422, "rejected", "every record was rejected, nothing was written: see results[].reason",
                      **answer)
    return jsonify(answer)


@documents_api.post("/documents")
def post_documents() -> Any:
    """Add or replace documents: one JSON object, a JSON array of them, or JSON Lines."""
    settings = _settings()
    data, ndjson = _body(settings, JSON_TYPES | NDJSON_TYPES)
    items = _read(read_body, data, ndjson, Limits.from_settings(settings), settings.max_batch)
    return _answer(_write(items, settings))


@documents_api.put("/documents/<path:doc_id>")
def put_document(doc_id: str) -> Any:
    """Store the document ``doc_id`` (added, or replaced when it changed)."""
    settings = _settings()
    data, _ = _body(settings, JSON_TYPES)
    item = _read(read_one, data, doc_id, Limits.from_settings(settings))
    return _answer(_write([item], settings))


@documents_api.delete("/documents/<path:doc_id>")
def delete_document(doc_id: str) -> Any:
    """Delete the document ``doc_id``; 404 when the index does not hold it."""
    settings = _settings()
    item = delete_item(doc_id, Limits.from_settings(settings))
    if isinstance(item.item, Reject):
        raise _Refused(400, "bad_request", item.item.reason)
    answer = _write([item], settings)
    if answer["not_found"]:
        return _error(404, "not_found", f"no document with id {doc_id[:200]!r}", **answer)
    return jsonify(answer)


@documents_api.post("/documents/delete")
def delete_documents() -> Any:
    """Delete documents by id: ``{"ids": [...]}``; ids the index does not hold are ``not_found``."""
    settings = _settings()
    data, _ = _body(settings, JSON_TYPES)
    items = _read(read_ids, data, Limits.from_settings(settings), settings.max_batch)
    return _answer(_write(items, settings))
