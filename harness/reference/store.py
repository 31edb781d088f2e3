"""The reference implementation's store: SQLAlchemy over SQLite by default, PostgreSQL by URL.

What lets the integration act for a user (OAuth token caches with refresh and access tokens, an
on-premises mailbox password, PKCE verifiers and the state of flows in progress) is encrypted
with Fernet under the store's key before it reaches the database, transparently for the code
that reads and writes rows: the `Encrypted*` column types below. The key comes from the
configuration (`ReferenceConfig.store_key`) or, when none is given, is generated once per run
and never written anywhere, so a store left behind holds nothing usable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    select,
    text,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator


class StoreKeyError(RuntimeError):
    """Encrypted columns used without the store's key, or written under another key."""


@lru_cache(maxsize=1)
def run_key() -> bytes:
    """This run's store key when the configuration names none (kept in memory only)."""
    return Fernet.generate_key()


def fernet(key: str | bytes) -> Fernet:
    """The cipher for a Fernet key (url-safe base64 of 32 bytes); ValueError otherwise."""
    try:
        return Fernet(key)
    except (ValueError, TypeError) as exc:
        raise ValueError("a store key is a Fernet key: url-safe base64 of 32 random bytes "
                         "(Fernet.generate_key())") from exc


# The cipher of the store whose session is running; column types have no other way to reach it.
_CIPHER: ContextVar[Fernet | None] = ContextVar("calharness_store_cipher", default=None)


def _cipher() -> Fernet:
    cipher = _CIPHER.get()
    if cipher is None:
        raise StoreKeyError("encrypted columns are read and written inside Store.session()")
    return cipher


class EncryptedText(TypeDecorator[str]):
    """A string stored as a Fernet token (AES-128-CBC and HMAC-SHA256) under the store's key."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _cipher().encrypt(value.encode("utf-8")).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            return _cipher().decrypt(value.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise StoreKeyError("the store holds secrets written under another key "
                                "(or altered): give the key it was written with") from None


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored encrypted, as `EncryptedText` of its JSON text."""

    impl = Text
    cache_ok = True
    _text = EncryptedText()

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self._text.process_bind_param(json.dumps(value, separators=(",", ":")), dialect)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        text = self._text.process_result_value(value, dialect)
        return None if text is None else json.loads(text)


class Base(DeclarativeBase):
    pass


class AccountRow(Base):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(320))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)  # every account-level value
    locks: Mapped[list[str]] = mapped_column(JSON, default=list)  # locked for groups and users


class MemberRow(Base):
    __tablename__ = "members"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # owner | admin | member
    group: Mapped[str | None] = mapped_column(String(120), nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # user-level values
    # Whether the member's last sign-in at Microsoft (their own integration, an authorization
    # for the company) showed an Office 365 administrator role; None: not known yet.
    office365_admin: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class GroupRow(Base):
    __tablename__ = "groups"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # overrides only
    locks: Mapped[list[str]] = mapped_column(JSON, default=list)


class SettingsAuditRow(Base):
    __tablename__ = "settings_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(320))
    key: Mapped[str] = mapped_column(String(64))
    old: Mapped[str] = mapped_column(Text)
    new: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(8), default="account")
    target: Mapped[str | None] = mapped_column(String(320), nullable=True)
    kind: Mapped[str] = mapped_column(String(8), default="value")  # value | lock


class SignInRow(Base):
    __tablename__ = "sign_ins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(String(320), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    method: Mapped[str] = mapped_column(String(10))
    platform: Mapped[str] = mapped_column(String(10))
    client_version: Mapped[str] = mapped_column(String(40))
    prompt: Mapped[str] = mapped_column(String(24))


class ContactRequestRow(Base):
    """The platform's own contact requests ("Invite a Zoom contact"), not the provider's."""

    __tablename__ = "contact_requests"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sender: Mapped[str] = mapped_column(String(320), index=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SchedulingGrantRow(Base):
    __tablename__ = "scheduling_grants"
    owner: Mapped[str] = mapped_column(String(320), primary_key=True)
    assignee: Mapped[str] = mapped_column(String(320), primary_key=True)
    manage_private: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IntegrationRow(Base):
    __tablename__ = "integrations"
    user: Mapped[str] = mapped_column(String(320), primary_key=True)
    service: Mapped[str] = mapped_column(String(16))
    authorize_with: Mapped[str | None] = mapped_column(String(8), nullable=True)
    calendar: Mapped[str] = mapped_column(String(8))
    contacts: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    granted_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    tenant_id: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # Provider-specific credentials (e.g. an MSAL token cache) with mode and account reference.
    credentials: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, nullable=True)
    pending_flow: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, nullable=True)
    sync_cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Where the sync round read the platform's change feed up to (`harness.sync.FeedState`).
    sync_feed: Mapped[str | None] = mapped_column(Text, nullable=True)
    setup_by: Mapped[str] = mapped_column(String(20), default="user_oauth")
    calendar_state: Mapped[str] = mapped_column(String(8), default="off")
    contacts_state: Mapped[str] = mapped_column(String(8), default="off")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    desktop_mapi: Mapped[bool] = mapped_column(Boolean, default=False)


