"""The shared conversions between store rows and API models (meetings, status, credentials,
policy levels, contact requests, scheduling grants), and from policy refusals and OAuth error
callbacks to what the integration reports. Pure functions: no store session, no provider."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.api.errors import DriverError
from harness.api.models import ContactRequest, IntegrationStatus, Meeting, SchedulingGrant
from harness.reference import policy
from harness.reference.providers.base import Credentials, MeetingData
from harness.reference.store import (
    AccountRow,
    ContactRequestRow,
    GroupRow,
    IntegrationRow,
    MemberRow,
    SchedulingGrantRow,
)


def aware(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive; they were stored as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- meetings ----------------------------------------------------------------------------------
def meeting(m: MeetingData) -> Meeting:
    """An event as the client view shows it, read from the provider (never from the store)."""
    return Meeting(id=m.provider_id, subject=m.subject, start=aware(m.start), end=aware(m.end),
                   location=m.location, join_url=m.join_url, attendees=list(m.attendees),
                   private=m.private)


# -- the integration ---------------------------------------------------------------------------
def status(row: IntegrationRow) -> IntegrationStatus:
    return IntegrationStatus.model_validate({
        "user": row.user, "state": row.state, "service": row.service,
        "authorize_with": row.authorize_with, "calendar": row.calendar,
        "contacts": row.contacts, "granted_scopes": list(row.granted_scopes or []),
        "setup_by": row.setup_by, "calendar_state": row.calendar_state,
        "contacts_state": row.contacts_state, "message": row.message,
        "desktop_mapi": bool(row.desktop_mapi)})


def credentials(row: IntegrationRow) -> Credentials:
    data = row.credentials or {}
    return Credentials(mode=data.get("mode", "delegated"), blob=data.get("blob"),
                       account_ref=data.get("account_ref"), scopes=list(data.get("scopes", [])))


def store_credentials(row: IntegrationRow, creds: Credentials) -> None:
    row.credentials = {"mode": creds.mode, "blob": creds.blob, "account_ref": creds.account_ref,
                       "scopes": list(creds.scopes)}


def facts(row: IntegrationRow) -> policy.IntegrationFacts:
    return policy.IntegrationFacts(user=row.user, service=row.service,
                                   authorize_with=row.authorize_with, calendar=row.calendar,
                                   contacts=row.contacts, desktop_mapi=bool(row.desktop_mapi))


# -- settings ----------------------------------------------------------------------------------
def levels(account: AccountRow, members: list[MemberRow],
           groups: list[GroupRow]) -> policy.PolicyState:
    return policy.PolicyState(
        account=policy.LevelState(dict(account.settings), frozenset(account.locks or [])),
        groups={g.name: policy.LevelState(dict(g.settings or {}), frozenset(g.locks or []))
                for g in groups},
        membership={m.email: m.group for m in members if m.group},
        users={m.email: policy.LevelState(dict(m.settings or {})) for m in members
               if m.settings},
        members=frozenset(m.email for m in members),
        defaults=policy.DEFAULTS)


# -- contacts and scheduling privilege ---------------------------------------------------------
def contact_request(row: ContactRequestRow) -> ContactRequest:
    return ContactRequest(id=row.id, sender=row.sender, recipient=row.recipient,
                          status=row.status, created_at=aware(row.created_at))  # type: ignore[arg-type]


def grant(row: SchedulingGrantRow) -> SchedulingGrant:
    return SchedulingGrant(owner=row.owner, assignee=row.assignee,
                           manage_private_events=row.manage_private,
                           granted_at=aware(row.granted_at))


# -- what the integration reports --------------------------------------------------------------
def refused(refusal: policy.Refusal) -> DriverError:
    return DriverError(refusal.code, refusal.message)


def error_text(params: dict[str, str]) -> str:
    """The message of an OAuth error callback (`error`, first line of `error_description`)."""
    description = params.get("error_description", "").splitlines()
    return f"{params['error']}: {description[0] if description else ''}".strip()
