"""The reference implementation's store: SQLAlchemy over SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool


class Base(DeclarativeBase):
    pass


class AccountRow(Base):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(320))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)


class MemberRow(Base):
    __tablename__ = "members"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # owner | admin | member


class SettingsAuditRow(Base):
    __tablename__ = "settings_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(320))
    key: Mapped[str] = mapped_column(String(64))
    old: Mapped[str] = mapped_column(Text)
    new: Mapped[str] = mapped_column(Text)


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
    credentials: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    pending_flow: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    sync_cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    setup_by: Mapped[str] = mapped_column(String(20), default="user_oauth")
    calendar_state: Mapped[str] = mapped_column(String(8), default="off")
    contacts_state: Mapped[str] = mapped_column(String(8), default="off")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
    state: Mapped[str] = mapped_column(String(100))
    flow: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class MeetingRow(Base):
    __tablename__ = "meetings"
    user: Mapped[str] = mapped_column(ForeignKey("integrations.user", ondelete="CASCADE"),
                                      primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    subject: Mapped[str | None] = mapped_column(Text, nullable=True)
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    location: Mapped[str | None] = mapped_column(Text, nullable=True)
    join_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    change_key: Mapped[str | None] = mapped_column(String(200), nullable=True)


def _engine(url: str) -> Engine:
    if url in ("sqlite://", "sqlite:///:memory:"):
        # One shared in-memory database for every connection of this engine.
        return create_engine(url, connect_args={"check_same_thread": False},
                             poolclass=StaticPool)
    return create_engine(url, pool_pre_ping=True)


class Store:
    def __init__(self, url: str = "sqlite://") -> None:
        self.engine = _engine(url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def reset(self) -> None:
        Base.metadata.drop_all(self.engine)
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- account -------------------------------------------------------------------------------
    def account(self, session: Session) -> AccountRow | None:
        return session.get(AccountRow, 1)

    def role_of(self, session: Session, email: str) -> str | None:
        member = session.get(MemberRow, email.lower())
        return member.role if member else None

    def audit_setting(self, session: Session, actor: str, key: str, old: Any, new: Any) -> None:
        session.add(SettingsAuditRow(at=datetime.now(UTC), actor=actor, key=key,
                                     old=json.dumps(old), new=json.dumps(new)))

    # -- integrations --------------------------------------------------------------------------
    def integration(self, session: Session, user: str) -> IntegrationRow | None:
        return session.get(IntegrationRow, user.lower())

    def meetings(self, session: Session, user: str, start: datetime,
                 end: datetime) -> list[MeetingRow]:
        stmt = (select(MeetingRow)
                .where(MeetingRow.user == user.lower(), MeetingRow.start < end,
                       MeetingRow.end > start)
                .order_by(MeetingRow.start, MeetingRow.provider_id))
        return list(session.scalars(stmt))

    def clear_meetings(self, session: Session, user: str) -> None:
        session.execute(delete(MeetingRow).where(MeetingRow.user == user.lower()))
