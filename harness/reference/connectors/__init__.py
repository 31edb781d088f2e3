"""Connectors of the sync core (`harness.sync.connector.Connector`) for Graph, EWS and Google,
built on the reference providers' official clients and credentials: a connector is made from a
signed-in `Provider` and its `Credentials`, and only does I/O."""

from __future__ import annotations

from harness.reference.providers.base import Credentials, Provider
from harness.sync.connector import Connector


def connector_for(provider: Provider, creds: Credentials) -> Connector:
    """The sync connector speaking `provider`'s protocol with `creds`."""
    from harness.reference.providers.exchange_ews import EwsProvider
    from harness.reference.providers.google import GoogleProvider
    from harness.reference.providers.microsoft_graph import GraphProvider

    if isinstance(provider, GraphProvider):
        from harness.reference.connectors.graph import GraphSyncConnector
        return GraphSyncConnector(provider, creds)
    if isinstance(provider, EwsProvider):
        from harness.reference.connectors.ews import EwsSyncConnector
        return EwsSyncConnector(provider, creds)
    if isinstance(provider, GoogleProvider):
        from harness.reference.connectors.google import GoogleSyncConnector
        return GoogleSyncConnector(provider, creds)
    raise TypeError(f"no sync connector for {type(provider).__name__}")


__all__ = ["connector_for"]
