"""Delta rounds of calendarView and contacts: one page at a time, and the signed skip/delta
tokens that carry a round from page to page and from round to round.

Delta tokens. A delta round is a run of pages ending in an `@odata.deltaLink`. Every link carries
one token, `$skiptoken` on nextLinks and `$deltatoken` on deltaLinks: base64url of a compact JSON
payload, a dot, and an HMAC-SHA256 (key random per hub process) over it. The payload holds the
token kind, the mailbox (user id), the app (client id) and the caller principal it was issued to,
the collection (calendar or contact folder id), the calendarView window, the base sequence the
round reports changes after (absent on a first, full round), the world sequence at which the round
started, the position reached (last id for a full round, last change sequence for an incremental
one), the page size, the world epoch (bumped whenever the hub's world is swapped by a reset) and,
for calendarView, a reference to the server-side set of event ids the client may hold (so events
that left the window or were deleted are reported as `@removed`, and changes to events the client
never saw are not). Follow-up calls need no other parameter.

Errors: a token that fails the HMAC, does not decode, or was issued to another mailbox, app,
principal or route → 400 `ErrorInvalidSyncStateData`; a token from before a world reset, from
before the collection was (re)created, or whose server-side id set was evicted → 410
`SyncStateNotFound` (innerError.code `resyncRequired`).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_providers.microsoft.graph.errors import invalid_sync_state, sync_state_not_found
from mock_providers.microsoft.graph.odata import DEFAULT_PAGE, MAX_PAGE, Query
from mock_providers.microsoft.graph.render import removed_json
from mock_providers.world.collection import Collection


@dataclass(slots=True)
class DeltaToken:
    kind: str  # "skip" (nextLink) or "delta" (deltaLink)
    route: str  # "cv" calendarView, "ct" contacts
    user: str
    app: str
    principal: str
    collection: str
    window: tuple[str, str] | None
    base: int | None  # report changes after this seq; None on a full round
    started: int  # world seq when this round began
    position: Any  # last id (full round) or last seq (incremental)
    size: int
    epoch: int
    known: str | None  # server-side id-set reference (calendarView)

    def to_payload(self) -> dict[str, Any]:
        return {"k": self.kind, "r": self.route, "u": self.user, "a": self.app,
                "c": self.principal, "f": self.collection, "w": self.window, "b": self.base,
                "s": self.started, "p": self.position, "n": self.size, "e": self.epoch,
                "x": self.known}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KnownIds:
    """The ids a calendarView delta client may hold after a round: the in-scope ids of the
    collection at some earlier state (`base`, shared by many rounds) with the changes since then
    applied (`added`, `removed`): an incremental round costs its changes, not the calendar."""

    __slots__ = ("base", "added", "removed")

    def __init__(self, base: frozenset[str], added: frozenset[str],
                 removed: frozenset[str]) -> None:
        self.base, self.added, self.removed = base, added, removed

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.added or (item_id in self.base and item_id not in self.removed)


@dataclass(slots=True)
class _Scope:
    """The in-scope ids of one collection (for one delta route and window) as of `seq`, and what
    the changes up to `applied` did to that set (`added`, `removed`), folded in as they come."""

    collection: Collection[Any]
    seq: int
    ids: list[str]  # sorted
    id_set: frozenset[str]
    applied: int
    added: set[str]
    removed: set[str]


class DeltaTokens:
    """Signs and checks delta/skip tokens; keeps the calendarView id sets (bounded LRU) and, per
    collection and window, the sorted in-scope ids (bounded LRU) that full rounds page through and
    rounds' id sets build on."""

    KNOWN_MAX = 20_000
    SCOPES_MAX = 256

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._known: OrderedDict[str, KnownIds] = OrderedDict()
        self._scopes: OrderedDict[tuple[int, str, tuple[str, str] | None], _Scope] = (
            OrderedDict())

    def encode(self, token: DeltaToken) -> str:
        payload = json.dumps(token.to_payload(), separators=(",", ":")).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:20]
        return f"{_b64(payload)}.{_b64(mac)}"

    def decode(self, text: str, kind: str) -> DeltaToken:
        try:
            body, _, mac = text.partition(".")
            payload = _unb64(body)
            expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:20]
            if not hmac.compare_digest(expected, _unb64(mac)):
                raise ValueError("bad mac")
            p = json.loads(payload)
            window = tuple(p["w"]) if p["w"] is not None else None
            token = DeltaToken(p["k"], p["r"], p["u"], p["a"], p["c"], p["f"], window,
                               p["b"], int(p["s"]), p["p"], int(p["n"]), int(p["e"]), p["x"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise invalid_sync_state() from None
        if token.kind != kind:
            raise invalid_sync_state()
        return token

    def remember(self, ids: KnownIds) -> str:
        ref = secrets.token_urlsafe(9)
        self._known[ref] = ids
        if len(self._known) > self.KNOWN_MAX:
            self._known.popitem(last=False)
        return ref

    def known(self, ref: str | None) -> KnownIds | frozenset[str]:
        if ref is None:
            return frozenset()
        ids = self._known.get(ref)
        if ids is None:
            raise sync_state_not_found()
        self._known.move_to_end(ref)
        return ids

    def scope(self, src: DeltaSource, current: bool) -> _Scope:
        """The in-scope ids of `src`'s collection: as of now when `current` (a full round pages
        through them), else as of an earlier state with the changes since folded into `added`
        and `removed`; made afresh when those grow past an eighth of the ids (or 256), so that
        folding stays cheap and a rebuild is paid once per many rounds."""
        coll = src.collection
        key = (id(coll), src.route, src.window)
        entry = self._scopes.get(key)
        if entry is not None and entry.collection is coll:
            if coll.last_seq != entry.applied:
                self._fold(src, entry)
            if (coll.last_seq == entry.seq if current
                    else len(entry.added) + len(entry.removed) <= max(256, len(entry.ids) // 8)):
                self._scopes.move_to_end(key)
                return entry
        # Every change to a collection goes through put/delete and moves its last_seq, so ids
        # computed at one last_seq stay right until the next change.
        ids = sorted(i for i, item in coll.items.items() if src.in_scope(item))
        entry = self._scopes[key] = _Scope(coll, coll.last_seq, ids, frozenset(ids),
                                           coll.last_seq, set(), set())
        self._scopes.move_to_end(key)
        if len(self._scopes) > self.SCOPES_MAX:
            self._scopes.popitem(last=False)
        return entry

    @staticmethod
    def _fold(src: DeltaSource, entry: _Scope) -> None:
        """Apply the changes after `entry.applied`: O(new changes), never the collection."""
        coll = src.collection
        items = coll.items
        for change in coll.changes_since(entry.applied):
            item = items.get(change.item_id)
            if item is not None and src.in_scope(item):
                entry.added.add(change.item_id)
                entry.removed.discard(change.item_id)
            else:
                entry.removed.add(change.item_id)
                entry.added.discard(change.item_id)
        entry.applied = coll.last_seq

    def holding(self, src: DeltaSource, started: int) -> KnownIds:
        """What the client may hold at the end of a round that began at `started`: everything
        in scope now, plus anything that changed while the round was being paged (it may have
        been sent and then left the scope)."""
        entry = self.scope(src, current=False)
        during = {c.item_id for c in src.collection.changes_since(started)}
        return KnownIds(entry.id_set, frozenset(entry.added | during),
                        frozenset(entry.removed - during))

    def clear(self) -> None:
        self._known.clear()
        self._scopes.clear()


# -- delta rounds ----------------------------------------------------------------------------------
@dataclass(slots=True)
class DeltaSource:
    """What a delta route tracks: a collection, which of its items are in scope, and how an item
    is rendered."""

    route: str  # "cv" (calendarView) or "ct" (contacts)
    collection: Collection[Any]
    collection_id: str
    in_scope: Callable[[Any], bool]
    render: Callable[[Any], bytes]
    odata_type: str
    window: tuple[str, str] | None
    windowed: bool  # removals only for ids the client may hold
    # calendarView: an item (a series master) may stand for several entries (its occurrences
    # and exceptions; with True, also `@removed` for its cancelled or moved-away ones), and a
    # removed item for several `@removed` entries.
    expand: Callable[[Any, bool], list[bytes]] | None = None
    removed: Callable[[str], list[bytes]] | None = None


@dataclass(slots=True)
class DeltaPage:
    fragments: list[bytes]
    skip_token: str | None  # more pages in this round
    delta_token: str | None  # the round is complete
    size: int


def resume_window(tokens: DeltaTokens, query: Query) -> tuple[str, str]:
    """The calendarView window carried by the request's skip or delta token."""
    skip_text = query.get("$skiptoken")
    token = tokens.decode(skip_text if skip_text is not None
                          else query.get("$deltatoken") or "",
                          "skip" if skip_text is not None else "delta")
    if token.window is None:
        raise invalid_sync_state()
    return token.window


def delta_page(tokens: DeltaTokens, src: DeltaSource, query: Query, *, user: str, app: str,
               principal: str, world_seq: int, epoch: int,
               size_override: int | None) -> DeltaPage:
    """One page of a delta round (see the module docstring for the token design)."""
    skip_text, delta_text = query.get("$skiptoken"), query.get("$deltatoken")
    known: KnownIds | frozenset[str] = frozenset()
    if skip_text is not None or delta_text is not None:
        token = tokens.decode(skip_text if skip_text is not None else delta_text or "",
                              "skip" if skip_text is not None else "delta")
        if (token.route != src.route or token.user != user or token.app != app
                or token.principal != principal):
            raise invalid_sync_state()
        if (token.epoch != epoch or token.collection != src.collection_id
                or (token.base is not None and token.base < src.collection.created_seq)
                or token.started > world_seq):
            raise sync_state_not_found()
        if src.windowed:
            known = tokens.known(token.known)
        if token.kind == "delta":  # a new round, reporting changes after the last one began
            token = DeltaToken("skip", token.route, token.user, token.app, token.principal,
                               token.collection, token.window, token.base, world_seq,
                               token.base, token.size, token.epoch, token.known)
    else:
        token = DeltaToken("skip", src.route, user, app, principal, src.collection_id,
                           src.window, None, world_seq, None, DEFAULT_PAGE, epoch, None)
    size = min(size_override, MAX_PAGE) if size_override else token.size
    coll = src.collection
    fragments: list[bytes] = []
    position: Any
    if token.base is None:  # full round: everything in scope, in id order
        after = token.position or ""
        ids = tokens.scope(src, current=True).ids
        first = bisect.bisect_right(ids, after)
        page_ids = ids[first:first + size]
        more = len(ids) - first > size
        items = coll.items
        if src.expand is None:
            fragments = [src.render(items[i]) for i in page_ids]
        else:
            for i in page_ids:
                fragments += src.expand(items[i], False)
        position = page_ids[-1] if page_ids else after
    else:  # incremental: changes after the base, up to the round's start
        position = token.position
        changes = [c for c in coll.changes_since(position) if c.seq <= token.started]
        consumed = 0
        for change in changes:
            if len(fragments) >= size:
                break
            consumed += 1
            position = change.seq
            item = coll.items.get(change.item_id)
            if item is not None and src.in_scope(item):
                if src.expand is None:
                    fragments.append(src.render(item))
                else:
                    fragments += src.expand(item, True)
            elif not src.windowed or change.item_id in known:
                if src.removed is None:
                    fragments.append(removed_json(change.item_id, src.odata_type))
                else:
                    fragments += src.removed(change.item_id)
        more = consumed < len(changes)
    if more:
        nxt = DeltaToken("skip", token.route, token.user, token.app, token.principal,
                         token.collection, token.window, token.base, token.started, position,
                         size, token.epoch, token.known)
        return DeltaPage(fragments, tokens.encode(nxt), None, size)
    known_ref = None
    if src.windowed:
        # What the client may now hold: everything in the window, plus anything that changed
        # while the round was being paged (it may have been sent and then left the window).
        known_ref = tokens.remember(tokens.holding(src, token.started))
    done = DeltaToken("delta", token.route, token.user, token.app, token.principal,
                      token.collection, token.window, token.started, token.started,
                      token.started, size, token.epoch, known_ref)
    return DeltaPage(fragments, None, tokens.encode(done), size)
