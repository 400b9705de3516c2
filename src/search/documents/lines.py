"""The lines of a stream, each bounded by the record limit: what the line-based
readers (:mod:`.json_lines`, :mod:`.csv_rows`) read their input through.

Owns :func:`_bounded_lines`: a line over the limit is read no further than
the limit and given as a :class:`_LongLine` (its start and its size), so no
line, however long (a gzip bomb with no line end), costs more memory than
the limit.

Must not touch: what a line holds (decoding, parsing, rejects are the
readers'); it imports nothing from the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Iterable, Iterator


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
