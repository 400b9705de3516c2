"""One decoded input (a JSON value or a CSV row) -> a :class:`Record` or
:class:`Delete`, or the reason it is rejected.

Owns what a record's values must be: :func:`parse_record` (ids, text fields,
dates, field limits, lone surrogates), :func:`clean_text` (the one
normalisation text gets before it is stored), ``--map`` field maps
(:func:`parse_field_map`) and the legacy-font check
(:func:`legacy_font_reason`); :func:`_reject_or_record` is how every reader
turns one input into its item.

Must not touch: streams, files or formats (the readers read, this module
only judges what they decoded) or the index.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any, Mapping

from .records import ALIASES, DEFAULT_LIMITS, FIELDS, META_FIELDS, _SURROGATE_RE, Delete, Item, Limits, Record, Reject


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


#: ``--date-format`` values: how the day, month and year of an input's dates are written.
DATE_FORMATS = {"YYYY-MM-DD": "", "DD/MM/YYYY": "%d/%m/%Y", "DD-MM-YYYY": "%d-%m-%Y"}
_DAY_FIRST = re.compile(r"^\d{1,2}([/-])\d{1,2}\1\d{4}")


def _published(value: str, date_format: str = "") -> str:
    """Accept an ISO date or date-time (or, with ``date_format`` ``DD/MM/YYYY`` or
    ``DD-MM-YYYY``, such a date, a time after it allowed); store YYYY-MM-DD.

    >>> _published("2026-03-01T10:00:00"), _published("01/03/2026 10:30", "DD/MM/YYYY")
    ('2026-03-01', '2026-03-01')

    A day-first date without the format is refused, never guessed (01/03 is
    the 1st of March in India, January 3rd elsewhere).
    """
    value = value.strip()
    if not value:
        return ""
    pattern = DATE_FORMATS.get(date_format, "")
    if pattern and _DAY_FIRST.match(value):
        try:
            return dt.datetime.strptime(value.split()[0].split("T")[0], pattern).date().isoformat()
        except ValueError:
            raise ValueError(f"'published' is not a date written {date_format}: {value[:40]!r}") from None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        hint = ""
        day_first = _DAY_FIRST.match(value)
        if day_first and not pattern:
            hint = f"; if it is day, month, year, say so with --date-format DD{day_first.group(1)}MM{day_first.group(1)}YYYY"
        written = f"an ISO date (YYYY-MM-DD) or a date written {date_format}" if pattern else "an ISO date (YYYY-MM-DD)"
        raise ValueError(f"'published' is not {written}: {value[:40]!r}{hint}") from None


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
        values["published"] = _published(values["published"], getattr(field_map, "date_format", ""))
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


class FieldMap(dict):
    """How an input's fields are read: our field -> the input's column or key
    (``--map``), and how its dates are written (``--date-format``, one of
    :data:`DATE_FORMATS`; "" for ISO)."""

    def __init__(self, pairs: Mapping[str, str] | None = None, date_format: str = "") -> None:
        super().__init__(pairs or {})
        self.date_format = date_format


def parse_field_map(spec: str, date_format: str = "") -> FieldMap:
    """``"body=text,title=headline"`` -> ``{"body": "text", "title": "headline"}``.

    The left side is our field, the right side the input's column or key.

    >>> parse_field_map("body=text, title=headline")
    {'body': 'text', 'title': 'headline'}
    """
    if date_format and date_format not in DATE_FORMATS:
        raise ValueError(f"--date-format: {date_format!r} is not one of {', '.join(DATE_FORMATS)}")
    mapping = FieldMap(date_format=date_format)
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
