"""Input formats -> validated document records (or rejects with a reason).

A record is what the index stores for one document. Everything that can be
wrong with an input line is found here, before anything touches the index, so
a bad line is reported with its line number and never costs a good one.

Readers, one per format, each turning a stream into :class:`Record`,
:class:`Delete` and :class:`Reject` items: :func:`read_jsonl`,
:func:`read_csv`, :func:`read_text` (plain text, one document per file) and
:func:`read_html` (one web page per file). :func:`read_inputs` picks the
reader by file name (``.gz`` is read transparently), walks directories and
reads ``-`` from standard input.

Every record is bounded (:class:`Limits`, the ``max_*`` ingest settings):
a line, row or file over the record limit is read no further than the limit
and rejected, a field over its limit rejects its record, and a reject copies
at most a few KiB of the input, so no input, however large or hostile, costs
more memory than a few records' worth.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import sys
import unicodedata
from collections import deque
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from functools import cached_property
from typing import IO, Any, Iterable, Iterator, Mapping, Union

from .config import Settings

__all__ = [
    "Record",
    "Reject",
    "Delete",
    "Item",
    "Limits",
    "FORMATS",
    "InputProgress",
    "parse_record",
    "parse_field_map",
    "legacy_font_reason",
    "read_jsonl",
    "read_csv",
    "read_text",
    "read_html",
    "read_inputs",
    "clean_text",
]

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


def _surrogate_reason(name: str, value: str) -> str:
    """Why a field holding a lone surrogate is rejected ("" when it holds none)."""
    found = _SURROGATE_RE.search(value)
    if found is None:
        return ""
    return (f"not UTF-8 text: '{name}' holds a lone surrogate U+{ord(found.group()):04X} at character "
            f"{found.start() + 1} (a \\u escape of half a character, or a byte that is not UTF-8)")


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANK_LINES_RE = re.compile(r"\n\s*\n\s*(?:\n\s*)*")


def clean_text(text: str) -> str:
    """Normalise text once, for storage: NFC, no control characters, tidy spaces.

    >>> clean_text("भारत\\r\\nऔर  रूस\\x07 ")
    'भारत\\nऔर रूस'

    Line breaks are kept (one sentence per line is common in feeds) but runs of
    blank lines become one blank line. The analyzer's offsets point into this
    cleaned text, which is what the index stores and highlights.
    """
    if text.isascii() and text.isprintable() and "  " not in text and text == text.strip():
        return text  # ids, URLs, sources, dates: nothing to clean
    text = _nfc(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL_RE.sub(" ", text)
    # Each line: runs of other whitespace become one space, none at either end.
    text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


#: NFC of space-separated chunks of text, by chunk (see :func:`_nfc`).
_NFC_CHUNKS: dict[str, str] = {}
_NFC_CHUNKS_LIMIT = 200_000


def _nfc(text: str) -> str:
    """``unicodedata.normalize("NFC", text)``, a chunk between spaces at a time, remembered.

    Any Devanagari text with a nukta or virama takes NFC's slow path (about
    45 ns a character, the bulk of reading a record); Hindi is Zipfian, so
    nearly every chunk was seen before. A space never composes or reorders with
    its neighbours, so normalising chunk by chunk gives the same text.
    """
    chunks = text.split(" ")
    cache = _NFC_CHUNKS
    try:
        return " ".join(map(cache.__getitem__, chunks))
    except KeyError:
        if len(cache) + len(chunks) > _NFC_CHUNKS_LIMIT:
            cache.clear()
        for chunk in chunks:
            if chunk not in cache:
                cache[chunk] = unicodedata.normalize("NFC", chunk)
        return " ".join(map(cache.__getitem__, chunks))


def _published(value: str) -> str:
    """Accept an ISO date or date-time; store the date part as YYYY-MM-DD."""
    value = value.strip()
    try:
        return dt.date.fromisoformat(value[:10]).isoformat() if value else ""
    except ValueError:
        raise ValueError(f"'published' is not an ISO date (YYYY-MM-DD): {value[:40]!r}") from None


def parse_record(
    obj: Any, field_map: Mapping[str, str] | None = None, limits: Limits = DEFAULT_LIMITS
) -> Record | Delete:
    """Validate one decoded JSON value (or CSV row); raise ``ValueError`` with the reason.

    ``field_map`` renames input keys first (see :func:`parse_field_map`). A
    record with ``"deleted": true`` needs only its id and becomes a :class:`Delete`.
    A field longer than ``limits`` allows, or text that cannot be UTF-8 (a
    lone surrogate), rejects the record.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"a record must be a JSON object, not {type(obj).__name__}")
    obj = _apply_map(obj, field_map)
    obj = {ALIASES.get(k, k): v for k, v in obj.items() if not (k in ALIASES and ALIASES[k] in obj)}
    doc_id = obj.get("id")
    if doc_id is None or doc_id == "":
        raise ValueError("missing 'id'")
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
        raise ValueError(f"'id' must be a string, not {type(doc_id).__name__}")
    doc_id = clean_text(str(doc_id))
    if not doc_id or len(doc_id) > 512:
        raise ValueError("'id' must be 1 to 512 characters of text")
    if not doc_id.isascii() and _SURROGATE_RE.search(doc_id):
        raise ValueError(_surrogate_reason("id", doc_id))
    if obj.get("deleted") in _TRUE:
        return Delete(doc_id)
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
    field_chars = limits.field_chars
    for name, value in values.items():
        most = field_chars.get(name)
        if most is not None and len(value) > most[0]:
            raise ValueError(f"field too long: '{name}' has {len(value):,} characters, over the limit of "
                             f"{most[0]:,} (raise it with {most[1]})")
        if name not in ("title", "body") and not value.isascii() and _SURROGATE_RE.search(value):
            raise ValueError(_surrogate_reason(name, value))
    text = values.get("title", "") + "\n" + values.get("body", "")
    try:
        utf8 = text.encode("utf-8")  # which the legacy font test needs anyway
    except UnicodeEncodeError:  # a lone surrogate (a JSON "\ud800"): the index could not store it
        title, body = values.get("title", ""), values.get("body", "")
        raise ValueError(_surrogate_reason("title", title) or _surrogate_reason("body", body)) from None
    legacy = _legacy_font_reason(text, utf8)
    if legacy:
        raise ValueError(legacy)
    return Record(id=doc_id, **values)


