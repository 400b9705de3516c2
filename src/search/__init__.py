"""Hindi full-text search: ingest Hindi documents, search them with highlights.

The data path, one module per stage::

    documents  (input formats -> records)
    analysis   (text -> terms)
    indexing   (records -> index)        engine (the only module using Whoosh)
    querying   (user query -> query tree)
    searching  (query -> hits, snippets)
    web        (HTTP: the JSON API and exports; pages: the HTML search page and widget)
"""

from .analysis import AnalysisOptions, Analyzer, normalise, tokenize
from .config import Settings
from .documents import Record, Reject
from .documents import read_inputs
from .indexing import IngestReport, ingest
from .querying import QueryError, parse
from .searching import SearchRequest, SearchResponse, SearchService
from .web import create_app

__all__ = [
    "AnalysisOptions",
    "Analyzer",
    "IngestReport",
    "QueryError",
    "Record",
    "Reject",
    "SearchRequest",
    "SearchResponse",
    "SearchService",
    "Settings",
    "create_app",
    "ingest",
    "normalise",
    "parse",
    "read_inputs",
    "tokenize",
]
