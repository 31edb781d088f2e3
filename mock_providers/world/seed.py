"""Deterministic world seeding: one seed drives every name, id, password and event.

Tenants and Google domains carry stable *keys* ("contoso", "fabrikam", "workspace") so features can
name them whatever the seed; everything else (names, domains, ids, secrets) comes from faker.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faker import Faker

from mock_providers.world.collection import Collection
from mock_providers.world.model import (
    Attendee,
    Calendar,
    Contact,
    ContactFolder,
    Event,
    GoogleClient,
    GoogleDomain,
    GoogleUser,
    Mailbox,
    MsApp,
    MsTenant,
    MsUser,
)
from mock_providers.world.recurrence import (
    OccurrenceChange,
    Pattern,
    Range,
    Recurrence,
    instance_at_index,
)
from mock_providers.world.world import World

# The integration under test redirects here; `.invalid` never resolves, so nothing can leave the
# machine even if a client followed it. The harness's user agent stops at it.
MS_REDIRECT_URI = "https://calharness.invalid/oauth/microsoft/callback"
GOOGLE_REDIRECT_URI = "https://calharness.invalid/oauth/google/callback"
PUBLIC_CLIENT_REDIRECT = "http://localhost"


@dataclass(frozen=True, slots=True)
class TenantProfile:
    key: str
    users: int = 4
    # Users on the edges of the allowed-domain rule, after the others (see _edge_users).
    edge_users: bool = False
    users_may_consent: bool = True
    granted_roles: tuple[str, ...] = ("Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read.All")
    exchange: str = "online"
    exchange_build: str = "15.20.8207.17"


@dataclass(frozen=True, slots=True)
class WorldProfile:
    tenants: tuple[TenantProfile, ...] = (
        TenantProfile("contoso", edge_users=True),
        # User consent disabled and no admin consent yet: the "Need admin approval" path.
        TenantProfile("fabrikam", users=3, users_may_consent=False, granted_roles=(),
                      exchange="hybrid", exchange_build="15.1.466.34"),
    )
    google_users: int = 3
    events_per_user: int = 8
    contacts_per_user: int = 6


class _Ids:
    """uuid4-shaped ids from the seeded RNG, so a seed reproduces every id."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, n: int = 32) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self._rng.choice(alphabet) for _ in range(n))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())[:20] or "tenant"


def change_key(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:20]


def _password(ids: _Ids) -> str:
    # Meets Entra's complexity rules and is safe to print in JSON and type into forms.
    return f"Cal-{ids.token(10)}-9x"


# Every sensitivity a calendar event can carry, by the event's position in a seeded calendar
# (drawn without the faker, so adding a value moves nothing else): Graph and EWS normal,
# personal, private, confidential; Google default, private, confidential and public (a normal
# event whose visibility says so).
_SENSITIVITY_BY_INDEX = {1: "private", 2: "confidential", 3: "personal", 5: "private"}
_GOOGLE_PUBLIC_INDEX = 4


def _events(fake: Faker, ids: _Ids, owner: MsUser | GoogleUser, colleagues: list[str],
            n: int, now: datetime, world: World) -> Collection[Event]:
    events: Collection[Event] = Collection(world.seq)
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    email = owner.upn if isinstance(owner, MsUser) else owner.email
    name = owner.display_name if isinstance(owner, MsUser) else owner.name
    for i in range(n):
        start = day0 + timedelta(days=fake.random_int(-2, 9), hours=fake.random_int(8, 17),
                                 minutes=fake.random_element((0, 30)))
        end = start + timedelta(minutes=fake.random_element((30, 45, 60, 90)))
        online = i % 3 == 0
        event_id = ids.uuid()
        attendees = [Attendee(email=a, name=a.split("@")[0].title())
                     for a in fake.random_sample(colleagues, min(2, len(colleagues)))]
        event = Event(
            id=event_id,
            subject=fake.catch_phrase(),
            start=start,
            end=end,
            created=now - timedelta(days=14),
            last_modified=now - timedelta(days=1),
            ical_uid=f"{event_id}@calharness",
            change_key=change_key(event_id, 0),
            body=fake.paragraph(nb_sentences=2),
            location=fake.city() if not online else "",
            attendees=attendees,
            organizer_email=email,
            organizer_name=name,
            sensitivity=_SENSITIVITY_BY_INDEX.get(i % 8, "normal"),  # type: ignore[arg-type]
            is_online_meeting=online,
            online_meeting_provider="teamsForBusiness" if online else "unknown",
            join_url=f"https://teams.calharness.invalid/l/meetup-join/{ids.token(16)}" if online
            else None,
        )
        if isinstance(owner, GoogleUser) and i % 8 == _GOOGLE_PUBLIC_INDEX:
            event.extra["visibility"] = "public"
        events.put(event.id, event, world.next_seq())
    return events


