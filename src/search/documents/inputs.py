"""Inputs -> items: :func:`read_inputs` walks files, directories and ``-`` (stdin),
and hands each to the reader of its format.

Owns which inputs are read and how: the formats by file name
(:data:`FORMATS`, ``.gz`` looked through), directories walked in a stable
order, named pipes and stdin, gzip, the record limit of a text or HTML file
(read no further than the limit), the ids of one-document files, and
:class:`InputProgress`.

Must not touch: the content of a format (the readers: :mod:`.json_lines`,
:mod:`.csv_rows`, :mod:`.web_pages`) or the index.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
from dataclasses import dataclass
from typing import IO, Iterable, Iterator, Mapping

from .csv_rows import read_csv
from .json_lines import read_jsonl
from .records import Item, Limits, Reject
from .web_pages import read_html, read_text


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
