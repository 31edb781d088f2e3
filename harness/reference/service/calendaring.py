"""The Web Calendaring Service: bi-directional sync of platform meetings with the user's
calendar, optional and off by default (`bidirectional_sync`, account/group/user with locks).

When on for a user, the meetings they schedule, change or delete in the platform (client, web,
or Schedule For by a delegate) are kept in `platform_meetings` and pushed by the sync core
(`harness.sync.SyncEngine`) through the connector of the user's calendar service; changes made
on the provider to linked events flow back. The store keeps only the sanitized records
(`sync_records`) and the cursor; the engine's retention deletes a record after its event."""

from __future__ import annotations

from collections.abc import Callable

from harness.api.models import SyncRunResult
from harness.reference.providers import Provider
from harness.reference.providers.base import Credentials
from harness.reference.service.acting import Acting
from harness.reference.service.context import Context
from harness.reference.service.settings import Settings
from harness.reference.service.status import Status
from harness.reference.sync_store import SqlPlatform, SqlRecordStore
from harness.sync import (
    Connector,
    ReauthRequired,
    RetryPolicy,
    RoundIncomplete,
    RoundReport,
    SyncEngine,
)

ConnectorFactory = Callable[[str, Provider, Credentials], Connector]


def _graph(provider: Provider, creds: Credentials) -> Connector:
    from harness.reference.connectors.graph import GraphSyncConnector
    return GraphSyncConnector(provider, creds)  # type: ignore[arg-type]


def _ews(provider: Provider, creds: Credentials) -> Connector:
    from harness.reference.connectors.ews import EwsSyncConnector
    return EwsSyncConnector(provider, creds)  # type: ignore[arg-type]


def _google(provider: Provider, creds: Credentials) -> Connector:
    from harness.reference.connectors.google import GoogleSyncConnector
    return GoogleSyncConnector(provider, creds)  # type: ignore[arg-type]


# The integration's service (and, for Office 365, how it is authorized) -> its connector.
CONNECTORS: dict[str, Callable[[Provider, Credentials], Connector]] = {
    "office365/graph": _graph, "office365/ews": _ews, "exchange": _ews, "google": _google,
}


def connector_for(key: str, provider: Provider, creds: Credentials) -> Connector:
    try:
        return CONNECTORS[key](provider, creds)
    except KeyError:
        raise LookupError(f"no sync connector for the calendar service {key!r}") from None


def service_key(service: str, authorize_with: str | None) -> str:
    return f"{service}/{authorize_with or 'graph'}" if service == "office365" else service


class WebCalendaring:
    def __init__(self, ctx: Context, settings: Settings, status: Status, acting: Acting,
                 connectors: ConnectorFactory = connector_for) -> None:
        self.ctx, self.settings, self.status, self.acting = ctx, settings, status, acting
        self.connectors = connectors

    def enabled(self, user: str) -> bool:
        return bool(self.settings.effective_settings(user).settings.bidirectional_sync)

    def run(self, user: str) -> RoundReport | None:
        """One round for the user; None when sync is off or there is nothing to act with (the
        records still obey retention then: nothing is kept past its event)."""
        acting = self.acting.get(user) if self.enabled(user) else None
        if acting is None or acting[2].calendar != "write":
            self.enforce_retention(user)
            return None
        provider, creds, status = acting
        key = service_key(status.service or "", status.authorize_with)
        engine = SyncEngine(self.connectors(key, provider, creds),
                            SqlPlatform(self.ctx.store, user),
                            SqlRecordStore(self.ctx.store, user), sleep=self.ctx.env.sleep,
                            retry=RetryPolicy(attempts=self.ctx.config.max_retries + 1,
                                              max_delay=self.ctx.config.max_retry_wait_s))
        try:
            return engine.run_round(self.ctx.now())
        except ReauthRequired as exc:
            self.status.set_state(user, state="reauth_required",
                                  message=f"calendar sync: {exc}")
            return None
        except RoundIncomplete as exc:
            self.status.set_state(user, message=f"calendar sync: {exc}")
            return exc.report
        finally:
            self.acting.save_credentials(user, creds)

    def run_result(self, user: str) -> SyncRunResult:
        before = self._message(user)
        report = self.run(user)
        if report is None:
            return SyncRunResult(ran=False, message=self._message(user))
        after = self._message(user)
        return SyncRunResult(
            ran=True, full=report.full, created=report.created,
            updated_remote=report.updated_remote, deleted_remote=report.deleted_remote,
            updated_meetings=report.updated_meetings,
            cancelled_meetings=report.cancelled_meetings, linked=report.linked,
            discarded=report.discarded, message=after if after != before else None)

    def _message(self, user: str) -> str | None:
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            return row.message if row is not None else None

    def enforce_retention(self, user: str) -> None:
        """With sync off no round settles links: a record is deleted once its event has ended.
        Only the records that are due are read (the due-time index), not the whole table."""
        from dataclasses import replace

        from harness.sync.planner import live
        from harness.sync.series import series_end

        records = SqlRecordStore(self.ctx.store, user)
        now = self.ctx.now()
        for record in records.due(now).values():
            if record.fields is None or not live(record.fields, now):
                records.drop(record.meeting_id)
            else:  # due early (a series' first end, from before the due index): not yet
                records.put(replace(record, due=series_end(record.fields)))