def _contacts(fake: Faker, ids: _Ids, n: int, now: datetime, world: World) -> Collection[Contact]:
    contacts: Collection[Contact] = Collection(world.seq)
    for _ in range(n):
        first, last = fake.first_name(), fake.last_name()
        contact_id = ids.uuid()
        contact = Contact(
            id=contact_id,
            display_name=f"{first} {last}",
            given_name=first,
            surname=last,
            created=now - timedelta(days=30),
            last_modified=now - timedelta(days=2),
            change_key=change_key(contact_id, 0),
            emails=[f"{first}.{last}@{fake.domain_name()}".lower()],
            business_phones=[fake.numerify("+1 425 555 ####")],
            company_name=fake.company(),
            job_title=fake.job(),
        )
        contacts.put(contact.id, contact, world.next_seq())
    return contacts


def _tenant(world: World, fake: Faker, ids: _Ids, profile: TenantProfile,
            world_profile: WorldProfile, now: datetime) -> MsTenant:
    company = fake.company()
    slug = _slug(company.split()[0]) + profile.key[:3]
    tenant_id = ids.uuid()
    domains = [f"{slug}.onmicrosoft.com", f"{slug}.example.com"]
    people = [(fake.first_name(), fake.last_name()) for _ in range(profile.users)]
    upns = [f"{first}.{last}@{domains[1]}".lower() for first, last in people]
    users: dict[str, MsUser] = {}
    for index, ((first, last), upn) in enumerate(zip(people, upns, strict=True)):
        user = MsUser(
            id=ids.uuid(), upn=upn, display_name=f"{first} {last}", given_name=first,
            surname=last, password=_password(ids), tenant_id=tenant_id,
            mailbox=Mailbox(calendars={}, contact_folders={}), is_admin=index == 0,
        )
        calendar = Calendar(
            id=ids.uuid(), name="Calendar", owner_email=upn, is_default=True,
            events=_events(fake, ids, user, [u for u in upns if u != upn],
                           world_profile.events_per_user, now, world),
        )
        folder = ContactFolder(id=ids.uuid(), name="Contacts",
                               contacts=_contacts(fake, ids, world_profile.contacts_per_user,
                                                  now, world))
        user.mailbox.calendars[calendar.id] = calendar
        user.mailbox.contact_folders[folder.id] = folder
        users[user.id] = user
    if profile.edge_users:
        domains += _edge_users(world, users, domains[1], tenant_id, world_profile, now)
    confidential = MsApp(
        client_id=ids.uuid(), display_name="Meeting platform calendar integration",
        client_secret=f"{ids.token(3)}8Q~{ids.token(34)}", redirect_uris=[MS_REDIRECT_URI],
        granted_roles=set(profile.granted_roles),
    )
    public = MsApp(client_id=ids.uuid(), display_name="Meeting platform desktop client",
                   client_secret=None, redirect_uris=[PUBLIC_CLIENT_REDIRECT])
    return MsTenant(
        id=tenant_id, key=profile.key, name=company, domains=domains, users=users,
        apps={confidential.client_id: confidential, public.client_id: public},
        users_may_consent=profile.users_may_consent, exchange=profile.exchange,  # type: ignore[arg-type]
        exchange_build=profile.exchange_build,
    )


# People at the edges of the allowed-domain rule, in every tenant that has them (after its other
# users, so "first/second/third member" keep meaning the same people): an address on a look-alike
# domain that ends with the tenant's domain (evil<domain>), one on an IDN homograph of it (a
# Cyrillic "о" for the first "o", as punycode), and one whose address is in mixed case on the
# tenant's own domain. Their names are fixed and their ids, passwords and calendars come from a
# generator of their own, so no other seeded value moves.
EDGE_PEOPLE = (("Eve", "Lookalike", "lookalike"), ("Ivan", "Homograph", "homograph"),
               ("Mia", "Case", "mixed-case"))


