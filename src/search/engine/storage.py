"""Files of an index directory: what belongs to an index, checksums, durable renames.

Owns: the file-name patterns of an index (segments, tables of contents,
temporary files), :class:`_Storage` (Whoosh's file storage, made durable with
``fsync``), and each segment's side file of sizes and CRC-32s (:func:`_seal`,
:func:`_segment_state`).

Durability and damage: Whoosh never calls ``fsync`` and keeps no checksums.
Before a table of contents naming a new segment is renamed into place, the
segment's files are summed (CRC-32, in ``MAIN_<id>.sums``, as Lucene's
checksum footers) and, with ``fsync``, flushed to disk, then the table of
contents, then the directory. A commit becomes visible when the new table of
contents is renamed into place, so a reader never sees a half-written commit.

Must not touch: postings or stored fields (it reads files as bytes only).
"""

from __future__ import annotations

import json
import os
import re
import zlib
from typing import Any

import whoosh.filedb.filestore
from whoosh.searching import Searcher

from ..vocabulary import fsync_directory


#: ``MAIN_<16-character segment id>.<ext>``: the files of one segment (its sums included).
_SEGMENT_FILE_RE = re.compile(r"^[A-Za-z]\w*?_(?P<segid>[a-z0-9]{16})\.[\w.]+$")


#: ``_MAIN_<generation>.toc``: a commit's table of contents; its presence makes a directory an index.
_TOC_RE = re.compile(r"^_MAIN_\d+\.toc$")


#: Temporary files a writer killed before it renamed them leaves: Whoosh's table of
#: contents (``_MAIN_<generation>.toc.<time>``), the vocabulary's (``.vocabulary-XXXXXXXX``).
_TEMP_FILE_RE = re.compile(r"^(_MAIN_\d+\.toc\.[\d.]+|\.vocabulary-\w+)$")


#: Files an index directory may hold besides an index: locks, side files, leftovers of a killed writer.
_OWN_FILE_RE = re.compile(
    r"^(INGEST\.lock|\w*WRITELOCK|vocabulary\.\w+|.*\.tmp|_MAIN_\d+\.toc|_MAIN_\d+\.toc\.[\d.]+"
    r"|[A-Za-z]\w*?_[a-z0-9]{16}\.[\w.]+)$"
)


#: Our side file of each segment: its files' sizes and CRC-32s (see :func:`_seal`).
_SUMS_EXT = ".sums"


_SUMS_FORMAT = 1


_READ_CHUNK = 1 << 20


def _file_sum(path: str, fsync: bool = False) -> tuple[int, int]:
    """``(size, CRC-32)`` of the file at ``path``; with ``fsync``, its data is flushed to disk too."""
    crc, size = 0, 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(_READ_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
        if fsync:
            os.fsync(f.fileno())
    return size, crc


class _Storage(whoosh.filedb.filestore.FileStorage):
    """Whoosh's file storage (without mmap unless asked), durable with ``fsync``: a file renamed
    into place (a table of contents) is flushed to disk before the rename and the
    directory after it. The segment files it names are flushed before, by :func:`_seal`."""

    def __init__(self, path: str, fsync: bool = True, mmap: bool = False) -> None:
        super().__init__(path, supports_mmap=mmap)
        self.fsync = fsync

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        if self.fsync and not self.readonly:
            fd = os.open(self._fpath(oldname), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        super().rename_file(oldname, newname, safe)
        if self.fsync:
            fsync_directory(self.folder)


def _seal(storage: Any, segment: Any) -> None:
    """Write the sizes and CRC-32s of a new segment's files beside them
    (``MAIN_<id>.sums``), with ``storage.fsync`` flushing files and sums to disk:
    called before the table of contents naming the segment is renamed into place."""
    fsync = getattr(storage, "fsync", False)
    sums = {}
    for name in sorted(segment.list_files(storage)):
        if not name.endswith(_SUMS_EXT):
            sums[name] = _file_sum(storage._fpath(name), fsync)
    stream = storage.create_file(segment.make_filename(_SUMS_EXT))
    try:
        stream.write(json.dumps({"format": _SUMS_FORMAT, "crc32": sums}, sort_keys=True).encode("ascii"))
        stream.flush()
        if fsync:
            os.fsync(stream.file.fileno())
    finally:
        stream.close()


def _segment_state(storage: Any, segment: Any) -> tuple[str, str]:
    """``("ok", "")``, ``("unsummed", "")`` (no sums: written before they existed),
    ``("missing", reason)`` (a file is gone: damage, unless a commit merged the segment
    away meanwhile), or ``("damaged", reason)``: a file is cut short or changed."""
    sums_name = segment.make_filename(_SUMS_EXT)
    try:
        with open(storage._fpath(sums_name), "rb") as f:
            saved = json.loads(f.read())
        expected = {str(name): (int(size), int(crc)) for name, (size, crc) in saved["crc32"].items()}
        if saved["format"] != _SUMS_FORMAT or not expected:
            raise ValueError("no sums")
    except FileNotFoundError:
        return "unsummed", ""
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return "damaged", f"the checksums of segment {segment.segment_id()} cannot be read ({sums_name}: {exc})"
    for name, (size, crc) in sorted(expected.items()):
        try:
            found_size, found_crc = _file_sum(storage._fpath(name))
        except FileNotFoundError:
            return "missing", f"{name} is missing"
        except OSError as exc:
            return "damaged", f"{name} cannot be read ({exc.strerror or exc})"
        if found_size != size:
            return "damaged", f"{name} has {found_size:,} bytes where {size:,} were written"
        if found_crc != crc:
            return "damaged", f"{name} does not match its checksum (its bytes changed on disk since it was written)"
    return "ok", ""


def _leaf_segments(searcher: Searcher) -> list[Any]:
    """The segments a searcher reads (none for an empty index)."""
    return [r.segment() for r, _ in searcher.reader().leaf_readers() if r.segment() is not None]


def _segment_id(reader: Any) -> str | None:
    """The id of the segment ``reader`` reads (None for an empty index's reader)."""
    try:
        return reader.segment().segment_id()
    except AttributeError:
        return None
