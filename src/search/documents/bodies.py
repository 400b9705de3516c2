"""A documents API request body -> items, each with its position: :func:`read_body`, :func:`read_ids`.

Owns the shapes a body of ``POST /documents`` may take (one JSON object, a
JSON array of objects, JSON Lines), the position of each record in it (the
element of an array, 1-based; the line of JSON Lines), the batch limit, and
what makes a whole body unreadable (:class:`BodyError`; too many records:
:class:`TooManyRecords`). Each record is judged by the same code as a line
of ``ingest.py``'s input (:mod:`.validation`, :mod:`.json_lines`), so the API
rejects exactly what an ingest rejects, with the same reasons.

Must not touch: HTTP (statuses, headers: the web layer maps the errors) or
the index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from .json_lines import read_jsonl
from .records import Item, Limits, Reject
from .validation import _reject_or_record

__all__ = ["BodyError", "IdMismatch", "TooManyRecords", "BodyItem", "read_body", "read_one", "read_ids", "delete_item", "SOURCE"]

#: The ``source`` of a reject read from a request (where a file name stands in ``ingest.py``'s).
SOURCE = "request"


class BodyError(ValueError):
    """Nothing of the body can be read: not UTF-8, not JSON, empty, or not records."""


class IdMismatch(BodyError):
    """The record's id is not the id of the URL it was sent to."""


class TooManyRecords(ValueError):
    """The body holds more records than one request may (``SEARCH_MAX_BATCH``)."""


@dataclass(frozen=True)
class BodyItem:
    """One record of a body: where it is, what it became, and its id when it has a readable one."""

    position: int
    item: Item
    id: str | None = None


def _id_of(value: Any) -> str | None:
    """The id a rejected record gives, for the answer (None when it gives none that is text)."""
    if isinstance(value, dict) and isinstance(value.get("id"), (str, int)) and not isinstance(value.get("id"), bool):
        return str(value["id"])[:512]
    return None


def _decode_json(data: bytes) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    if not text.strip():
        raise BodyError("the body is empty: send a JSON object, an array of objects, or JSON Lines")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BodyError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise BodyError("invalid JSON: nested too deeply to decode") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise BodyError(f"invalid JSON: {exc}") from None


def read_body(data: bytes, ndjson: bool, limits: Limits, max_records: int) -> list[BodyItem]:
    """The records of a request body, in order, each a record, a deletion or a reject.

    ``ndjson``: the body is JSON Lines (one record a line, blank lines skipped),
    else JSON: one object or an array of them. One bad record is a reject at its
    position and costs nothing else; :class:`BodyError` when nothing can be read,
    :class:`TooManyRecords` past ``max_records``.
    """
    if ndjson:
        lines = [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
        if not lines:
            raise BodyError("the body is empty: send one JSON record a line")
        if len(lines) > max_records:
            raise TooManyRecords(f"{len(lines):,} records in one request; at most {max_records:,} (SEARCH_MAX_BATCH)")
        out = []
        for n, line in lines:
            for item in read_jsonl([line + b"\n"], SOURCE, limits=limits):
                doc_id = getattr(item, "id", None)
                if isinstance(item, Reject):
                    item = replace(item, line=n)
                    try:
                        doc_id = _id_of(json.loads(line))
                    except (ValueError, RecursionError):
                        doc_id = None
                out.append(BodyItem(n, item, doc_id))
        return out
    value = _decode_json(data)
    if isinstance(value, dict):
        values = [value]
    elif isinstance(value, list):
        if not value:
            raise BodyError("the array is empty: send at least one record")
        if len(value) > max_records:
            raise TooManyRecords(f"{len(value):,} records in one request; at most {max_records:,} (SEARCH_MAX_BATCH)")
        values = value
    else:
        raise BodyError(f"the body must be a JSON object or an array of objects, not {type(value).__name__}")
    return [_object_item(n, obj, limits) for n, obj in enumerate(values, start=1)]


def _object_item(n: int, obj: Any, limits: Limits) -> BodyItem:
    """The decoded JSON value at position ``n`` as a record, a deletion or a reject."""
    raw = json.dumps(obj, ensure_ascii=False)
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > limits.record_bytes:
        item: Item = Reject(SOURCE, n, limits.too_large(f"record {n}", size), limits.raw(raw))
    else:
        item = _reject_or_record(obj, None, SOURCE, n, raw, limits)
    return BodyItem(n, item, getattr(item, "id", None) or _id_of(obj))


def read_ids(data: bytes, limits: Limits, max_records: int) -> list[BodyItem]:
    """The deletions of a ``{"ids": [...]}`` body; an id that is not one is a reject at its position."""
    value = _decode_json(data)
    if not isinstance(value, dict) or not isinstance(value.get("ids"), list):
        raise BodyError('the body must be {"ids": ["id", ...]}')
    ids = value["ids"]
    if not ids:
        raise BodyError("'ids' is empty: give at least one id")
    if len(ids) > max_records:
        raise TooManyRecords(f"{len(ids):,} ids in one request; at most {max_records:,} (SEARCH_MAX_BATCH)")
    out = []
    for n, doc_id in enumerate(ids, start=1):
        item = _reject_or_record({"id": doc_id, "deleted": True}, None, SOURCE, n, json.dumps(doc_id), limits)
        out.append(BodyItem(n, item, getattr(item, "id", None)))
    return out


def read_one(data: bytes, doc_id: str, limits: Limits) -> BodyItem:
    """The record of a ``PUT /documents/<id>`` body: one JSON object whose id is ``doc_id``
    or absent (then it is ``doc_id``); :class:`IdMismatch` when it names another."""
    value = _decode_json(data)
    if not isinstance(value, dict):
        raise BodyError(f"the body must be one JSON object (a document), not {type(value).__name__}")
    given = value.get("id")
    if given is None or given == "":
        value = {**value, "id": doc_id}
    elif isinstance(given, bool) or not isinstance(given, (str, int)) or str(given) != doc_id:
        raise IdMismatch(f"the body's id {str(given)[:200]!r} is not the id of the URL {doc_id[:200]!r}: "
                         "leave it out or make them the same")
    if value.get("deleted") not in (None, False, 0, "", "false", "0"):
        raise BodyError("PUT stores a document: to delete one, send DELETE /documents/<id>")
    return _object_item(1, value, limits)


def delete_item(doc_id: str, limits: Limits) -> BodyItem:
    """The deletion of ``DELETE /documents/<id>`` (a reject when ``doc_id`` cannot be an id)."""
    item = _reject_or_record({"id": doc_id, "deleted": True}, None, SOURCE, 1, doc_id, limits)
    return BodyItem(1, item, getattr(item, "id", None))