class TenantConsentRow(Base):
    """The Office 365 admin's consent on behalf of a tenant, as the integration recorded it."""

    __tablename__ = "tenant_consents"
    tenant_id: Mapped[str] = mapped_column(String(320), primary_key=True)
    mode: Mapped[str] = mapped_column(String(20))  # user_oauth | admin_application
    admin: Mapped[str] = mapped_column(String(320))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PendingConsentRow(Base):
    __tablename__ = "pending_admin_consents"
    actor: Mapped[str] = mapped_column(String(320), primary_key=True)
    mode: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(EncryptedText)
    flow: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, nullable=True)


class PlatformMeetingRow(Base):
    """A meeting the platform holds (scheduled in the client, the web, or by a delegate) while
    bi-directional sync is on: the platform's own data, what the sync core pushes."""

    __tablename__ = "platform_meetings"
    # What enters the stored window between two rounds: meetings of an owner by start time.
    __table_args__ = (Index("ix_platform_meetings_owner_start", "owner", "start"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(320), index=True)  # whose calendar it lands on
    organizer: Mapped[str] = mapped_column(String(320))
    organizer_id: Mapped[str] = mapped_column(String(64))
    scheduled_by: Mapped[str] = mapped_column(String(320))  # the owner, or their delegate
    topic: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_zone: Mapped[str] = mapped_column(String(64))
    recurrence: Mapped[str | None] = mapped_column(Text, nullable=True)
    join_url: Mapped[str] = mapped_column(Text)
    private: Mapped[bool] = mapped_column(Boolean)


class SyncRecordRow(Base):
    """The Web Calendaring Service's sanitized record of one link (meeting <-> provider event):
    only the documents' fields (description, organizer, topic, times, recurrence info,
    organizerId), and those only while the event is within the stored window, plus bookkeeping
    (ids, etag, digest of the agreed values, pending create key). Deleted after the event."""

    __tablename__ = "sync_records"
    # A round reads records by the events the provider reported and by due time (the end-time
    # index retention reads), never the whole table.
    __table_args__ = (Index("ix_sync_records_event", "user", "event_id"),
                      Index("ix_sync_records_due", "user", "due_at"))
    user: Mapped[str] = mapped_column(ForeignKey("integrations.user", ondelete="CASCADE"),
                                      primary_key=True)
    meeting_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    organizer: Mapped[str | None] = mapped_column(String(320), nullable=True)
    topic: Mapped[str | None] = mapped_column(Text, nullable=True)
    start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recurrence: Mapped[str | None] = mapped_column(Text, nullable=True)
    organizer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(400), nullable=True)
    etag: Mapped[str | None] = mapped_column(String(400), nullable=True)
    pending_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Bookkeeping: when the record must be looked at again (its event's end while it holds
    # content; kept when retention strips the content so the next round settles the link).
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PlatformMeetingChangeRow(Base):
    """The platform's change feed: one row per write to a platform meeting (scheduled,
    changed, deleted), in commit order for SQLite (its writers are serialized). Every ORM write
    to `PlatformMeetingRow` adds one (a session listener), so no writer can forget to."""

    __tablename__ = "platform_meeting_changes"
    __table_args__ = (Index("ix_platform_meeting_changes_owner_seq", "owner", "seq"),
                      {"sqlite_autoincrement": True})  # a seq is never reused
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(320))
    meeting_id: Mapped[str] = mapped_column(String(64))


def _log_meeting_writes(session: Session, _context: object, _instances: object) -> None:
    """Before each flush: a feed row for every platform meeting added, changed or deleted."""
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, PlatformMeetingRow) and (
                row in session.new or row in session.deleted or session.is_modified(row)):
            session.add(PlatformMeetingChangeRow(owner=row.owner, meeting_id=row.id))


