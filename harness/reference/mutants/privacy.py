"""What an assistant sees of private events (PRIV-01..03): each hidden field, one by one."""

from harness.api.models import Meeting
from harness.reference.mutants.core import mutant

P = "harness.reference.policy.privacy"


def _keeping(field: str):
    def time_slot_only(meeting: Meeting) -> Meeting:
        hidden = Meeting(id=meeting.id, subject=None, start=meeting.start, end=meeting.end,
                         location=None, join_url=None, attendees=[], private=True)
        return hidden.model_copy(update={field: getattr(meeting, field)})
    return time_slot_only


MUTANTS = [
    mutant(f"privacy-leaks-{field.replace('_', '-')}", reqs,
           f"an assistant without private access sees the private event's {field}",
           (f"{P}:time_slot_only", lambda _, f=field: _keeping(f)))
    for field, reqs in (("subject", ("PRIV-02", "PRIV-03")),
                        ("join_url", ("PRIV-02", "PRIV-03")),
                        ("attendees", ("PRIV-02", "PRIV-03")),
                        ("location", ("PRIV-03",)))
] + [
    mutant("privacy-manage-flag-ignored", "PRIV-01",
           "trusting an assistant to manage private events changes nothing: still a time slot",
           (f"{P}:assistant_view", lambda orig: lambda meetings, manage: orig(meetings, False))),
    mutant("privacy-private-flag-dropped", ("PRIV-02", "PRIV-03"),
           "events marked private are shown whole to assistants (the private flag is ignored)",
           (f"{P}:assistant_view", lambda orig: lambda meetings, manage: list(meetings))),
]
