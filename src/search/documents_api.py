"""HTTP: the documents API's writes, a Flask blueprint. ``POST /documents``,
``PUT /documents/<id>``, ``DELETE /documents/<id>``, ``POST /documents/delete``.

A request's body is read into records by :mod:`search.documents` (the same
validation and rejects as a line of ``ingest.py``'s input) and written by
:func:`search.indexing.ingest` (the same lock, idempotence by content hash,
and commit), so a record sent here and the same record in a feed file land
alike. Each write is committed before the answer, which lists what became of
every record, in order.

Statuses: 200 when the body was read and at least one record was taken (the
results say which were rejected, and why; 202 with every taken record
``pending`` when ``SEARCH_COMMIT_WITHIN_MS`` batches commits, see
:class:`PendingWrites`); 422 ``rejected`` when every record
was; 400 when nothing of the body could be read (or a PUT's id is not the
URL's); 404 for a ``DELETE`` of an id the index does not hold; 413 past
``SEARCH_MAX_BATCH`` records or ``SEARCH_MAX_BODY_BYTES``; 415 for a body that
is neither JSON nor JSON Lines; 503 ``index_locked`` with ``Retry-After``
while another writer (an ingest) holds the index longer than
``SEARCH_WRITE_LOCK_WAIT``. Keys are checked before any of this (:mod:`search.access`).

Must not touch: the engine (it speaks to :mod:`search.indexing` only).
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import threading
from typing import Any, Iterable

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
from .documents import Item
from .indexing import OUTCOMES, IndexLocked, VocabularyNotSaved, ingest

__all__ = ["documents_api", "JSON_TYPES", "NDJSON_TYPES", "PendingWrites", "pending_writes"]

log = logging.getLogger("search.writes")

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


class PendingWrites:
    """Writes answered before they are committed (``SEARCH_COMMIT_WITHIN_MS`` > 0).

    Many small writes (a CMS saving one story at a time) would each cost a commit and
    a new segment; here they are queued in this server process and written as one
    ingest, in the order they came, within ``commit_within_ms`` of the first. The
    queue is committed when the process exits normally too; a process that dies
    (``kill -9``, a crash) loses what it had not committed, which is why it is off
    by default. A flush that finds the index locked, or fails, keeps the queue and
    tries again after the same delay.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._items: list[Item] = []
        self._lock = threading.Lock()  # guards the queue and the timer
        self._flushing = threading.Lock()  # one flush at a time
        self._timer: threading.Timer | None = None
        atexit.register(self._flush_at_exit)

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - at exit there is no one to raise to: say what is lost
            log.error(_log_line(f"{self.pending()} pending write(s) lost at exit", exc))

    def add(self, items: Iterable[Item]) -> None:
        """Queue ``items`` (records and deletions) to be committed within the delay."""
        with self._lock:
            self._items.extend(items)
            self._schedule()

    def _schedule(self) -> None:
        if self._timer is None and self._items:
            self._timer = threading.Timer(self.settings.commit_within_ms / 1000, self._run)
            self._timer.daemon = True
            self._timer.start()

    def _run(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - kept and retried; a thread has no one to raise to
            log.warning(_log_line("pending writes not committed, trying again", exc))

    def flush(self) -> int:
        """Commit what is queued now; the number of items written. Raises what the ingest
        raises (the queue is kept, and tried again after the delay)."""
        with self._flushing:
            with self._lock:
                items, self._items = self._items, []
            if not items:
                return 0
            try:
                ingest(items, self.settings.index, wait=self.settings.write_lock_wait, fsync=bool(self.settings.fsync),
                       look_up_ids=True)
            except VocabularyNotSaved:
                return len(items)  # committed; the next ingest rebuilds the word list
            except BaseException:
                with self._lock:
                    self._items[:0] = items
                    self._schedule()
                raise
            return len(items)

    def pending(self) -> int:
        with self._lock:
            return len(self._items)


def _log_line(message: str, exc: BaseException) -> str:
    """A line of the server's log, JSON like the access log's."""
    return json.dumps({"event": "writes", "message": message, "error": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False)


def pending_writes(app: Any) -> PendingWrites:
    """The app's queue of pending writes (made on first use); ``flush()`` commits it now."""
    with _QUEUE_LOCK:  # two first writes at once must not make two queues
        queue = app.extensions.get("pending_writes")
        if queue is None:
            queue = app.extensions["pending_writes"] = PendingWrites(app.config["SETTINGS"])
        return queue


_QUEUE_LOCK = threading.Lock()


def _queue(items: list[BodyItem], settings: Settings) -> dict[str, Any]:
    """Queue the records that were read (rejects are answered now): the answer of a pending write."""
    pending_writes(current_app).add(b.item for b in items if not isinstance(b.item, Reject))
    results = []
    for b in items:
        rejected = isinstance(b.item, Reject)
        result: dict[str, Any] = {"position": b.position, "id": b.id, "status": "rejected" if rejected else "pending"}
        if rejected:
            result["reason"] = b.item.reason  # type: ignore[union-attr]
        results.append(result)
    counts = {name: 0 for name in OUTCOMES}
    counts["rejected"] = sum(r["status"] == "rejected" for r in results)
    return {"results": results, **counts, "pending": len(results) - counts["rejected"], "committed": False,
            "commit_within_ms": settings.commit_within_ms, "notes": []}


def _write(items: list[BodyItem], settings: Settings) -> dict[str, Any]:
    """Write ``items`` as one ingest (under the ingest lock, committed before it returns);
    what became of each, in order, and the counts. With ``commit_within_ms``, queue them."""
    if settings.commit_within_ms > 0:
        return _queue(items, settings)
    outcomes: list[str] = []
    try:
        report = ingest(
            (b.item for b in items), settings.index, wait=settings.write_lock_wait, fsync=bool(settings.fsync),
            on_outcome=lambda item, outcome: outcomes.append(outcome), look_up_ids=True,
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
    """200 when a record was taken (202 when it is pending); 422 when every one was rejected."""
    if answer["rejected"] == len(answer["results"]):
        return _error(422, "rejected", "every record was rejected, nothing was written: see results[].reason",
                      **answer)
    return jsonify(answer), 202 if not answer["committed"] else 200


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
    return _answer(answer)


@documents_api.post("/documents/delete")
def delete_documents() -> Any:
    """Delete documents by id: ``{"ids": [...]}``; ids the index does not hold are ``not_found``."""
    settings = _settings()
    data, _ = _body(settings, JSON_TYPES)
    items = _read(read_ids, data, Limits.from_settings(settings), settings.max_batch)
    return _answer(_write(items, settings))