def _reject_or_record(
    obj: Any, field_map: Mapping[str, str] | None, source: str, line: int, raw: str | bytes, limits: Limits
) -> Item:
    try:
        return parse_record(obj, field_map, limits)
    except ValueError as exc:
        return Reject(source, line, str(exc), limits.raw(raw))


# --------------------------------------------------------------------------
# Field mapping, deletes, legacy font encodings
# --------------------------------------------------------------------------


def parse_field_map(spec: str) -> dict[str, str]:
    """``"body=text,title=headline"`` -> ``{"body": "text", "title": "headline"}``.

    The left side is our field, the right side the input's column or key.

    >>> parse_field_map("body=text, title=headline")
    {'body': 'text', 'title': 'headline'}
    """
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        ours, sep, theirs = (s.strip() for s in part.partition("="))
        if not sep or not ours or not theirs:
            raise ValueError(f"--map wants FIELD=COLUMN pairs separated by commas, got {part!r}")
        if ours not in FIELDS:
            raise ValueError(f"--map: unknown field {ours!r} (fields: {', '.join(FIELDS)})")
        mapping[ours] = theirs
    return mapping


def _apply_map(obj: Any, field_map: Mapping[str, str] | None) -> Any:
    if not field_map or not isinstance(obj, dict):
        return obj
    mapped = {k: v for k, v in obj.items() if k not in field_map.values()}
    for ours, theirs in field_map.items():
        if theirs in obj:
            mapped[ours] = obj[theirs]
    return mapped


_TRUE = (True, 1, "true", "True", "TRUE", "1", "yes")

#: Latin letters KrutiDev/Chanakya fonts draw as Devanagari: 'k' is the vowel
#: sign ा (the commonest sign in Hindi), and ; + & ~ ] Z are letters or signs.
#: The bytes of A-Z and a-z: in UTF-8 no other character contains them.
_LATIN_LETTER_BYTES = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))
_LEGACY_ODD_RE = re.compile(r"[a-z][A-Z]|(?:^|[^A-Za-z])[A-Z]k|[a-z][;~\]\[\\|>?/'][a-z]|[a-z]kA$")


