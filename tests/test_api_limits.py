"""The public API's per-client rate limits: reads count there (and only there), per
partner key or per address."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"API_READ_LIMIT": "3 per minute"}


def test_reads_are_limited_per_client(client) -> None:
    for _ in range(3):
        assert client.get("/api/v1/towns", environ_base={"REMOTE_ADDR": "10.1.0.1"}).status_code == 200
    refused = client.get("/api/v1/categories", environ_base={"REMOTE_ADDR": "10.1.0.1"})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["status"] == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.get("/api/v1/towns", environ_base={"REMOTE_ADDR": "10.1.0.2"}).status_code == 200
    # the pages stay unlimited on reads
    for _ in range(5):
        assert client.get("/merchants", environ_base={"REMOTE_ADDR": "10.1.0.1"}).status_code == 200


def test_a_partner_key_is_its_own_bucket(client) -> None:
    from pledge_registry.partners.services import add_partner, issue_key

    key = issue_key(add_partner("kiosk-mall", "商场自助机")).key
    for _ in range(3):
        client.get("/api/v1/towns", environ_base={"REMOTE_ADDR": "10.1.0.3"})
    assert client.get("/api/v1/towns", environ_base={"REMOTE_ADDR": "10.1.0.3"}).status_code == 429
    with_key = client.get("/api/v1/towns", headers={"X-API-Key": key}, environ_base={"REMOTE_ADDR": "10.1.0.3"})
    assert with_key.status_code == 200
    # a made-up key does not buy a bucket of its own
    forged = client.get("/api/v1/towns", headers={"X-API-Key": "prk_000000000000_" + "x" * 43},
                        environ_base={"REMOTE_ADDR": "10.1.0.3"})
    assert forged.status_code == 429