def homograph(domain: str) -> str:
    """`domain` with its first Latin "o" written as the Cyrillic "о", in A-label form."""
    label, _, rest = domain.partition(".")
    spoofed = label.replace("o", "\u043e", 1) if "o" in label else "\u0430" + label[1:]
    return f"{spoofed.encode('idna').decode('ascii')}.{rest}"


def _edge_users(world: World, users: dict[str, MsUser], domain: str, tenant_id: str,
                world_profile: WorldProfile, now: datetime) -> list[str]:
    rng = random.Random(f"edges|{tenant_id}")
    ids = _Ids(rng)
    fake = Faker("en_US")
    fake.seed_instance(rng.getrandbits(32))
    addresses = {"lookalike": f"evil{domain}", "homograph": homograph(domain),
                 "mixed-case": domain}
    colleagues = [u.upn for u in users.values()]
    for first, last, kind in EDGE_PEOPLE:
        upn = f"{first.lower()}.{last.lower()}@{addresses[kind]}"
        if kind == "mixed-case":
            upn = f"{first}.{last}@{domain.title()}"
        user = MsUser(id=ids.uuid(), upn=upn, display_name=f"{first} {last}", given_name=first,
                      surname=last, password=_password(ids), tenant_id=tenant_id,
                      mailbox=Mailbox(calendars={}, contact_folders={}))
        calendar = Calendar(id=ids.uuid(), name="Calendar", owner_email=upn, is_default=True,
                            events=_events(fake, ids, user, colleagues,
                                           world_profile.events_per_user, now, world))
        folder = ContactFolder(id=ids.uuid(), name="Contacts",
                               contacts=_contacts(fake, ids, 2, now, world))
        user.mailbox.calendars[calendar.id] = calendar
        user.mailbox.contact_folders[folder.id] = folder
        users[user.id] = user
    return [addresses["lookalike"], addresses["homograph"]]


def build_world(seed: int, profile: WorldProfile | None = None,
                world: World | None = None) -> World:
    """A fresh world for `seed` (or `world` refilled in place, keeping its clock and audit log)."""
    profile = profile or WorldProfile()
    fake = Faker("en_US")
    fake.seed_instance(seed)
    ids = _Ids(random.Random(seed))
    world = world or World(seed)
    now = world.clock.now().astimezone(UTC)
    for tenant_profile in profile.tenants:
        world.add_tenant(_tenant(world, fake, ids, tenant_profile, profile, now))
    gdomain = GoogleDomain(domain=f"{_slug(fake.company().split()[0])}-workspace.example.com",
                           users={})
    emails: list[str] = []
    for _ in range(profile.google_users):
        first, last = fake.first_name(), fake.last_name()
        emails.append(f"{first}.{last}@{gdomain.domain}".lower())
    for email in emails:
        name = email.split("@")[0].replace(".", " ").title()
        user = GoogleUser(email=email, name=name, password=_password(ids), calendars={},
                          contacts=Collection(world.seq))
        user.calendars[email] = Calendar(
            id=email, name=name, owner_email=email, is_default=True,
            events=_events(fake, ids, user, [e for e in emails if e != email],
                           profile.events_per_user, now, world))
        user.contacts = _contacts(fake, ids, profile.contacts_per_user, now, world)
        gdomain.users[email] = user
    world.add_google_domain(gdomain)
    client = GoogleClient(client_id=f"{ids.token(12).lower()}-{ids.token(20).lower()}"
                          ".apps.googleusercontent.com",
                          client_secret=f"GOCSPX-{ids.token(28)}",
                          redirect_uris=[GOOGLE_REDIRECT_URI])
    world.google_clients[client.client_id] = client
    _recurring(world, fake, ids, now)
    _secondary_calendars(world, fake, ids, now)
    return world


SECONDARY_EVENTS = 3
MS_SECONDARY_NAME = "Team"
GOOGLE_SECONDARY_NAME = "Projects"