def legacy_font_reason(text: str) -> str | None:
    """Why ``text`` looks like Hindi typed in a legacy 8-bit font, or None.

    KrutiDev and Chanakya store Hindi as Latin code points that their fonts
    draw as Devanagari: ``Hkkjr vkSj :l`` is भारत और रूस. Indexed as it is,
    it is gibberish nobody can find. The heuristic, on text with almost no
    Devanagari (under 5% of its letters) and at least 20 Latin letters:

    * the letter ``k`` (the font's ा, the commonest vowel sign) makes up at
      least 6% of the Latin letters (English: under 1%; romanised Hindi such
      as "kya hua" about 3-5%), and
    * at least 15% of the words show the font's tell-tale shapes: a capital
      inside a lower-case word (``vkSj``), a capital followed by ``k`` (the
      font's aspirates: ``Hkkjr``), punctuation between lower-case letters
      (``fn;k``, ``lk>snkjh``), or a word ending in ``kA`` (ा + danda).

    >>> legacy_font_reason("Hkkjr vkSj :l us viuh nh?kZdkfyd j.kuhfrd lk>snkjh dks etcwr fd;kA") is not None
    True
    >>> legacy_font_reason("India and Russia renewed their long partnership on Monday.") is None
    True
    >>> legacy_font_reason("main yeh kaam nahi kar sakta lekin tum kar sakte ho kya") is None
    True
    """
    return _legacy_font_reason(text, text.encode("utf-8", "surrogatepass"))


def _legacy_font_reason(text: str, utf8: bytes) -> str | None:
    """:func:`legacy_font_reason` of ``text``, given it in UTF-8 too."""
    latin = len(utf8) - len(utf8.translate(None, _LATIN_LETTER_BYTES))  # [A-Za-z], counted in C
    if latin < 20:  # most Hindi text: no need to count its Devanagari letters
        return None
    devanagari = utf8.count(b"\xe0\xa4") + utf8.count(b"\xe0\xa5")  # U+0900-097F in UTF-8
    if devanagari > 0.05 * latin:
        return None
    k_share = (text.count("k") + text.count("K")) / latin
    words = text.split()
    odd = sum(1 for w in words if _LEGACY_ODD_RE.search(w))
    if k_share >= 0.06 and words and odd / len(words) >= 0.15:
        return (
            "legacy font encoding: the text looks like KrutiDev/Chanakya-encoded Hindi "
            "(Latin letters standing for Devanagari); convert it to Unicode first"
        )
    return None


# --------------------------------------------------------------------------
# Readers: one per format
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _LongLine:
    """A line over the record limit, read no further than the limit: its start and its size."""

    head: bytes | str
    size: int  # bytes


#: Bytes (or characters) read at a time while skipping the rest of a line over the record limit.
_SKIP_CHUNK = 1 << 20


def _nbytes(line: bytes | str) -> int:
    """The size of ``line`` in UTF-8 (a character outside ASCII takes 2-4 bytes)."""
    if isinstance(line, bytes) or line.isascii():
        return len(line)
    return len(line.encode("utf-8", "surrogatepass"))


def _bounded_lines(
    stream: IO[bytes] | IO[str] | Iterable[bytes | str], limit: int, text_ends: tuple[str, ...] = ("\n",)
) -> Iterator[bytes | str | _LongLine]:
    """The lines of ``stream`` (bytes or text, with their line ends); a line of more than
    ``limit`` bytes (its line end aside) comes as a :class:`_LongLine`. ``text_ends``:
    what ends a line of text (CSV is read with universal line ends, ``\\r`` too).

    A stream is read with ``readline(limit + 1)``, and the rest of a longer line is
    skipped a chunk at a time, so memory stays bounded even by a line with no end
    (a gzip bomb); it still counts as one line. Lines already in memory (any
    other iterable) are only measured.
    """
    strip = "".join(text_ends)

    def size(line: bytes | str) -> int:  # without its line end
        return _nbytes(line.rstrip(b"\n") if isinstance(line, bytes) else line.rstrip(strip))

    readline = getattr(stream, "readline", None)
    if readline is None:
        for line in stream:
            yield line if len(line) * 4 <= limit or size(line) <= limit else _LongLine(line[: limit + 1], size(line))
        return
    while True:
        line = readline(limit + 1)
        if not line:
            return
        if len(line) <= limit and (isinstance(line, bytes) or len(line) * 4 <= limit):
            yield line  # nearly every line
            continue
        total = size(line)
        if total <= limit:
            yield line
            continue
        head, ends = line, b"\n" if isinstance(line, bytes) else text_ends
        while not line.endswith(ends):
            line = readline(_SKIP_CHUNK)
            if not line:
                break
            total += size(line)
        yield _LongLine(head, total)


