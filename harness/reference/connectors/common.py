"""What the three connectors share: the join-link convention, plain-text descriptions, the
idempotency key's encodings, and the mapping of token failures onto the sync core's errors.

Join-link convention (the same on Graph, EWS and Google, so one rule round-trips everywhere):
the platform's join link (`https://meet.calharness.test/j/<meeting id>`) is written into the
event's **location** and as the **last line of its body/description**
(`Join the meeting: <link>`). On read, the link is taken from (in order) Graph's
`onlineMeeting.joinUrl`, the location, then the body; the description is the body without that
last line, as plain text (an HTML body is reduced to its text). Location is not a synced field,
so a user editing the body alone keeps the link, and a user editing the location alone does
too. The link names the meeting (`/j/<id>`), which is how the planner recognises an event it
did not create.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from queue import Empty, Full, Queue
from threading import Event, Thread
from typing import Any, TypeVar

from lxml import html as lxml_html

from harness.reference.providers.base import AuthError
from harness.sync.connector import ReauthRequired, Transient

JOIN_PREFIX = "Join the meeting: "
_STOP = re.compile(r"[\s\"'<>]")
_MEETING_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
T = TypeVar("T")
P = TypeVar("P")


def compose_body(description: str, join_url: str) -> str:
    line = JOIN_PREFIX + join_url
    return f"{description}\n\n{line}" if description else line


def find_link(*texts: str | None) -> str | None:
    """The first join link (`https://…/j/<id>`) in the texts. Called for every event of a sync
    round, so it looks for `/j/` first and only then at what surrounds it (a regular
    expression scanning every body costs more than parsing the page)."""
    for text in texts:
        if not text:
            continue
        at = text.find("/j/")
        while at != -1:
            begin = text.rfind("https://", 0, at)
            if begin != -1 and _STOP.search(text, begin, at) is None:
                meeting = _MEETING_ID.match(text, at + 3)
                if meeting:
                    return text[begin:meeting.end()]
            at = text.find("/j/", at + 3)
    return None


def drain(items: list[T] | None) -> Iterator[T]:
    """A page's items in order, each taken out of the list as it is handed over, so the parsed
    JSON of a page is freed item by item while the page is converted, not all at its end. Held
    whole, it outlived the cyclic GC's young generations and counted towards a full collection:
    a first round of 100,000 events made five full walks of the heap instead of three."""
    if not items:
        return
    items.reverse()
    while items:
        yield items.pop()


class EndlessListing(RuntimeError):
    """A listing went on past its page limit."""


def read_ahead(fetch: Callable[[T], P], first: T, follow: Callable[[P], T | None],
               limit: int) -> Iterator[P]:
    """The pages of a listing, in order, each next one requested while the caller converts the
    one it was handed: the service prepares page k+1 while the client works on page k, as a
    paging client does when latency matters. `follow` names the next page (None: the last).

    One request is in flight at a time, on one helper thread (the client's connection is used
    by one thread at a time, never two at once); a one-page listing (an incremental round,
    nearly always) never starts the thread. An error of a fetch is raised where its page would
    have been handed over; if the caller stops early, the request in flight is finished and
    dropped. Raises EndlessListing after `limit` pages: a listing that never ends is the
    service's fault, not a loop of ours."""
    page = fetch(first)
    pool: ThreadPoolExecutor | None = None
    try:
        for _ in range(limit):
            following = follow(page)
            pending: Future[P] | None = None
            if following is not None:
                pool = pool or ThreadPoolExecutor(1, thread_name_prefix="calharness-read-ahead")
                pending = pool.submit(fetch, following)
            yield page
            if pending is None:
                return
            page = pending.result()
        raise EndlessListing(f"the listing went on past {limit} pages")
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


_DONE = object()


def read_ahead_items(items: Iterable[T], depth: int) -> Iterator[T]:
    """`items` (a client library's lazily paged listing) consumed on a helper thread, up to
    `depth` items ahead: the library asks for page k+1 as soon as the caller has been handed
    page k, so the service prepares it while the caller converts (see `read_ahead`). Errors
    of the listing are raised in the caller at the point they happened; a caller that stops
    early stops the helper at its next item."""
    queue: Queue[Any] = Queue(maxsize=max(1, depth))
    stop = Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put((True, item), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put((True, _DONE))
        except BaseException as exc:  # handed to the caller, raised there
            queue.put((False, exc))
        finally:  # the library's paging generator is closed here, on its own thread
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = Thread(target=produce, name="calharness-read-ahead-items", daemon=True)
    worker.start()
    try:
        while True:
            ok, value = queue.get()
            if not ok:
                raise value
            if value is _DONE:
                return
            yield value
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with suppress(Empty):
                queue.get(timeout=0.1)
        worker.join()


def may_link(*texts: str | None) -> bool:
    """Whether any of the texts could hold a join link (`/j/`): a cheap test that lets a
    connector leave the many events without one unconverted (a superset of `find_link`)."""
    for text in texts:  # noqa: SIM110  (any(<generator>) costs more; every event comes here)
        if text and "/j/" in text:
            return True
    return False


def plain_text(body: str | None, content_type: str = "text") -> str:
    if not body:
        return ""
    if content_type.lower() == "html":
        with suppress(ValueError, TypeError):
            body = lxml_html.fromstring(body).text_content()
    return body.replace("\r\n", "\n")


def split_body(body: str) -> tuple[str, str | None]:
    """(description, join link) of a body written by `compose_body` (or edited by a user)."""
    text = body.rstrip()
    cut = text.rfind(JOIN_PREFIX)
    if cut != -1 and "\n" not in text[cut:]:
        link = find_link(text[cut:])
        if link is not None and text[cut + len(JOIN_PREFIX):] == link:
            return text[:cut].rstrip("\n"), link
    return body, find_link(body)


def key_id(key: str, generation: int = 0) -> str:
    """A Google event id for a create key: base32hex (a-v, 0-9) as Google requires, 26
    characters of SHA-256; `generation` > 0 when an earlier event under the key was deleted
    (Google refuses to reuse a deleted event's id)."""
    seed = key if generation == 0 else f"{key}#{generation}"
    digest = hashlib.sha256(seed.encode()).digest()
    return base64.b32hexencode(digest).decode().lower().rstrip("=")[:26]


_UTC_NAMES = frozenset(("utc", "etc/utc", "etc/gmt", "gmt", "z", "etc/zulu", "zulu",
                        "coordinated universal time", "utc+00:00"))


def zone_name(name: str | None) -> str:
    """One name for UTC whatever the client calls it (exchangelib says Etc/UTC)."""
    if not name or name.strip().lower() in _UTC_NAMES:
        return "UTC"
    return name


def utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:  # parsed with +00:00 or Z: the common case, and astimezone is not free
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@contextmanager
def auth_mapped() -> Iterator[None]:
    """Token failures that only the user can fix → ReauthRequired; the identity service being
    down is Transient (the refresh token may still be good)."""
    try:
        yield
    except AuthError as exc:
        if exc.reauth or exc.error in ("invalid_client", "unauthorized_client",
                                       "access_denied"):
            raise ReauthRequired(exc.summary) from exc
        raise Transient(f"token refresh failed: {exc.summary}") from exc

