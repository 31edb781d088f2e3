"""The reference implementation behind the conformance API (`calharness reference serve`):
what it makes of the hub description, and its store across account set-ups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harness.conformance.reference import reference_app
from mock_providers.describe import describe
from mock_providers.server import HubServer


@pytest.fixture
def hub(hub_server: HubServer) -> dict[str, Any]:
    return describe(hub_server.hub, secrets=True)


def _people(hub: dict[str, Any]) -> tuple[str, str]:
    tenant = next(t for t in hub["microsoft"]["tenants"] if t["key"] == "contoso")
    admin = next(u["upn"] for u in tenant["users"] if u["is_admin"])
    member = next(u["upn"] for u in tenant["users"] if not u["is_admin"])
    return admin, member


@pytest.fixture
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    db_url = getattr(request, "param", None)
    with TestClient(reference_app(db_url and db_url.format(tmp=tmp_path))) as c:
        yield c


def test_a_hub_description_the_reference_cannot_use_is_a_422(client: TestClient,
                                                            hub: dict[str, Any]) -> None:
    broken = {**hub, "microsoft": {**hub["microsoft"], "tenants": [
        {"id": "t", "key": "k", "domains": ["k.example"],
         "apps": [{"client_id": "c", "client_secret": "s", "redirect_uris": []}]}]}}
    response = client.put("/account", json={"account": {"owner": "a@k.example"},
                                            "hub": broken})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_hub"
    assert client.get("/account/settings").json()["error"]["code"] == "no_account"


@pytest.mark.parametrize("client", ["sqlite:///{tmp}/reference.db"], indirect=True)
def test_each_set_up_starts_from_a_clean_account_in_a_shared_store(
        client: TestClient, hub: dict[str, Any], tmp_path: Path) -> None:
    admin, member = _people(hub)
    setup = {"account": {"owner": admin, "members": [member]}, "hub": hub}
    assert client.put("/account", json=setup).status_code == 204
    change = {"actor": admin, "changes": {"calendar_permission": "write"}}
    assert client.post("/account/settings", json=change).json()["accepted"] is True
    assert len(client.get("/account/settings/audit").json()) == 1
    assert client.put("/account", json=setup).status_code == 204
    assert client.get("/account/settings").json()["calendar_permission"] == "read"
    assert client.get("/account/settings/audit").json() == []


def test_capabilities_claim_everything(client: TestClient) -> None:
    claims = client.get("/capabilities").json()
    assert claims["services"] == ["office365-graph", "office365-ews", "exchange-ews", "mapi",
                                  "google"]
    assert all(v for v in claims.values() if isinstance(v, bool))