def read_jsonl(
    stream: IO[bytes] | IO[str] | Iterable[bytes | str],
    source: str,
    field_map: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> Iterator[Item]:
    """Items from JSON Lines; each bad line becomes a :class:`Reject`.

    Lines may be bytes (decoded one by one, so a line that is not UTF-8 costs
    only itself) or text. Blank lines are skipped; ``source`` names the input.
    A line over ``limits.record_bytes`` is read no further than that and
    rejected; so is JSON that Python cannot decode (nested too deeply, an
    integer of thousands of digits).
    """
    limits = Limits.from_settings() if limits is None else limits
    lines = _bounded_lines(stream, limits.record_bytes)
    number = 0
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except (OSError, EOFError) as exc:  # a truncated or corrupt .gz: the lines before it stand
            yield Reject(source, number + 1, f"cannot read the file from this line on: {exc}", "")
            return
        number += 1
        if isinstance(line, _LongLine):
            yield Reject(source, number, limits.too_large("a line", line.size), limits.raw(line.head, line.size))
            continue
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield Reject(source, number, f"not UTF-8 text: {exc.reason} at byte {exc.start}",
                             limits.raw(line.rstrip(b"\n")))
                continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Reject(source, number, f"invalid JSON: {exc.msg} (column {exc.colno})", limits.raw(line.rstrip("\n")))
            continue
        except RecursionError:
            yield Reject(source, number, "invalid JSON: nested too deeply to decode (Python's recursion limit)",
                         limits.raw(line.rstrip("\n")))
            continue
        except ValueError as exc:  # e.g. an integer over Python's 4,300 digits
            yield Reject(source, number, f"invalid JSON: {exc}", limits.raw(line.rstrip("\n")))
            continue
        yield _reject_or_record(obj, field_map, source, number, line.rstrip("\n"), limits)


csv.field_size_limit(64 * 1024 * 1024)


def _csv_column(name: str, field_map: Mapping[str, str] | None) -> str:
    """A header cell as a field name: spreadsheets capitalise them (``ID``,
    ``Title``), so a known field's name is matched in any case, unless
    ``--map`` names the column as written."""
    if field_map and name in field_map.values():
        return name
    lower = name.lower()
    return lower if lower in FIELDS or lower in ALIASES else name


def _text(line: bytes | str | _LongLine) -> str | _LongLine:
    """A line of CSV as text: bytes that are not UTF-8 become surrogates, rejected with their row."""
    if isinstance(line, bytes):
        return line.decode("utf-8", "surrogateescape")
    if isinstance(line, _LongLine) and isinstance(line.head, bytes):
        return _LongLine(line.head.decode("utf-8", "surrogateescape"), line.size)
    return line


class _RowTooLarge(Exception):
    """The CSV row being read is over the record limit."""


class _CsvRows:
    """The rows of a CSV text, each with the lines it was read from, and what
    went wrong with the bad ones.

    ``csv.reader`` is fed lines from here, so a bad row costs only itself: a
    row over the record limit, or still open at the end of the input (an
    unclosed quote, which would otherwise swallow the rest of the file), is
    given back as bad at the line it started on, and reading starts again at
    the line after that one. The lines of the row being read are kept for
    that, at most the record limit of them.
    """

    def __init__(self, lines: Iterator[bytes | str | _LongLine], limit: int) -> None:
        self._lines = lines
        self._limit = limit
        self._replay: deque[tuple[int, str | _LongLine]] = deque()  # lines to read again after a bad row
        self.lines_read = 0  # physical lines read from the input
        self.row: list[tuple[int, str | _LongLine]] = []  # (line number, text) of the current row
        self._chars = 0  # characters of the current row
        self._bytes: int | None = None  # its UTF-8 size, counted once it may be near the limit
        self._ended = False  # the input ended while a row was being read

    def _feed(self) -> Iterator[str]:
        row, replay = self.row, self._replay
        while True:
            if replay:
                number, text = replay.popleft()
            else:
                line = next(self._lines, None)
                if line is None:
                    if row and isinstance(row[-1][1], str) and not row[-1][1].endswith(("\n", "\r")):
                        yield "\n"  # the last line's missing line end: the row is complete
                    self._ended = True
                    return
                self.lines_read += 1
                number, text = self.lines_read, _text(line)
            row.append((number, text))
            if isinstance(text, _LongLine):
                raise _RowTooLarge
            if self._bytes is None:
                self._chars += len(text)
                if self._chars * 4 > self._limit:  # a character takes at most 4 bytes
                    self._bytes = sum(_nbytes(t) for _, t in row)  # type: ignore[arg-type]
            else:
                self._bytes += _nbytes(text)
            if self._bytes is not None and self._bytes > self._limit:
                raise _RowTooLarge
            yield text

    def __iter__(self) -> Iterator[tuple[list[str] | None, str]]:
        """``(cells, "")`` for each row read, ``(None, reason)`` for a bad one;
        :attr:`row` holds its lines meanwhile."""
        reader = csv.reader(self._feed())
        while True:
            self.row.clear()
            self._chars, self._bytes = 0, None
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _RowTooLarge:
                yield None, "row"
                self._restart()
                reader = csv.reader(self._feed())
                continue
            except csv.Error as exc:
                yield None, f"invalid CSV: {exc}"
                continue
            if self._ended and self.row:  # the input ended inside a quoted cell
                yield None, "invalid CSV: a quote (\") opens a cell that is never closed"
                self._restart()
                self._ended = False
                reader = csv.reader(self._feed())
                continue
            yield cells, ""

    def _restart(self) -> None:
        """Read again from the line after the first line of the bad row."""
        self._replay.extendleft(reversed(self.row[1:]))


def read_csv(
    stream: IO[str] | Iterable[str],
    source: str,
    field_map: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> Iterator[Item]:
    """Items from CSV with a header row naming the columns (``--map`` renames them).

    Line numbers in rejects are the physical line where the row starts, the
    header being line 1. ``stream`` is text; bytes that were not UTF-8 should
    come as ``surrogateescape`` (see :func:`read_stream`): a row holding one
    is rejected, and the rows around it are read. A row over
    ``limits.record_bytes``, or with a quote never closed, is rejected and
    the lines after its first are read again as rows.
    """
    limits = Limits.from_settings() if limits is None else limits
    rows = _CsvRows(_bounded_lines(stream, limits.record_bytes, ("\n", "\r")), limits.record_bytes)
    header: list[str] | None = None
    read: set[str] = set()
    rows_iter = iter(rows)
    while True:
        try:
            cells, problem = next(rows_iter)
        except StopIteration:
            return
        except (OSError, EOFError) as exc:  # a truncated or corrupt .gz: the rows before it stand
            yield Reject(source, rows.lines_read + 1, f"cannot read the file from this line on: {exc}", "")
            return
        start = rows.row[0][0] if rows.row else rows.lines_read
        texts = [text for _, text in rows.row]
        if cells is None:
            first = texts[0]
            raw = (first.head if isinstance(first, _LongLine) else first).rstrip("\r\n")  # type: ignore[union-attr]
            if problem == "row":
                if isinstance(first, _LongLine):
                    problem = limits.too_large("a line", first.size)
                else:
                    problem = limits.too_large(f"a row of {len(texts)} lines or more")
            if header is None:
                yield Reject(source, start, problem.replace("invalid CSV", "invalid CSV header", 1)
                             if problem.startswith("invalid CSV") else problem, limits.raw(raw))
                return
            yield Reject(source, start, problem, limits.raw(raw))
            continue
        if header is None:
            if any(_SURROGATE_RE.search(t) for t in texts if isinstance(t, str)):
                yield Reject(source, start, "invalid CSV header: " + _bad_bytes_reason(texts),
                             limits.raw(",".join(cells)))
                return
            header = [_csv_column(h.strip().lstrip("\ufeff"), field_map) for h in cells]
            read = {*FIELDS, *ALIASES, *(field_map or {}).values()}  # the columns a record is made of
            repeated = sorted({h for h in header if h in read and header.count(h) > 1})
            if repeated:  # which of the two is the title? Neither row value can be trusted.
                yield Reject(source, start, f"invalid CSV header: column {repeated[0]!r} appears more than once",
                             limits.raw(",".join(header)))
                return
            continue
        if not any(cell.strip() for cell in cells):
            continue
        raw = ",".join(cells)
        if any(_SURROGATE_RE.search(t) for t in texts if isinstance(t, str)):
            yield Reject(source, start, _bad_bytes_reason(texts), limits.raw(raw))
        elif len(cells) != len(header):
            yield Reject(source, start, f"invalid CSV: {len(cells)} cells in a row of a {len(header)}-column header",
                         limits.raw(raw))
        else:
            obj = {name: cell for name, cell in zip(header, cells) if name}
            yield _reject_or_record(obj, field_map, source, start, raw, limits)


def _bad_bytes_reason(texts: list[str | _LongLine]) -> str:
    """Where the first byte that is not UTF-8 is in a row's lines (read with ``surrogateescape``)."""
    for offset, text in enumerate(texts):
        found = _SURROGATE_RE.search(text) if isinstance(text, str) else None
        if found is not None:
            ch = ord(found.group())
            what = f"byte 0x{ch - 0xDC00:02X}" if 0xDC80 <= ch <= 0xDCFF else f"a lone surrogate U+{ch:04X}"
            where = f" in the row's line {offset + 1}" if len(texts) > 1 else ""
            return f"not UTF-8 text: {what} at character {found.start() + 1}{where}"
    return "not UTF-8 text"


#: Words of share/like/follow buttons, in English and Hindi; a line made only
#: of these (with at least one of the verbs) is page furniture.
_BUTTON_WORDS = frozenset(
    "share shares sharing this article post story page on via like likes follow us subscribe tweet "
    "facebook twitter x whatsapp telegram linkedin email e-mail print copy link pin it and "
    "शेयर करें कीजिए लाइक फॉलो फ़ॉलो सब्सक्राइब हमें पर यह लेख खबर ख़बर और".split()
)
_BUTTON_VERBS = frozenset("share like follow subscribe tweet शेयर लाइक फॉलो फ़ॉलो सब्सक्राइब".split())
_LINE_WORD_RE = re.compile(r"[\w\u0900-\u0963\u0971-\u097f-]+")


def is_boilerplate_line(line: str) -> bool:
    """True for a line that is only share/like/follow buttons.

    >>> is_boilerplate_line("Share This Article"), is_boilerplate_line("शेयर करें")
    (True, True)
    >>> is_boilerplate_line("भारत और रूस ने साझेदारी को मजबूत किया")
    False
    """
    words = _LINE_WORD_RE.findall(line.lower())
    return bool(words) and len(words) <= 12 and all(w in _BUTTON_WORDS for w in words) and any(
        w in _BUTTON_VERBS for w in words
    )


#: ``रायपुर / ETrendingIndia / …``: a short place, a short source, then maybe the headline.
_DATELINE_RE = re.compile(r"^(?P<place>[^/|]{2,30}?)\s+[/|]\s+(?P<source>[^/|]{2,40}?)(?:\s+[/|]\s+(?P<rest>.*))?$")
_MAX_TITLE_CHARS = 200


def _dateline(line: str) -> tuple[str, str, str] | None:
    """``(place, source, rest)`` when ``line`` is a dateline, else None."""
    match = _DATELINE_RE.match(line)
    if not match or len(match["place"].split()) > 3 or len(match["source"].split()) > 4:
        return None
    return match["place"], match["source"], match["rest"] or ""


def read_text(text: str, source: str, doc_id: str, limits: Limits | None = None) -> Iterator[Item]:
    """One document from a plain-text file (a web page saved as text).

    Share/like/follow lines are dropped; a dateline (``रायपुर / ETrendingIndia
    / शीर्षक``) gives the ``source`` and, when it carries one, the title;
    otherwise the first meaningful line of at most 200 characters is the
    title. The rest is the body.
    """
    lines = [line for line in clean_text(text).split("\n") if not is_boilerplate_line(line)]
    fields: dict[str, str] = {"id": doc_id}
    meaningful = [i for i, line in enumerate(lines) if any(ch.isalnum() for ch in line)]
    if meaningful:
        first = meaningful[0]
        dateline = _dateline(lines[first])
        if dateline:
            fields["source"] = dateline[1]
            lines[first] = dateline[2]
            if not dateline[2]:
                meaningful = meaningful[1:]
                first = meaningful[0] if meaningful else first
        if len(lines[first]) <= _MAX_TITLE_CHARS:
            fields["title"] = lines[first]
            lines[first] = ""
    fields["body"] = "\n".join(lines)
    yield _reject_or_record(fields, None, source, 1, text, limits or DEFAULT_LIMITS)


_HTML_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
                   "iframe", "svg", "button", "template", "select", "figure")
#: class/id words of page furniture around an article.
_HTML_FURNITURE_RE = re.compile(
    r"share|sharing|social|\bnav|menu|breadcrumb|footer|comment|related|advert|\bads?\b|sidebar|"
    r"subscribe|newsletter|cookie|popup|promo|widget|\btags?\b|author|byline|trending|recommend",
    re.IGNORECASE,
)
#: Elements whose text is a block of the body: each innermost one is taken (see :func:`_leaf_blocks`).
_HTML_BLOCK_TAGS = frozenset(("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "dd"))


def _leaf_blocks(root: Any) -> list[Any]:
    """The block elements under ``root`` (itself included) that hold no other block, in page order.

    One walk over the tree (first child, next sibling, back up to the
    parent), each node visited once: asking every block for the blocks inside
    it was quadratic in the nesting (5,000 nested ``<blockquote>``: minutes).
    Innermost blocks never contain one another, so the order in which the
    walk closes them is the page's order.
    """
    blocks = _HTML_BLOCK_TAGS
    leaves: list[Any] = []
    path: list[list[Any]] = [[root, False]]  # the open nodes, and whether a block was found inside each
    node = root.child
    while path:
        if node is not None:
            path.append([node, False])
            node = node.child
            continue
        done, inner = path.pop()
        if done.tag in blocks:
            if not inner:
                leaves.append(done)
            inner = True
        if path:
            if inner:
                path[-1][1] = True
            node = done.next
    return leaves


def _meta(tree: Any, *names: str) -> str:
    for name in names:
        for attr in ("property", "name", "itemprop"):
            node = tree.css_first(f'meta[{attr}="{name}"]')
            if node is not None and (node.attributes.get("content") or "").strip():
                return node.attributes["content"].strip()
    return ""


def _optional_date(value: str) -> str:
    try:
        return _published(value)
    except ValueError:
        return ""


def read_html(html: str, source: str, doc_id: str, limits: Limits | None = None) -> Iterator[Item]:
    """One document from a web page: its title and main text, without page furniture.

    Parsing is selectolax's (Lexbor, a browser-grade HTML5 parser). Navigation,
    header, footer, asides, forms, scripts and elements whose class or id
    names share buttons, menus, comments, related links or ads are removed;
    the text is taken from ``<article>`` (or ``itemprop=articleBody``,
    ``<main>``, the body), block by block. ``url`` comes from the canonical
    link or ``og:url``, ``published`` from ``article:published_time`` or the
    first ``<time datetime>``, ``source`` from ``og:site_name``.
    """
    from selectolax.lexbor import LexborHTMLParser  # only HTML inputs need it

    tree = LexborHTMLParser(html)
    canonical = tree.css_first('link[rel="canonical"]')
    url = (canonical.attributes.get("href") or "").strip() if canonical is not None else ""
    url = url or _meta(tree, "og:url")
    published = _meta(tree, "article:published_time", "datePublished", "date", "pubdate", "dc.date")
    time_node = tree.css_first("time[datetime]")
    if not published and time_node is not None:
        published = time_node.attributes.get("datetime") or ""
    site = _meta(tree, "og:site_name", "application-name")
    page_title = tree.css_first("title")
    h1 = tree.css_first("article h1") or tree.css_first("h1")
    title = _meta(tree, "og:title", "twitter:title") or (h1.text(separator=" ") if h1 is not None else "")
    if not title and page_title is not None:
        title = page_title.text()

    tree.strip_tags(list(_HTML_DROP_TAGS))
    for node in tree.css("[class], [id]"):
        names = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
        if node.tag not in ("html", "body", "article", "main") and _HTML_FURNITURE_RE.search(names):
            node.decompose()
    root = (tree.css_first("article") or tree.css_first('[itemprop="articleBody"]')
            or tree.css_first("main") or tree.body)
    blocks: list[str] = []
    if root is not None:
        texts = [n.text(separator=" ") for n in _leaf_blocks(root)] or [root.text(separator="\n")]
        blocks = [b for b in (clean_text(t) for t in texts) if b and not is_boilerplate_line(b)]
    fields = {"id": doc_id, "title": title, "body": "\n".join(blocks), "url": url,
              "published": _optional_date(published), "source": site}
    yield _reject_or_record(fields, None, source, 1, html, limits or DEFAULT_LIMITS)


# --------------------------------------------------------------------------
# Inputs: files, directories, stdin, gzip
# --------------------------------------------------------------------------

#: Readable formats, by file name extension (before any ``.gz``).
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "txt", ".html": "html", ".htm": "html"}


def input_format(path: str) -> str | None:
    """The format of ``path`` by its name, ``.gz`` looked through; None if unknown."""
    name = path[:-3] if path.endswith(".gz") else path
    return FORMATS.get(os.path.splitext(name)[1].lower())


def _open_binary(path: str) -> IO[bytes]:
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_stream(
    binary: IO[bytes],
    fmt: str,
    source: str,
    doc_id: str,
    field_map: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> Iterator[Item]:
    """Items from one open binary stream in format ``fmt``.

    A text or HTML file over ``limits.record_bytes`` is rejected unread past
    the limit (a ``.gz`` is decompressed no further).
    """
    limits = Limits.from_settings() if limits is None else limits
    if fmt == "jsonl":
        yield from read_jsonl(binary, source, field_map, limits)
        return
    if fmt == "csv":
        text_stream = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        yield from read_csv(text_stream, source, field_map, limits)
        return
    data = binary.read(limits.record_bytes + 1)
    if len(data) > limits.record_bytes:
        yield Reject(source, 1, limits.too_large("the file"), limits.raw(data, -1))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Reject(source, 0, f"not UTF-8 text: {exc.reason} at byte {exc.start}", "")
        return
    reader = read_html if fmt == "html" else read_text
    yield from reader(text, source, doc_id, limits)


@dataclass
class InputProgress:
    """How far :func:`read_inputs` has got, for a progress bar."""

    files_total: int = 0
    files_done: int = 0
    current: str = ""


def _walk(root: str) -> list[str]:
    """Readable files under ``root``, recursively, in a stable order."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(os.path.join(folder, f) for f in sorted(files) if input_format(f))
    return found


def read_inputs(
    paths: Iterable[str],
    stdin: IO[bytes] | None = None,
    *,
    field_map: Mapping[str, str] | None = None,
    stdin_format: str = "jsonl",
    progress: InputProgress | None = None,
    limits: Limits | None = None,
) -> Iterator[Item]:
    """Items from each input: a file, a directory (recursively) or ``-`` (stdin).

    A file's format comes from its name (``.jsonl``, ``.csv``, ``.txt``,
    ``.html``/``.htm``, each optionally ``.gz``); a named pipe or device
    (``<(zcat …)``, ``/dev/stdin``) is read as ``stdin_format``. A text or HTML document's id
    is its path relative to the input root (the directory given, or the file's
    own folder). A missing file raises :class:`FileNotFoundError` before
    anything is read; a named file of unknown type raises :class:`ValueError`.
    ``limits``: by default the environment's (:meth:`Limits.from_settings`).
    """
    limits = Limits.from_settings() if limits is None else limits
    progress = progress if progress is not None else InputProgress()
    plan: list[tuple[str, str, str]] = []  # (path, root, format)
    for path in paths:
        if path == "-":
            plan.append(("-", "", stdin_format))
        elif os.path.isdir(path):
            plan.extend((f, path, input_format(f) or "") for f in _walk(path))
        elif not os.path.exists(path):
            raise FileNotFoundError(f"no such file or directory: {path!r}")
        else:
            fmt = input_format(path) or (None if os.path.isfile(path) else stdin_format)
            if fmt is None:
                raise ValueError(f"{path!r}: unknown input type (readable: {', '.join(FORMATS)}, optionally .gz)")
            plan.append((path, os.path.dirname(path), fmt))
    progress.files_total = len(plan)
    for path, root, fmt in plan:
        progress.current = path
        if path == "-":
            binary = stdin or sys.stdin.buffer
            yield from read_stream(binary, fmt, "<stdin>", "stdin", field_map, limits)
        else:
            doc_id = os.path.relpath(path, root or ".").replace(os.sep, "/")
            if doc_id.endswith(".gz"):
                doc_id = doc_id[:-3]
            with _open_binary(path) as binary:
                try:
                    yield from read_stream(binary, fmt, path, doc_id, field_map, limits)
                except (OSError, EOFError) as exc:  # a truncated or corrupt .gz
                    yield Reject(path, 0, f"cannot read the file: {exc}", "")
        progress.files_done += 1
