"""``GET /openapi.json``: the API described in OpenAPI 3, built from the live settings.

The limits in the description (``per_page`` maximum, deepest ``page``, …) are
the configured ones, so the document never disagrees with the server. The
test suite runs a property-based client (schemathesis) over this description
against the real app: every response must match the schemas here.
"""

from __future__ import annotations

from typing import Any

from .config import Settings
from .filtering import FILTER_FIELDS
from .searching import FACETS, MODES, SORTS

__all__ = ["openapi_spec"]

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable kind, e.g. bad_query, bad_filter"},
        "message": {"type": "string", "description": "what went wrong and what to fix"},
    },
}


#: The index commit an answer comes from (also every answer's ``X-Index-Generation`` header).
_GENERATION = {
    "type": "integer", "minimum": 0,
    "description": "the index commit the answer comes from; a later answer never comes from an earlier one",
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(description: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {"application/json": media}}


def _param(name: str, description: str, schema: dict[str, Any], required: bool = False, example: Any = None) -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": required, "description": description, "schema": schema}
    if not required:  # an empty value (as an HTML form sends it) means the default
        param["allowEmptyValue"] = True
    if example is not None:
        param["example"] = example
    return param


#: The operations' groups, in the order a reader meets them.
TAGS = [
    {"name": "search", "description": "Search the documents: words, phrases, filters, facets, highlighted snippets"},
    {"name": "export", "description": "Every page of a search as one download (CSV or JSON)"},
    {"name": "suggest", "description": "Autocomplete for a search box"},
    {"name": "documents", "description": "Stored documents by id"},
    {"name": "service", "description": "What the index holds, liveness, this description"},
]

_HEADERS = {
    "X-Index-Generation": {"description": "the index commit the answer comes from", "schema": {"type": "integer", "minimum": 0}},
    "Cache-Control": {"description": "how long the answer may be kept (see docs/api.md, caching)", "schema": {"type": "string"}},
}
_ETAG = {
    "ETag": {"description": "weak validator of this answer (index commit and request); send it back in If-None-Match",
             "schema": {"type": "string"}, "example": 'W/"1-3f2a9c0d4b5e6f7a8b9c"'},
}


def _not_modified() -> dict[str, Any]:
    return {"description": "not modified: the If-None-Match ETag is still current (no body)", "headers": {**_ETAG, **_HEADERS}}


def _cached(responses: dict[str, Any]) -> dict[str, Any]:
    """An answer that carries an ETag and can be revalidated (304)."""
    responses["200"]["headers"] = {**_ETAG, **_HEADERS}
    return {"200": responses["200"], "304": _not_modified(), **{k: v for k, v in responses.items() if k != "200"}}


def _string_map() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}