def _secondary_calendars(world: World, fake: Faker, ids: _Ids, now: datetime) -> None:
    """A second calendar for every mailbox and Google user ("Team" in Microsoft mailboxes, a
    secondary "Projects" calendar in Google's calendar list), with a few events of its own: what
    the user picks from under "Sync Zoom Meetings from calendars". Drawn last, from the same
    seeded generators, so no value seeded before it moves."""
    for tenant in world.ms_tenants.values():
        for user in tenant.users.values():
            colleagues = [u.upn for u in tenant.users.values() if u is not user]
            calendar = Calendar(id=ids.uuid(), name=MS_SECONDARY_NAME, owner_email=user.upn,
                                is_default=False,
                                events=_events(fake, ids, user, colleagues, SECONDARY_EVENTS,
                                               now, world))
            user.mailbox.calendars[calendar.id] = calendar
    for domain in world.google_domains.values():
        for guser in domain.users.values():
            others = [e for e in domain.users if e != guser.email]
            # Google names a secondary calendar `<opaque>@group.calendar.google.com`.
            calendar_id = f"{ids.token(26).lower()}@group.calendar.google.com"
            guser.calendars[calendar_id] = Calendar(
                id=calendar_id, name=GOOGLE_SECONDARY_NAME, owner_email=guser.email,
                is_default=False,
                events=_events(fake, ids, guser, others, SECONDARY_EVENTS, now, world))


def _recurring(world: World, fake: Faker, ids: _Ids, now: datetime) -> None:
    """Two recurring meetings in the calendar of contoso's admin (whose calendar no feature
    compares against a meeting list), drawn last so no other seeded value moves: a weekly one
    (Europe/Berlin, 10:00 local, 12 occurrences from three weeks ago) whose 4th occurrence is
    moved a day later with a new subject and whose 5th is cancelled, and an open-ended monthly
    one."""
    tenant = next((t for t in world.ms_tenants.values() if t.key == "contoso"), None)
    if tenant is None or not tenant.users:
        return
    owner = next(u for u in tenant.users.values() if u.is_admin)
    colleagues = sorted(u.upn for u in tenant.users.values() if u is not owner)
    calendar = owner.mailbox.default_calendar
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    weekly_day = (day0 - timedelta(days=21)).date()
    monthly_day = (day0 - timedelta(days=45)).date()
    specs = (
        ("Europe/Berlin", 10, 45,
         Recurrence(Pattern("weekly", 1, (_WEEKDAYS[weekly_day.weekday()],)),
                    Range("numbered", weekly_day, number_of_occurrences=12,
                          time_zone="Europe/Berlin"))),
        ("UTC", 15, 60,
         Recurrence(Pattern("absoluteMonthly", 1, day_of_month=min(monthly_day.day, 28)),
                    Range("noEnd", monthly_day.replace(day=min(monthly_day.day, 28)),
                          time_zone="UTC"))),
    )
    for n, (zone_name, hour, minutes, rec) in enumerate(specs):
        zone = rec.zone
        local = datetime(rec.range.start_date.year, rec.range.start_date.month,
                         rec.range.start_date.day, hour, tzinfo=zone)
        start = local.astimezone(UTC)
        event_id = ids.uuid()
        event = Event(
            id=event_id, subject=fake.catch_phrase(), start=start,
            end=start + timedelta(minutes=minutes), created=now - timedelta(days=30),
            last_modified=now - timedelta(days=1), ical_uid=f"{event_id}@calharness",
            change_key=change_key(event_id, 0), time_zone=zone_name,
            body=fake.paragraph(nb_sentences=2), location=fake.city(),
            attendees=[Attendee(email=a, name=a.split("@")[0].title()) for a in colleagues[:2]],
            organizer_email=owner.upn, organizer_name=owner.display_name, recurrence=rec)
        if n == 0:
            moved = instance_at_index(rec, start, 4)
            cancelled = instance_at_index(rec, start, 5)
            assert moved is not None and cancelled is not None
            new_start = moved + timedelta(days=1, hours=4)
            event.exceptions.modified[moved] = OccurrenceChange(
                start=new_start, end=new_start + timedelta(minutes=minutes),
                subject=f"{event.subject} (moved)", last_modified=now - timedelta(days=1),
                change_key=change_key(event_id, moved.isoformat(), 0))
            event.exceptions.cancelled.add(cancelled)
        calendar.events.put(event.id, event, world.next_seq())


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
