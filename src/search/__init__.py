"""Hindi full-text search: ingest Hindi documents, search them with highlights.

The data path, one module per stage::

    documents  (input formats -> records)
    analysis   (text -> terms)
    indexing   (records -> index)        engine (the only module using Whoosh)
    querying   (user query -> query tree)
    searching  (query -> hits, snippets)
    web        (HTTP: the JSON API and exports; pages: the HTML search page and widget)
    serving    (the gunicorn configuration for production)

The public names below are imported on first use (PEP 562), so importing the
package costs nothing: ``hindi-search`` and ``ingest.py`` install their signal
handlers before Whoosh, numpy and Flask are loaded (half a second in which a
SIGTERM would otherwise kill the process or a SIGINT print a traceback).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Each public name and the module it comes from.
_EXPORTS = {
    "AnalysisOptions": "analysis",
    "Analyzer": "analysis",
    "normalise": "analysis",
    "tokenize": "analysis",
    "Settings": "config",
    "Record": "documents",
    "Reject": "documents",
    "read_inputs": "documents",
    "IngestReport": "indexing",
    "ingest": "indexing",
    "QueryError": "querying",
    "parse": "querying",
    "SearchRequest": "searching",
    "SearchResponse": "searching",
    "SearchService": "searching",
    "create_app": "web",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def version() -> str:
    """The installed package's version (``version`` in pyproject.toml), read from its
    metadata so it is written in one place; ``unknown`` in a checkout never installed."""
    from importlib import metadata

    try:
        return metadata.version("hindi-search")
    except metadata.PackageNotFoundError:
        return "unknown"


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from .analysis import AnalysisOptions, Analyzer, normalise, tokenize
    from .config import Settings
    from .documents import Record, Reject, read_inputs
    from .indexing import IngestReport, ingest
    from .querying import QueryError, parse
    from .searching import SearchRequest, SearchResponse, SearchService
    from .web import create_app
