"""What a reader yields, and the bounds on it: :class:`Record`, :class:`Delete`,
:class:`Reject` (the :data:`Item` union) and :class:`Limits`.

Owns the record's fields (and the other names feeds give them), the content
hash by which an unchanged re-ingest is recognised, the record and field
limits (the ``max_*`` ingest settings) with the reasons that name them, and
how much of a rejected input a reject copies (valid UTF-8 throughout).

Must not touch: input formats and the checks on a record's values (the
readers and :mod:`.validation` do those) or the index. It imports nothing
from the package but :mod:`search.config`, so every other module of
:mod:`search.documents` can import it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from functools import cached_property
from typing import Any, Union

from ..config import Settings

#: Optional string fields a record may carry besides id/title/body.
META_FIELDS = ("url", "published", "source", "category")
#: Every field of a record (what ``--map`` may name).
FIELDS = ("id", "title", "body", *META_FIELDS, "deleted")
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
        data = _HASH_ENCODER.encode({name: getattr(self, name) for name in _RECORD_FIELDS})
        return hashlib.blake2b(data.encode("utf-8"), digest_size=16).hexdigest()


#: ``json.dumps(..., ensure_ascii=False, sort_keys=True)``, built once (every record is hashed).
_HASH_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
#: The fields of a :class:`Record`, in order (``asdict`` without its deep copy, for hashing).
_RECORD_FIELDS = tuple(f.name for f in dataclass_fields(Record))


@dataclass(frozen=True)
class Reject:
    """A line that could not become a record, and why."""

    source: str
    line: int
    reason: str
    raw: str

    def as_dict(self) -> dict[str, Any]:
        """The reject as a rejects file holds it: valid UTF-8 throughout (a file name
        that is not UTF-8 is shown with U+FFFD for its bad bytes)."""
        fields = asdict(self)
        for key in ("source", "reason", "raw"):
            value = fields[key]
            if not value.isascii() and _SURROGATE_RE.search(value):
                fields[key] = value.encode("utf-8", _surrogates(value)).decode("utf-8", "replace")
        return fields


@dataclass(frozen=True)
class Delete:
    """A request to remove document ``id`` (``"deleted": true`` or ``--delete``)."""

    id: str


Item = Union[Record, Delete, Reject]


@dataclass(frozen=True)
class Limits:
    """How large a record and its fields may be, and how much of a bad one a reject copies.

    The ``max_*`` ingest settings (:meth:`from_settings`); a limit that
    rejects a record names the setting that raises it.
    """

    record_bytes: int = Settings.max_record_bytes
    title_chars: int = Settings.max_title_chars
    url_chars: int = Settings.max_url_chars
    label_chars: int = Settings.max_label_chars
    body_chars: int = Settings.max_body_chars
    reject_raw_bytes: int = Settings.max_reject_raw_bytes

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "Limits":
        """The limits ``settings`` give (by default the environment's, ``SEARCH_MAX_*``)."""
        settings = Settings.load() if settings is None else settings
        return cls(
            record_bytes=settings.max_record_bytes,
            title_chars=settings.max_title_chars,
            url_chars=settings.max_url_chars,
            label_chars=settings.max_label_chars,
            body_chars=settings.max_body_chars,
            reject_raw_bytes=settings.max_reject_raw_bytes,
        )

    @cached_property
    def field_chars(self) -> dict[str, tuple[int, str]]:
        """Field -> (most characters, the variable that raises it)."""
        return {
            "title": (self.title_chars, "SEARCH_MAX_TITLE_CHARS"),
            "body": (self.body_chars, "SEARCH_MAX_BODY_CHARS"),
            "url": (self.url_chars, "SEARCH_MAX_URL_CHARS"),
            "source": (self.label_chars, "SEARCH_MAX_LABEL_CHARS"),
            "category": (self.label_chars, "SEARCH_MAX_LABEL_CHARS"),
        }

    def too_large(self, what: str, size: int | None = None) -> str:
        """The reason for a record over :attr:`record_bytes`."""
        measured = f" of {size:,} bytes" if size is not None else ""
        return (f"record too large: {what}{measured} is over the limit of {self.record_bytes:,} bytes "
                "(raise it with SEARCH_MAX_RECORD_BYTES)")

    def raw(self, data: bytes | str, size: int | None = None) -> str:
        """At most :attr:`reject_raw_bytes` of a rejected record, as text, for its reject.

        ``data`` is the record, or its start when ``size`` gives the whole
        record's size in bytes (-1: unknown, larger than ``data``). Cut at a
        character boundary, with a marker; bytes that are not UTF-8 (and lone
        surrogates) become U+FFFD, so the rejects file stays valid UTF-8.
        """
        limit = self.reject_raw_bytes
        if isinstance(data, str):
            if size is None and len(data) <= limit and data.isascii():
                return data  # most rejects: short and plain
            errors = _surrogates(data)
            if size is None:
                size = len(data.encode("utf-8", errors))
            data = data[: limit + 1].encode("utf-8", errors)
        elif size is None:
            size = len(data)
        if 0 <= size <= limit:
            return data.decode("utf-8", "replace")
        cut = min(limit, len(data))
        while cut > 0 and cut < len(data) and limit - cut < 3 and (data[cut] & 0xC0) == 0x80:
            cut -= 1  # not inside a character
        whole = f"{size:,} bytes in all" if size >= 0 else f"first {cut:,} bytes"
        return data[:cut].decode("utf-8", "replace") + f" …[cut: {whole}; SEARCH_MAX_REJECT_RAW_BYTES]"


#: The limits with their defaults (parse_record's when none are given).
DEFAULT_LIMITS = Limits()

#: A lone surrogate: JSON's ``\\ud800`` or, in CSV read with ``surrogateescape``, a byte that is not UTF-8.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _surrogates(text: str) -> str:
    """How to encode ``text`` back to bytes: ``surrogateescape`` when every surrogate in it
    stands for a byte that was not UTF-8 (U+DC80-DCFF), else ``surrogatepass``."""
    escapes = all("\udc80" <= ch <= "\udcff" for ch in _SURROGATE_RE.findall(text))
    return "surrogateescape" if escapes else "surrogatepass"
