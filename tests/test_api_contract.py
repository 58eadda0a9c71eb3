"""The OpenAPI document is the contract: v1 only adds (a committed snapshot), and a
property-based fuzzer (schemathesis) drives every operation on both engines, finding no
5xx and no answer that differs from the document."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pledge_registry.api.cli import SNAPSHOT, current_document, dumps
from pledge_registry.api.compat import breaking_changes
from tests.factories import make_complaint, make_merchant, make_pledge, make_rating

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def test_v1_only_adds_to_the_committed_snapshot(app) -> None:
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert breaking_changes(snapshot, current_document()) == []


def test_the_snapshot_is_current(app) -> None:
    """An addition is recorded with `flask api snapshot` (which refuses a breaking change)."""
    assert dumps(current_document()) == SNAPSHOT.read_text(encoding="utf-8"), "run: flask api snapshot"


def test_the_document_is_openapi_3_1_and_served(client) -> None:
    served = client.get("/api/v1/openapi.json").get_json()
    assert served["openapi"] == "3.1.0" and "/api/v1/merchants" in served["paths"]
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in docs and "//" not in docs.split("<body>")[1].replace(
        "http://localhost", "").split("openapi.json")[0].replace("</a>", "")
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404


@pytest.mark.parametrize("change,broken", [
    (lambda d: d["paths"].pop("/api/v1/towns"), True),
    (lambda d: d["components"]["schemas"]["MerchantSummary"]["properties"].pop("grade"), True),
    (lambda d: d["components"]["schemas"]["MerchantSummary"]["properties"]["id"].update(type="string"), True),
    (lambda d: d["paths"]["/api/v1/merchants"]["get"]["parameters"].append(
        {"in": "query", "name": "new", "required": True, "schema": {"type": "string"}}), True),
    (lambda d: d["paths"]["/api/v1/merchants"]["get"]["parameters"].append(
        {"in": "query", "name": "new", "required": False, "schema": {"type": "string"}}), False),
    (lambda d: d["components"]["schemas"]["MerchantSummary"]["properties"].update(extra={"type": "string"}), False),
    (lambda d: d["paths"]["/api/v1/towns"]["get"].update(summary="Reworded"), False),
])
def test_breaking_changes_are_found(change: Any, broken: bool) -> None:
    old = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    new = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    change(new)
    assert bool(breaking_changes(old, new)) is broken


def test_the_api_keeps_its_document(app: Any) -> None:
    """Every operation of the served document, fuzzed from its own schema (a few examples
    each, to keep the suite fast), with a registry worth reading and a partner's key."""
    from pledge_registry.partners.services import add_partner, issue_key

    shop = make_merchant()
    make_pledge(shop, "returns")
    make_rating(shop, "B")
    make_complaint(shop)
    key = issue_key(add_partner("fuzz-partner", "测试伙伴")).key
    app.config["API_READ_LIMIT"] = app.config["API_WRITE_LIMIT"] = "100000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers={"X-API-Key": key}, checks=CHECKS)

        fuzz()