def _engine(url: str) -> Engine:
    if url in ("sqlite://", "sqlite:///:memory:"):
        # One shared in-memory database for every connection of this engine.
        return create_engine(url, connect_args={"check_same_thread": False},
                             poolclass=StaticPool)
    return create_engine(url, pool_pre_ping=True)


class Store:
    def __init__(self, url: str = "sqlite://", key: str | bytes | None = None) -> None:
        self.engine = _engine(url)
        self._migrate()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", _log_meeting_writes)
        self._cipher = fernet(key or run_key())

    @contextmanager
    def session(self) -> Iterator[Session]:
        # The cipher is current until the commit that leaves `begin()` has flushed.
        token = _CIPHER.set(self._cipher)
        try:
            with self._sessions.begin() as session:
                yield session
        finally:
            _CIPHER.reset(token)

    def _migrate(self) -> None:
        from harness.reference.migrations import upgrade

        with self.engine.begin() as connection:
            upgrade(connection)

    def reset(self) -> None:
        with self.engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        self._migrate()

    def close(self) -> None:
        self.engine.dispose()

    # -- account -------------------------------------------------------------------------------
    def account(self, session: Session) -> AccountRow | None:
        return session.get(AccountRow, 1)

    def role_of(self, session: Session, email: str) -> str | None:
        member = session.get(MemberRow, email.lower())
        return member.role if member else None

    def note_office365_admin(self, session: Session, email: str, admin: bool) -> None:
        """What a member's sign-in at Microsoft showed of their role (the latest one wins: a
        role taken away in Entra ID counts from their next sign-in)."""
        member = session.get(MemberRow, email.lower())
        if member is not None:
            member.office365_admin = admin

    def audit_setting(self, session: Session, actor: str, key: str, old: Any, new: Any, *,
                      level: str = "account", target: str | None = None,
                      kind: str = "value") -> None:
        session.add(SettingsAuditRow(at=datetime.now(UTC), actor=actor.lower(), key=key,
                                     old=json.dumps(old), new=json.dumps(new), level=level,
                                     target=target, kind=kind))

    def settings_audit(self, session: Session) -> list[SettingsAuditRow]:
        return list(session.scalars(select(SettingsAuditRow).order_by(SettingsAuditRow.id)))

    def members(self, session: Session) -> list[MemberRow]:
        return list(session.scalars(select(MemberRow).order_by(MemberRow.email)))

    def groups(self, session: Session) -> list[GroupRow]:
        return list(session.scalars(select(GroupRow).order_by(GroupRow.name)))

    # -- sign-ins, contact requests, scheduling privileges ------------------------------------
    def sign_in_count(self, session: Session, user: str) -> int:
        rows = session.scalars(select(SignInRow.id).where(SignInRow.user == user.lower()))
        return len(list(rows))

    def contact_requests(self, session: Session, user: str) -> list[ContactRequestRow]:
        who = user.lower()
        stmt = (select(ContactRequestRow)
                .where((ContactRequestRow.sender == who) | (ContactRequestRow.recipient == who))
                .order_by(ContactRequestRow.created_at, ContactRequestRow.id))
        return list(session.scalars(stmt))

    def scheduling_grants(self, session: Session, user: str) -> list[SchedulingGrantRow]:
        who = user.lower()
        stmt = (select(SchedulingGrantRow)
                .where((SchedulingGrantRow.owner == who) | (SchedulingGrantRow.assignee == who))
                .order_by(SchedulingGrantRow.owner, SchedulingGrantRow.assignee))
        return list(session.scalars(stmt))

    # -- integrations --------------------------------------------------------------------------
    def integration(self, session: Session, user: str) -> IntegrationRow | None:
        return session.get(IntegrationRow, user.lower())

    def sync_records(self, session: Session, user: str) -> list[SyncRecordRow]:
        stmt = (select(SyncRecordRow).where(SyncRecordRow.user == user.lower())
                .order_by(SyncRecordRow.meeting_id))
        return list(session.scalars(stmt))

    def platform_meetings(self, session: Session, owner: str) -> list[PlatformMeetingRow]:
        stmt = (select(PlatformMeetingRow).where(PlatformMeetingRow.owner == owner.lower())
                .order_by(PlatformMeetingRow.start, PlatformMeetingRow.id))
        return list(session.scalars(stmt))

    def clear_sync(self, session: Session, user: str) -> None:
        """Another calendar (or none): its links and cursor mean nothing any more."""
        session.execute(delete(SyncRecordRow).where(SyncRecordRow.user == user.lower()))
        row = session.get(IntegrationRow, user.lower())
        if row is not None:
            row.sync_feed = None
