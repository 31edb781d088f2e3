"""Contacts: the user's contacts from the calendar service, contacts created from the call
history (Contacts Write), and the platform's own contact requests."""

from __future__ import annotations

import secrets

from harness.api.errors import DriverError
from harness.api.models import CallHistoryEntry, ContactEntry, ContactRequest
from harness.reference import policy
from harness.reference.providers.base import AuthError, ContactData, ProviderError
from harness.reference.service import convert
from harness.reference.service.acting import Acting
from harness.reference.service.context import Context
from harness.reference.service.settings import Settings
from harness.reference.service.status import Status
from harness.reference.store import ContactRequestRow


class Contacts:
    def __init__(self, ctx: Context, settings: Settings, status: Status, acting: Acting) -> None:
        self.ctx, self.settings, self.status, self.acting = ctx, settings, status, acting

    def list_contacts(self, user: str) -> list[ContactEntry]:
        acting = self.acting.get(user)
        if acting is None or acting[2].contacts == "none":
            return []
        provider, creds, _ = acting
        try:
            items = provider.list_contacts(creds)
        except AuthError as exc:
            self.status.auth_failure(user, exc)
            return []
        except ProviderError as exc:
            if not exc.denied:
                raise DriverError("provider_error", str(exc)) from exc
            self.status.set_state(user, contacts_state="denied",
                                  message=f"contacts: the provider refused access ({exc.code}); "
                                          "the granted permissions do not cover contacts")
            return []
        finally:
            self.acting.save_credentials(user, creds)
        self.status.set_state(user, contacts_state="ok")
        return [ContactEntry(id=c.provider_id, display_name=c.display_name, emails=c.emails)
                for c in items]

    def save_contact_from_call(self, user: str, entry: CallHistoryEntry) -> ContactEntry:
        """Contacts Write: the desktop client creates a contact from the call history. Without
        the write permission this is refused and nothing reaches the provider."""
        provider, creds, status = self.acting.require(user)
        if status.contacts != "write":
            raise DriverError("contacts_write_required",
                              "creating contacts from the call history needs the Contacts Write "
                              f"permission; this integration has contacts {status.contacts}")
        email = policy.canonical_email(entry.email)
        if email is None:
            raise DriverError("invalid_email", f"{entry.email!r} is not an email address")
        created = self.acting.write(user, creds, lambda: provider.create_contact(
            creds, ContactData(provider_id="", display_name=entry.display_name,
                               emails=[email])))
        return ContactEntry(id=created.provider_id, display_name=created.display_name,
                            emails=list(created.emails))

    # -- the platform's contact requests -------------------------------------------------------
    def invite_contact(self, user: str, email: str) -> ContactRequest:
        """Invite a contact by email: the platform sends that person a contact request."""
        recipient = policy.canonical_email(email)
        if recipient is None:
            raise DriverError("invalid_email", f"{email.strip()!r} is not an email address")
        with self.ctx.store.session() as s:
            sender = self.settings.member(s, user).email
            if recipient == sender:
                raise DriverError("cannot_invite_self", "a contact request cannot be sent to "
                                                        "yourself")
            if any(r.recipient == recipient and r.sender == sender and r.status == "pending"
                   for r in self.ctx.store.contact_requests(s, sender)):
                raise DriverError("already_requested",
                                  f"a contact request to {recipient} is already pending")
            row = ContactRequestRow(id=secrets.token_hex(8), sender=sender, recipient=recipient,
                                    status="pending", created_at=self.ctx.now())
            s.add(row)
            return convert.contact_request(row)

    def contact_requests(self, user: str) -> list[ContactRequest]:
        with self.ctx.store.session() as s:
            return [convert.contact_request(r) for r in self.ctx.store.contact_requests(s, user)]
