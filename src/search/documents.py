"""Input formats -> validated document records (or rejects with a reason).

A record is what the index stores for one document. Everything that can be
wrong with an input line is found here, before anything touches the index, so
a bad line is reported with its line number and never costs a good one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import IO, Any, Iterable, Iterator, Union

__all__ = ["Record", "Reject", "parse_record", "read_jsonl", "clean_text"]

#: Optional string fields a record may carry besides id/title/body.
META_FIELDS = ("url", "published", "source", "category")
#: Other names seen in real feeds for the same fields.
ALIASES = {"date": "published", "text": "body", "headline": "title"}


@dataclass(frozen=True)
class Record:
    """One document, ready for the index."""

    id: str
    title: str = ""
    body: str = ""
    url: str = ""
    published: str = ""  # ISO date, YYYY-MM-DD
    source: str = ""
    category: str = ""

    @property
    def content_hash(self) -> str:
        """Fingerprint of everything stored, so an unchanged re-ingest writes nothing."""
        data = json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)
        return hashlib.blake2b(data.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Reject:
    """A line that could not become a record, and why."""

    source: str
    line: int
    reason: str
    raw: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES_RE = re.compile(r"[^\S\n]+")
_BLANK_LINES_RE = re.compile(r"\n\s*\n\s*(?:\n\s*)*")


def clean_text(text: str) -> str:
    """Normalise text once, for storage: NFC, no control characters, tidy spaces.

    >>> clean_text("भारत\\r\\nऔर  रूस\\x07 ")
    'भारत\\nऔर रूस'

    Line breaks are kept (one sentence per line is common in feeds) but runs of
    blank lines become one blank line. The analyzer's offsets point into this
    cleaned text, which is what the index stores and highlights.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL_RE.sub(" ", text)
    text = _SPACES_RE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


def _published(value: str) -> str:
    """Accept an ISO date or date-time; store the date part as YYYY-MM-DD."""
    value = value.strip()
    try:
        return dt.date.fromisoformat(value[:10]).isoformat() if value else ""
    except ValueError:
        raise ValueError(f"'published' is not an ISO date (YYYY-MM-DD): {value[:40]!r}") from None


def parse_record(obj: Any) -> Record:
    """Validate one decoded JSON value; raise ``ValueError`` with the reason."""
    if not isinstance(obj, dict):
        raise ValueError(f"a record must be a JSON object, not {type(obj).__name__}")
    obj = {ALIASES.get(k, k): v for k, v in obj.items() if not (k in ALIASES and ALIASES[k] in obj)}
    doc_id = obj.get("id")
    if doc_id is None or doc_id == "":
        raise ValueError("missing 'id'")
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
        raise ValueError(f"'id' must be a string, not {type(doc_id).__name__}")
    doc_id = clean_text(str(doc_id))
    if not doc_id or len(doc_id) > 512:
        raise ValueError("'id' must be 1 to 512 characters of text")
    values: dict[str, str] = {}
    for name in ("title", "body", *META_FIELDS):
        value = obj.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"'{name}' must be a string, not {type(value).__name__}")
        values[name] = clean_text(value)
    if not values.get("title") and not values.get("body"):
        raise ValueError("empty text: 'title' and 'body' are both missing or blank")
    if "published" in values:
        values["published"] = _published(values["published"])
    if values.get("url") and "\n" in values["url"]:
        raise ValueError("'url' must be a single line")
    return Record(id=doc_id, **values)


def read_jsonl(stream: IO[str] | Iterable[str], source: str) -> Iterator[Union[Record, Reject]]:
    """Records from JSON Lines; each bad line becomes a :class:`Reject`.

    Blank lines are skipped. ``source`` names the input in rejects.
    """
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Reject(source, number, f"invalid JSON: {exc.msg} (column {exc.colno})", line.rstrip("\n"))
            continue
        try:
            yield parse_record(obj)
        except ValueError as exc:
            yield Reject(source, number, str(exc), line.rstrip("\n"))
