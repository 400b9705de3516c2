"""``/openapi.json`` checked against the real app by a property-based run (schemathesis):
generated requests for every endpoint and parameter, valid and invalid, must never
get a 5xx, and every answer must match the status codes and schemas the spec declares."""

from __future__ import annotations

import os
import random

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from search import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # values outside the declared limits are refused (4xx)
]


@pytest.fixture
def api_schema(sample_index):
    app = create_app({"index": sample_index, "refresh_seconds": 0})
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_endpoint_conforms(case):
    # The WSGI transport hands the body over as sent, without decoding brotli or gzip
    # as an HTTP client does: ask for it uncompressed (tests/test_caching.py checks that
    # compressed answers decode to the same).
    case.call_and_validate(checks=CHECKS, headers={"Accept-Encoding": "identity"})


def test_spec_lists_every_route_and_parameter(client, app):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    routes = {
        rule.rule.replace("<path:doc_id>", "{id}")
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.endpoint.startswith("pages.")  # HTML, not API
    }
    assert routes == set(spec["paths"])
    search_params = {p["name"] for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert search_params == {
        "q", "page", "per_page", "filter", "facets", "sort", "mode",
        "highlight_pre_tag", "highlight_post_tag", "snippet_chars", "snippets",
    }
    for path in ("/export.csv", "/export.json"):  # /search's parameters but paging and facets, plus limit
        export_params = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert export_params == search_params - {"page", "per_page", "facets"} | {"limit"}


def test_limits_in_the_spec_follow_the_settings(sample_index):
    spec = create_app({"index": sample_index, "max_per_page": 7}).test_client().get("/openapi.json").get_json()
    per_page = next(p for p in spec["paths"]["/search"]["get"]["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == 7


def test_every_operation_has_a_unique_operation_id_and_declared_tags(client):
    spec = client.get("/openapi.json").get_json()
    declared = {tag["name"] for tag in spec["tags"]}
    assert declared == {"search", "export", "suggest", "documents", "service"}
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    ids = [op.get("operationId") for _, _, op in operations]
    assert all(isinstance(i, str) and i for i in ids), ids
    assert len(set(ids)) == len(ids) == len(operations), ids
    for path, method, op in operations:
        assert op.get("tags") and set(op["tags"]) <= declared, (path, method, op.get("tags"))
    used = {tag for _, _, op in operations for tag in op["tags"]}
    assert used == declared, "every declared tag groups at least one operation"


def test_revalidated_answers_declare_their_etag_and_304(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/search", "/suggest", "/documents/{id}"):
        responses = spec["paths"][path]["get"]["responses"]
        assert "ETag" in responses["200"]["headers"] and "304" in responses, path
        assert "content" not in responses["304"], "a 304 has no body"
    for path in ("/health", "/stats", "/export.csv"):
        assert "304" not in spec["paths"][path]["get"]["responses"], path


def test_the_examples_are_valid_requests(client):
    """The parameter examples a reader (or a generated client) copies are answered 200."""
    spec = client.get("/openapi.json").get_json()
    params = {p["name"]: p["example"] for p in spec["paths"]["/search"]["get"]["parameters"] if "example" in p}
    assert {"q", "filter", "facets"} <= set(params)
    assert client.get("/search", query_string=params).status_code == 200
    doc = spec["paths"]["/documents/{id}"]["get"]["parameters"][0]["example"]
    assert client.get(f"/documents/{doc}").status_code == 200


WRITE_KEY = "schema-test-key"


@pytest.fixture
def writes_schema(tmp_path):
    """The write operations with writes on (and the key sent), on an index of their own."""
    app = create_app({"index": str(tmp_path / "ix"), "refresh_seconds": 0, "api_key": WRITE_KEY, "write_lock_wait": 1})
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


writes = schemathesis.pytest.from_fixture("writes_schema").include(method=["POST", "PUT", "DELETE"])


@writes.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_write_conforms_with_the_key(case):
    """Generated records, arrays, JSON Lines and ids, sent with the key: never a 5xx, every
    answer as declared. Not ``negative_data_rejection``: a batch holding one record the
    schema refuses beside good ones is a 200 by design (the good ones land, the bad one
    is rejected in the results).

    Hypothesis seeds the ``random`` module alike for every example, and Whoosh names a new
    segment with ``random``: the same name twice in one index is a collision no real server
    meets (each process seeds from the OS). So the test seeds it from the OS too."""
    random.seed(os.urandom(16))
    case.call_and_validate(headers={"Authorization": f"Bearer {WRITE_KEY}", "Accept-Encoding": "identity"},
                           checks=[c for c in CHECKS if c is not negative_data_rejection])
