"""The reference implementation's store keeps tokens and passwords encrypted, and a run removes
its per-scenario stores unless told to keep them (issue #16)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.exc import StatementError

from harness.reference import ReferenceConfig
from harness.reference.store import IntegrationRow, PendingConsentRow, Store, StoreKeyError

ROOT = Path(__file__).resolve().parents[1]
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")
SECRET = "1.AR_refresh-token-that-must-not-leak"
PASSWORD = "on-premises-Passw0rd-that-must-not-leak"


def _write_secrets(store: Store) -> None:
    with store.session() as s:
        s.add(IntegrationRow(
            user="u@contoso.example", service="exchange", calendar="read", contacts="none",
            state="connected", updated_at=datetime.now(UTC),
            credentials={"mode": "delegated", "blob": json.dumps({"basic": PASSWORD}),
                         "account_ref": None, "scopes": []},
            pending_flow={"code_verifier": SECRET}))
        s.add(PendingConsentRow(actor="admin@contoso.example", mode="admin_application",
                                state=SECRET + "-state", flow={"refresh_token": SECRET}))


def _file_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_tokens_and_passwords_are_encrypted_at_rest_and_read_back(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    store = Store(f"sqlite:///{tmp_path / 'ref.db'}", key=key)
    _write_secrets(store)
    with store.session() as s:
        row = s.get(IntegrationRow, "u@contoso.example")
        pending = s.get(PendingConsentRow, "admin@contoso.example")
        assert row is not None and pending is not None
        assert json.loads(row.credentials["blob"]) == {"basic": PASSWORD}
        assert row.pending_flow == {"code_verifier": SECRET}
        assert pending.state == SECRET + "-state" and pending.flow == {"refresh_token": SECRET}
    store.close()
    raw = _file_bytes(tmp_path)
    assert b"gAAAAA" in raw, "the secrets are in the file, as Fernet tokens"
    for plain in (SECRET, PASSWORD, "code_verifier", "refresh_token", "basic"):
        assert plain.encode() not in raw


def test_another_key_cannot_read_them_and_no_key_cannot_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ref.db'}"
    _write_secrets(Store(url, key=Fernet.generate_key()))
    other = Store(url, key=Fernet.generate_key())
    with pytest.raises(StoreKeyError, match="another key"), other.session() as s:
        s.get(IntegrationRow, "u@contoso.example")
    with pytest.raises(StatementError, match="inside Store.session") as refused, \
            other._sessions.begin() as bare:  # around the store's own session: no key
        bare.add(PendingConsentRow(actor="x", mode="m", state="s"))
    assert isinstance(refused.value.orig, StoreKeyError)  # SQLAlchemy wraps it for writes


def test_without_a_configured_key_the_run_has_one_of_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ref.db'}"
    _write_secrets(Store(url))
    with Store(url).session() as s:  # same run, same key
        row = s.get(IntegrationRow, "u@contoso.example")
        assert row is not None and row.pending_flow == {"code_verifier": SECRET}
    assert SECRET.encode() not in _file_bytes(tmp_path)


def test_the_configured_key_is_the_one_the_reference_uses(tmp_path: Path) -> None:
    from harness.driver.reference import ReferenceDriver

    key = Fernet.generate_key().decode()
    description = {"secrets_included": True, "ca_bundle": None,
                   "microsoft": {"authority_host": "https://127.0.0.1:1", "graph": "g",
                                 "ews": "e", "tenants": []}}
    url = f"sqlite:///{tmp_path / 'ref.db'}"
    driver = ReferenceDriver(ReferenceConfig.from_hub(description, db_url=url, store_key=key))
    _write_secrets(driver._impl.store)
    driver.close()
    with Store(url, key=key).session() as s:
        row = s.get(IntegrationRow, "u@contoso.example")
        assert row is not None and row.pending_flow == {"code_verifier": SECRET}
    with pytest.raises(ValueError, match="Fernet key"):
        ReferenceConfig.from_hub(description, store_key="not-a-key")
    with pytest.raises(ValueError, match="secrets=true"):
        ReferenceConfig.from_hub({**description, "secrets_included": False})


# -- a run of scenarios ------------------------------------------------------------------------
COLLECTOR = '''
"""Records, at the end of each scenario, every secret the mocks' world holds, and the stores."""
import json, os
import pytest

@pytest.fixture(autouse=True)
def _record_world_secrets(calharness_hub, calharness_driver, request):
    yield
    from mock_providers.google.tokens import google_tokens
    world = calharness_hub.hub.world
    found = set(world.tokens.refresh) | set(google_tokens(world).access)
    for tenant in world.ms_tenants.values():
        found |= {u.password for u in tenant.users.values()}
        found |= {a.client_secret for a in tenant.apps.values() if a.client_secret}
    for domain in world.google_domains.values():
        found |= {u.password for u in domain.users.values()}
    found |= {c.client_secret for c in world.google_clients.values() if c.client_secret}
    stores = request.getfixturevalue("calharness_store_dir")
    with open(os.environ["CALHARNESS_SECRETS_OUT"], "a") as out:
        out.write(json.dumps({"secrets": sorted(found), "refresh": len(world.tokens.refresh),
                              "stores": sorted(p.name for p in stores.iterdir())}) + "\\n")
'''
SCENARIOS = ["features/exchange_ews.feature", "features/google.feature",
             "features/office365_graph.feature"]
CONNECTS = ("mailbox_credentials or readonly_permissions_the_google "
            "or calendarread_and_sees")


def _run(tmp: Path, keep: bool, selection: str) -> tuple[Path, list[dict[str, Any]]]:
    plugin_dir, basetemp, out = tmp / "plugin", tmp / "basetemp", tmp / "secrets.jsonl"
    plugin_dir.mkdir()
    (plugin_dir / "secret_collector.py").write_text(textwrap.dedent(COLLECTOR))
    env = {**os.environ, "CALHARNESS_SECRETS_OUT": str(out),
           "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(ROOT),
                                          os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "secret_collector", *SCENARIOS, "-k", selection, "--basetemp", str(basetemp),
            "--report-dir", str(tmp / "reports")]
    if keep:
        args.append("--keep-stores")
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return basetemp, records


def test_a_run_leaves_no_token_or_password_in_its_stores(tmp_path: Path) -> None:
    basetemp, records = _run(tmp_path, keep=True, selection=CONNECTS)
    assert len(records) == 3 and all(r["stores"] for r in records)
    assert sum(r["refresh"] for r in records) >= 2, "the scenarios connected with OAuth"
    stores = list(basetemp.rglob("*.db"))
    assert len(stores) == 3, "--keep-stores keeps one store per scenario"
    raw = _file_bytes(basetemp)
    leaked = sorted({s for r in records for s in r["secrets"] if s.encode() in raw})
    assert leaked == [], f"{len(leaked)} secrets of the mocks' world are in the stores"
    assert not JWT.search(raw) and b"ya29." not in raw, "an access token is in the stores"
    assert raw.count(b"gAAAAA") >= 3, "each store holds its credentials, encrypted"


def test_without_keep_stores_the_run_removes_its_stores(tmp_path: Path) -> None:
    basetemp, records = _run(tmp_path, keep=False, selection="mailbox_credentials")
    assert len(records) == 1 and records[0]["stores"], "the scenario had a store while it ran"
    assert list(basetemp.rglob("*.db*")) == []
    assert [p.name for p in basetemp.iterdir() if p.name.startswith("calharness-stores")] == []
