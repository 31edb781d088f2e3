"""The platform's contact requests (CONTACT-01) and Schedule For (SCHED-01)."""

from harness.reference.mutants.core import mutant

STORE = "harness.reference.store"
CONTACTS = "harness.reference.service.contacts"
DELEGATES = "harness.reference.service.delegates"


def _requests_sent_only(original):
    """A user's contact requests are looked up by sender only: the invited person never sees
    the request sent to them."""

    def contact_requests(self, session, user):
        return [r for r in original(self, session, user) if r.sender == user.lower()]

    return contact_requests


def _request_accepted_at_once(original):
    """An invitation is recorded as accepted at once (no request for the contact to answer)."""
    from harness.reference.store import ContactRequestRow

    def invite_contact(self, user, email):
        request = original(self, user, email)
        with self.ctx.store.session() as s:
            row = s.get(ContactRequestRow, request.id)
            if row is not None:
                row.status = "accepted"
        return request.model_copy(update={"status": "accepted"})

    return invite_contact


def _lands_on_the_delegate(original):
    """Schedule For puts the meeting on the calendar of the user who scheduled it."""

    def schedule_meeting_for(self, actor, owner, request):
        self._privilege(owner, actor)
        return self.meetings.schedule_meeting(actor, request)

    return schedule_meeting_for


def _privilege_not_checked(original):
    """Schedule For does not check the owner's scheduling privilege (only viewing does)."""

    def schedule_meeting_for(self, actor, owner, request):
        return self.meetings.schedule_meeting(owner, request, scheduled_by=actor)

    return schedule_meeting_for


MUTANTS = [
    mutant(
        "contact-request-invisible-to-recipient",
        "CONTACT-01",
        "contact requests are looked up by sender only, so the invited person never sees the "
        "request",
        (f"{STORE}:Store.contact_requests", _requests_sent_only),
    ),
    mutant(
        "contact-request-accepted-at-once",
        "CONTACT-01",
        "inviting a contact by email adds them at once instead of sending them a request",
        (f"{CONTACTS}:Contacts.invite_contact", _request_accepted_at_once),
    ),
    mutant(
        "schedule-for-lands-on-delegate",
        "SCHED-01",
        "Schedule For puts the meeting on the scheduling user's calendar, not on the calendar "
        "of the user it is scheduled for",
        (f"{DELEGATES}:Delegates.schedule_meeting_for", _lands_on_the_delegate),
    ),
    mutant(
        "schedule-for-without-privilege",
        "SCHED-01",
        "Schedule For does not check that the owner gave the scheduling privilege",
        (f"{DELEGATES}:Delegates.schedule_meeting_for", _privilege_not_checked),
    ),
]
