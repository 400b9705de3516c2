"""JSON Lines -> items: :func:`read_jsonl`, one record (or reject) a line.

Owns the line-by-line decoding of JSON Lines: bytes or text, a BOM on the
first line, blank lines, and the reject (with its line number) for a line
over the record limit, not UTF-8, or JSON that is invalid or that Python
cannot decode.

Must not touch: what a record's values must be (:mod:`.validation`), or
which inputs are read and how they are opened (:mod:`.inputs`).
"""

from __future__ import annotations

import json
from typing import IO, Iterable, Iterator, Mapping

from .lines import _bounded_lines, _LongLine
from .records import Item, Limits, Reject
from .validation import _reject_or_record


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