def openapi_spec(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.0 document for an app running with ``settings``."""
    q_param = _param(
        "q",
        "The query: words (up to 2 words all required; more, without operators, any of them, ranked), "
        "\"phrases\", OR, -word / NOT word, (groups), title:word, title:(words), body:word, prefix*. "
        "Stop words are dropped from keyword queries. Empty or absent: a placeholder search, every document "
        "the filter keeps, newest first (sort=published: oldest first).",
        {"type": "string", "maxLength": settings.max_query_chars},
        example="भारत रूस",
    )
    hit = {
        "type": "object",
        "required": ["id", "title", "url", "source", "published", "category", "score", "snippet", "title_html"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "url": {"type": "string"},
            "source": {"type": "string"},
            "published": {"type": "string", "description": "YYYY-MM-DD, or empty"},
            "category": {"type": "string"},
            "score": {"type": "number", "description": "BM25F relevance (0 when sorted by date); in hybrid mode the fused "
                      "score (0..1), in semantic mode the cosine"},
            "snippet": {"type": "string", "description": "HTML: escaped text, highlight tags around matches"},
            "title_html": {"type": "string", "description": "the whole title as HTML, matches highlighted"},
        },
    }
    search_response = {
        "type": "object",
        "required": ["query", "parsed", "total", "page", "per_page", "took_ms", "hits", "sort"],
        "properties": {
            "query": {"type": "string"},
            "parsed": {"type": "string", "description": "the query as understood, in index terms"},
            "total": {"type": "integer", "minimum": 0, "description": "exact number of matching documents"},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "took_ms": {"type": "number"},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "sort": {"type": "string", "enum": list(SORTS)},
            "filter": {"type": "string", "nullable": True, "description": "the filter as understood"},
            "facets": {
                "type": "object",
                "nullable": True,
                "description": "value -> documents, over the whole result set; published by month (YYYY-MM)",
                "additionalProperties": _string_map(),
            },
            "suggestion": {
                "type": "string",
                "nullable": True,
                "description": "did you mean: a corrected query that finds more documents",
            },
            "mode": {"type": "string", "enum": ["lexical", "hybrid", "semantic"], "description": "the mode that ran"},
        },
    }
    semantic_state = {
        "type": "object",
        "required": ["enabled", "available"],
        "description": "hybrid search: whether it runs, and if not why",
        "properties": {
            "enabled": {"type": "boolean"},
            "available": {"type": "boolean"},
            "reason": {"type": "string"},
            "model": {"type": "string"},
            "vectors": {"type": "integer", "minimum": 0, "description": "documents embedded"},
            "documents": {"type": "integer", "minimum": 0},
        },
    }
    document = {
        "type": "object",
        "required": ["id", "title", "body", "url", "published", "source", "category"],
        "properties": {name: {"type": "string"} for name in ("id", "title", "body", "url", "published", "source", "category")},
    }
    # Parameters /search shares with the exports: what to find, in which order, how to highlight.
    result_params = [
        _param(
            "filter",
            "Meilisearch-style filter over " + ", ".join(FILTER_FIELDS)
            + ': = != IN [..] NOT IN [..], >= > < <= on published, AND OR NOT ( ). '
            'E.g. source = "Jan Awaz" AND published >= 2025-03',
            {"type": "string", "maxLength": settings.max_filter_chars},
            example="category = krishi AND published >= 2026-01",
        ),
        _param("sort", "relevance (default), published (oldest first), -published (newest first)", {"type": "string", "enum": list(SORTS), "default": "relevance"}),
        _param(
            "mode",
            "auto (default: hybrid for long natural-language queries when the service has semantic search, else "
            "lexical), lexical, hybrid (words and meaning fused), semantic (meaning only). Phrases, -words, "
            "fields and the filter hold in every mode; hybrid or semantic where the service has no semantic "
            "search is a 400 semantic_unavailable.",
            {"type": "string", "enum": list(MODES), "default": "auto"},
        ),
        _param("highlight_pre_tag", "inserted before each match (raw)", {"type": "string", "maxLength": 200, "default": "<mark>"}),
        _param("highlight_post_tag", "inserted after each match (raw)", {"type": "string", "maxLength": 200, "default": "</mark>"}),
        _param("snippet_chars", "target length of each snippet fragment", {"type": "integer", "minimum": 1, "maximum": settings.max_snippet_chars, "default": settings.snippet_chars}),
        _param("snippets", "number of fragments in a snippet", {"type": "integer", "minimum": 1, "maximum": settings.max_snippets, "default": 1}),
    ]
    export_head = {
        "type": "object",
        "required": ["query", "filter", "sort", "total", "exported", "hits"],
        "properties": {
            "query": {"type": "string"},
            "filter": {"type": "string", "nullable": True, "description": "the filter as given"},
            "sort": {"type": "string", "enum": list(SORTS)},
            "total": {"type": "integer", "minimum": 0, "description": "documents the search finds"},
            "exported": {"type": "integer", "minimum": 0, "description": "hits in this file: total, at most the cap"},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        },
    }
    export_params = [
        q_param,
        _param(
            "limit",
            f"most rows, 1 … {settings.export_max_rows} (the cap, SEARCH_EXPORT_MAX_ROWS, is the default)",
            {"type": "integer", "minimum": 1, "maximum": settings.export_max_rows, "default": settings.export_max_rows},
        ),
        *result_params,
    ]

    def export_path(mimetype: str, schema: dict[str, Any], what: str) -> dict[str, Any]:
        return {
            "get": {
                "operationId": f"export{what.title()}",
                "tags": ["export"],
                "summary": f"Every page of a search as {what}, up to {settings.export_max_rows} rows, as a download",
                "parameters": export_params,
                "responses": {
                    "200": {
                        "description": f"{what}, streamed (Content-Disposition: attachment; X-Total-Count, X-Export-Rows; "
                        "never cached: Cache-Control no-store)",
                        "headers": {
                            "X-Total-Count": {"description": "documents the search finds", "schema": {"type": "integer", "minimum": 0}},
                            "X-Export-Rows": {"description": "rows in the file", "schema": {"type": "integer", "minimum": 0}},
                            **_HEADERS,
                        },
                        "content": {mimetype: {"schema": schema}},
                    },
                    "400": _error("a parameter, the query or the filter is wrong; the message says what to fix"),
                    "503": _error("the index is unavailable, the search ran past its time limit (timeout), or too many expensive searches run (busy); Retry-After says when to try again"),
                },
            }
        }

    spec = {
        "openapi": "3.0.3",
        "info": {
            "title": "Hindi full-text search",
            "version": "1",
            "description": "Search Hindi documents with highlighted snippets, filters, facets, suggestions. "
            "Answers are compressed (brotli, gzip) as Accept-Encoding asks; search answers carry a weak ETag "
            "to send back in If-None-Match (a 304 when nothing changed).",
        },
        "tags": TAGS,
        "paths": {
            "/search": {
                "get": {
                    "operationId": "search",
                    "tags": ["search"],
                    "summary": "Search the documents",
                    "parameters": [
                        q_param,
                        _param("page", f"page of results, 1 … {settings.max_page}", {"type": "integer", "minimum": 1, "maximum": settings.max_page, "default": 1}, example=2),
                        _param("per_page", f"hits per page, 1 … {settings.max_per_page}", {"type": "integer", "minimum": 1, "maximum": settings.max_per_page, "default": settings.default_per_page}, example=20),
                        *result_params[:2],
                        _param("facets", "comma-separated: " + ",".join(FACETS), {"type": "string"}, example="source,published"),
                        *result_params[2:],
                    ],
                    "responses": _cached({
                        "200": _ok("the page of hits", {"$ref": "#/components/schemas/SearchResponse"}),
                        "400": _error("a parameter, the query or the filter is wrong; the message says what to fix"),
                        "503": _error("the index is unavailable, the search ran past its time limit (timeout), or too many expensive searches run (busy); Retry-After says when to try again"),
                    }),
                }
            },
            "/export.csv": export_path(
                "text/csv", {"type": "string", "description": "UTF-8 with BOM; columns id,title,url,source,published,category,score,snippet (plain text)"}, "CSV"
            ),
            "/export.json": export_path("application/json", export_head, "JSON"),
            "/suggest": {
                "get": {
                    "operationId": "suggest",
                    "tags": ["suggest"],
                    "summary": "Autocomplete the last, partial word; titles matching as typed",
                    "parameters": [
                        _param("q", "what is typed so far", {"type": "string", "minLength": 1, "maxLength": settings.max_query_chars}, required=True, example="भार"),
                        _param("limit", f"most completions and titles, 1 … {settings.max_suggest_limit}", {"type": "integer", "minimum": 1, "maximum": settings.max_suggest_limit, "default": settings.suggest_limit}),
                    ],
                    "responses": _cached({
                        "200": _ok(
                            "completions, most common first, and titles",
                            {
                                "type": "object",
                                "required": ["query", "completions", "titles", "took_ms"],
                                "properties": {
                                    "query": {"type": "string"},
                                    "completions": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["text", "query", "documents"],
                                            "properties": {
                                                "text": {"type": "string", "description": "the completed word"},
                                                "query": {"type": "string", "description": "q with its last word completed"},
                                                "documents": {"type": "integer", "minimum": 0},
                                                "roman": {"type": "string", "description": "for a Latin-script prefix "
                                                          "(bhar): the completion's Latin spelling (bharat)"},
                                            },
                                        },
                                    },
                                    "titles": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "title"],
                                            "properties": {"id": {"type": "string"}, "title": {"type": "string"}},
                                        },
                                    },
                                    "took_ms": {"type": "number"},
                                },
                            },
                            example={
                                "query": "भार",
                                "completions": [{"text": "भारत", "query": "भारत", "documents": 15}],
                                "titles": [{"id": "s017", "title": "वैश्विक संकेतों से शेयर बाज़ार में भारी गिरावट"}],
                                "took_ms": 1.62,
                            },
                        ),
                        "400": _error("q is missing or too long, or limit is wrong"),
                        "503": _error("the index is unavailable, or the answer ran past its time limit (timeout, with Retry-After)"),
                    }),
                }
            },
            "/documents/{id}": {
                "get": {
                    "operationId": "getDocument",
                    "tags": ["documents"],
                    "summary": "One stored document",
                    "parameters": [{"name": "id", "in": "path", "required": True, "description": "the document's id, as ingested",
                                    "schema": {"type": "string", "minLength": 1}, "example": "s055"}],
                    "responses": _cached({
                        "200": _ok("the document", {"$ref": "#/components/schemas/Document"}),
                        "404": _error("no document has this id"),
                        "503": _error("the index is unavailable"),
                    }),
                }
            },
            "/stats": {
                "get": {
                    "operationId": "getStats",
                    "tags": ["service"],
                    "summary": "What the index holds (never cached)",
                    "responses": {
                        "200": _ok(
                            "counts and sizes",
                            {
                                "type": "object",
                                "required": ["documents", "generation", "sources", "categories", "index_bytes", "last_ingest", "vocabulary_words"],
                                "properties": {
                                    "documents": {"type": "integer", "minimum": 0},
                                    "generation": _GENERATION,
                                    "sources": _string_map(),
                                    "categories": _string_map(),
                                    "index_bytes": {"type": "integer", "minimum": 0},
                                    "last_ingest": {"type": "string", "nullable": True, "description": "UTC time of the last commit"},
                                    "vocabulary_words": {"type": "integer", "minimum": 0},
                                    "semantic": semantic_state,
                                },
                            },
                        ),
                        "503": _error("the index is unavailable, or the answer ran past its time limit (timeout, with Retry-After)"),
                    },
                }
            },
            "/health": {
                "get": {
                    "operationId": "getHealth",
                    "tags": ["service"],
                    "summary": "Liveness: does the index open (never cached)",
                    "responses": {
                        "200": _ok(
                            "ok",
                            {"type": "object", "required": ["status", "documents", "generation"], "properties": {"status": {"type": "string"}, "documents": {"type": "integer"}, "generation": _GENERATION, "semantic": semantic_state}},
                            example={"status": "ok", "documents": 60, "generation": 1,
                                     "semantic": {"enabled": False, "available": False, "reason": "off (set SEARCH_SEMANTIC=1)"}},
                        ),
                        "503": _ok(
                            "the index cannot be opened",
                            {"type": "object", "required": ["status", "message"], "properties": {"status": {"type": "string"}, "message": {"type": "string"}}},
                            example={"status": "error", "message": "no index directory at 'index': run ingest first"},
                        ),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "tags": ["service"],
                    "summary": "This description",
                    "responses": _cached({"200": _ok("OpenAPI 3 document", {"type": "object"})}),
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {**_ERROR, "example": {"error": "bad_query", "message": "the query only excludes words: add at least one word to find"}},
                "Hit": hit,
                "SearchResponse": search_response,
                "Document": document,
            }
        },
    }
    _add_documents_api(spec, settings)
    return spec


# -- The documents API (issue 19): the write operations, and the keys of reads and writes.

_BEARER = [{"bearer": []}]


def _add_documents_api(spec: dict[str, Any], settings: Settings) -> None:
    """Add the write operations (always marked with the bearer key: without ``SEARCH_API_KEY``
    they answer 403 ``writes_disabled``) and, with ``SEARCH_READ_KEY``, the key on every read."""
    from .indexing import OUTCOMES

    text = {"type": "string", "nullable": True}
    an_id = {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 512}, {"type": "integer"}]}
    fields = {
        "id": an_id,
        "title": text, "body": text, "url": text,
        "published": {"type": "string", "nullable": True, "description": "an ISO date (YYYY-MM-DD) or date-time"},
        "source": text, "category": text,
        "deleted": {"description": "true (or 1, \"true\", \"yes\"): delete the document with this id"},
    }
    document_in = {
        "type": "object",
        "required": ["id"],
        "description": "a record as a line of ingest.py's JSON Lines input: id, and a non-empty title or body; "
                       "other keys are ignored",
        "properties": fields,
    }
    document_put = {
        "type": "object",
        "description": "a record whose id, when given, is the URL's",
        "properties": {name: value for name, value in fields.items() if name != "deleted"},
    }
    result = {
        "type": "object",
        "required": ["position", "id", "status"],
        "properties": {
            "position": {"type": "integer", "minimum": 1, "description": "the record's element of the array (1-based), or its line of JSON Lines"},
            "id": {"type": "string", "nullable": True, "description": "null when the record gives none that can be read"},
            "status": {"type": "string", "enum": [*OUTCOMES, "pending"],
                       "description": "pending: queued, committed within commit_within_ms (SEARCH_COMMIT_WITHIN_MS)"},
            "reason": {"type": "string", "description": "why the record was rejected, as ingest.py reports it"},
        },
    }
    counts = {name: {"type": "integer", "minimum": 0} for name in OUTCOMES}
    answer = {
        "type": "object",
        "required": ["results", *OUTCOMES, "committed"],
        "properties": {
            "results": {"type": "array", "items": result, "description": "one per record, in the order sent"},
            **counts,
            "committed": {"type": "boolean", "description": "every change is committed: the next search sees it "
                          "(false: the changes are pending, see commit_within_ms)"},
            "pending": {"type": "integer", "minimum": 0, "description": "records queued to be committed"},
            "commit_within_ms": {"type": "integer", "minimum": 1, "description": "when pending ones are committed at the latest"},
            "notes": {"type": "array", "items": text},
        },
    }
    spec["components"]["schemas"].update({
        "DocumentInput": document_in,
        "DocumentPut": document_put,
        "WriteAnswer": answer,
        "WriteRefusal": {"allOf": [{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/WriteAnswer"}]},
    })
    spec["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "SEARCH_API_KEY for writes; SEARCH_READ_KEY (or the write key) for reads when it is set"},
    }
    written = _ok("what became of each record; 200 when at least one was taken", {"$ref": "#/components/schemas/WriteAnswer"})
    queued = _ok("every record taken is pending: committed within SEARCH_COMMIT_WITHIN_MS", {"$ref": "#/components/schemas/WriteAnswer"})
    refused = {"description": "every record was rejected: nothing was written",
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WriteRefusal"}}}}
    common = {
        "401": _error("no key was sent (WWW-Authenticate: Bearer)"),
        "403": _error("writes_disabled: the server has no SEARCH_API_KEY; forbidden: the key is wrong"),
        "503": _error("index_locked: another writer holds the index (Retry-After); or the index is unavailable or cannot be written"),
    }
    body_errors = {
        "400": _error("nothing of the body can be read (not UTF-8, not JSON, empty, not records), or a PUT's id is not its URL's"),
        "413": _error(f"more than {settings.max_batch} records (SEARCH_MAX_BATCH) or a body over {settings.max_body_bytes} bytes"),
        "415": _error("the body is not application/json (or application/x-ndjson where accepted)"),
    }
    records = {"oneOf": [{"$ref": "#/components/schemas/DocumentInput"},
                         {"type": "array", "minItems": 1, "maxItems": settings.max_batch, "items": {"$ref": "#/components/schemas/DocumentInput"}}]}
    id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}]
    spec["paths"]["/documents"] = {
        "post": {
            "operationId": "addDocuments",
            "tags": ["documents"],
            "summary": "Add or replace documents: one record, an array of records, or JSON Lines",
            "security": _BEARER,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": records},
                "application/x-ndjson": {"schema": {"type": "string", "description": "one record (DocumentInput) a line"}},
            }},
            "responses": {"200": written, "202": queued, **body_errors, "422": refused, **common},
        }
    }
    spec["paths"]["/documents/{id}"].update({
        "put": {
            "operationId": "putDocument",
            "tags": ["documents"],
            "summary": "Store the document of this id (its id in the body must be the same, or absent)",
            "security": _BEARER,
            "parameters": id_param,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DocumentPut"}}}},
            "responses": {"200": written, "202": queued, **body_errors, "422": refused, **common},
        },
        "delete": {
            "operationId": "deleteDocument",
            "tags": ["documents"],
            "summary": "Delete the document of this id",
            "security": _BEARER,
            "parameters": id_param,
            "responses": {
                "200": written,
                "202": queued,
                "400": _error("the id cannot be an id (over 512 characters)"),
                # with the results when the id was looked up; a plain error when the path is no
                # id at all (a line break in it: no route matches)
                "404": {"description": "no document has this id",
                        "content": {"application/json": {"schema": {"anyOf": [
                            {"$ref": "#/components/schemas/WriteRefusal"}, {"$ref": "#/components/schemas/Error"}]}}}},
                **common,
            },
        },
    })
    spec["paths"]["/documents/delete"] = {
        "post": {
            "operationId": "deleteDocuments",
            "tags": ["documents"],
            "summary": "Delete documents by id; ids the index does not hold are not_found",
            "security": _BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["ids"],
                "properties": {"ids": {"type": "array", "minItems": 1, "maxItems": settings.max_batch, "items": an_id}},
            }}}},
            "responses": {"200": written, "202": queued, **body_errors, "422": refused, **common},
        }
    }
    for path, item in spec["paths"].items():
        read = item.get("get")
        if read is None:
            continue
        if path in ("/health", "/openapi.json") or not settings.read_key:
            read["security"] = []  # open: load balancers probe /health without credentials
            continue
        read["security"] = _BEARER
        read["responses"].setdefault("401", _error("no key was sent (WWW-Authenticate: Bearer): SEARCH_READ_KEY is set"))
        read["responses"].setdefault("403", _error("the key sent is neither the read key nor the write key"))
