"""The search backends. Whoosh is imported only inside this package.

Everything outside it speaks the interface of :mod:`.backend`: records and
query trees in; hits with stored fields, totals and facet counts out; a writer
with put, delete and commit; vocabulary statistics for romanized readings,
did-you-mean and feedback. :func:`open_index` and :func:`open_or_create` give
the configured backend; today that is the embedded Whoosh index
(:class:`SearchIndex`), whose modules divide the data path:

=============  ============================================================
``schema``     fields, our analyzer as a Whoosh tokenizer
``storage``    index files, checksums, durable renames
``writing``    the segment writer and W3 posting-list writer
``workers``    worker processes building segments in parallel
``lexicon``    each segment's sorted terms, frequencies, phonetic keys
``postings``   posting lists decoded in bulk, the shared segment cache
``positions``  term positions decoded in bulk, for phrases
``docsets``    bitsets, BM25F score arrays, columns, top-k
``compiling``  what query nodes stand for in this index; the cost model
``matching``   matching and scoring a query tree
``phrases``    phrases and ordered nearby words from positions
``index``      :class:`SearchIndex`: open, check, search, write
``faults``     a test hook failing or killing storage writes
=============  ============================================================
"""

from __future__ import annotations

from ..deadline import SearchTimeout
from . import faults  # noqa: F401 - installs the test hook when SEARCH_FAULT_INJECT is set
from .backend import (
    COLUMN_FIELDS,
    SORTS,
    STORED_FIELDS,
    TEXT_FIELDS,
    Backend,
    IndexLocked,
    IndexUnavailable,
    IndexWriteFailed,
    Ranking,
    ResultSet,
    Writer,
)
from .faults import FAULT_INJECT_ENV
from .index import SearchIndex
from .schema import HindiText, HindiTokenizer, LeadText

__all__ = [
    "Backend",
    "Writer",
    "SearchIndex",
    "open_index",
    "open_or_create",
    "IndexUnavailable",
    "IndexLocked",
    "IndexWriteFailed",
    "SearchTimeout",
    "ResultSet",
    "Ranking",
    "SORTS",
    "COLUMN_FIELDS",
    "STORED_FIELDS",
    "TEXT_FIELDS",
    "FAULT_INJECT_ENV",
    # The schema's classes: indexes pickled before the engine was a package name them here.
    "HindiTokenizer",
    "HindiText",
    "LeadText",
]


def open_index(path: str, **options: object) -> Backend:
    """The index at ``path``, opened for searching (:meth:`SearchIndex.open`'s options)."""
    return SearchIndex.open(path, **options)  # type: ignore[arg-type]


def open_or_create(path: str, **options: object) -> Backend:
    """The index at ``path`` for writing, created when missing (:meth:`SearchIndex.open_or_create`)."""
    return SearchIndex.open_or_create(path, **options)  # type: ignore[arg-type]
