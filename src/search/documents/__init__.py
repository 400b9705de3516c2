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

The package, in the order an input flows through it (each module imports
only the ones above it)::

    records      Record, Delete, Reject, Limits: the items and their bounds
    validation   one decoded JSON value or CSV row -> Record | Delete, or why not; clean_text
    lines        the lines of a stream, each bounded by the record limit
    json_lines   read_jsonl
    csv_rows     read_csv
    web_pages    read_text, read_html: one web page -> one record
    inputs       read_inputs: files, directories, stdin, gzip -> the reader of each
    bodies       read_body, read_one, read_ids: a documents API request body -> items with their positions

This module only re-exports their public names; it must not touch the index
(:mod:`search.indexing` takes the items from here).
"""

from __future__ import annotations

from .bodies import BodyError, BodyItem, IdMismatch, TooManyRecords, delete_item, read_body, read_ids, read_one
from .csv_rows import read_csv
from .inputs import FORMATS, InputProgress, read_inputs
from .json_lines import read_jsonl
from .records import Delete, Item, Limits, Record, Reject
from .validation import clean_text, legacy_font_reason, parse_field_map, parse_record
from .web_pages import _leaf_blocks, read_html, read_text  # noqa: F401  (_leaf_blocks: tests/test_ingest_limits.py)

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
    "BodyError",
    "BodyItem",
    "TooManyRecords",
    "read_body",
    "read_ids",
    "read_one",
    "delete_item",
    "IdMismatch",
]
