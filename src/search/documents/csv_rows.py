"""CSV with a header row -> items: :func:`read_csv`, one record (or reject) a row.

Owns the reading of CSV so that a bad row costs only itself (:class:`_CsvRows`:
a row over the record limit or with a quote never closed is rejected at the
line it starts on, and the lines after it are read again), the header (column
names in any case, repeated columns) and the rejects for bytes that are not
UTF-8, with where they are.

Must not touch: what a record's values must be (:mod:`.validation`), or
which inputs are read and how they are opened (:mod:`.inputs`). Importing it
raises :mod:`csv`'s field size limit for the whole process (to 64 MiB).
"""

from __future__ import annotations

import csv
from collections import deque
from typing import IO, Iterable, Iterator, Mapping

from .lines import _bounded_lines, _LongLine, _nbytes
from .records import ALIASES, FIELDS, _SURROGATE_RE, Item, Limits, Reject
from .validation import _reject_or_record


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
