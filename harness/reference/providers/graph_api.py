"""Office 365 through Microsoft Graph: MSAL for every token, a thin httpx client for the API.

Why httpx and not msgraph-sdk for the reference connector: the connector needs four routes
(calendarView delta, events create, contacts list, delta follow-up) and full control over retry,
Retry-After and 401-refresh behaviour that the compliance features assert on; the SDK's kiota
middleware retries on its own (hiding the behaviour under test) and costs far more CPU per page.
The SDK itself is exercised against the mocks in tests/test_graph_sdk.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from harness.reference.config import ReferenceConfig
from harness.reference.providers.base import ProviderError
from harness.reference.providers.msal_tokens import TokenFn

# Events per calendarView delta page (Prefer: odata.maxpagesize).
DELTA_PAGE_SIZE = 200
MAX_LIST_PAGES = 10_000  # a listing that never ends is the service's error, not a loop of ours


def delta_url(base: str, window: tuple[datetime, datetime]) -> str:
    """The first URL of a full calendarView delta round over `window`."""
    start, end = (w.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for w in window)
    return f"{base}/calendarView/delta?startDateTime={start}&endDateTime={end}"


class RoundToken:
    """A token source that asks once per round and again only when Graph refuses the bearer
    (the connector's 401 path asks with force_refresh): the token source behind it may be an
    MSAL token cache to deserialize and a client application to build, which is not a cost to
    pay for every page."""

    __slots__ = ("_source", "_bearer")

    def __init__(self, source: TokenFn) -> None:
        self._source = source
        self._bearer: str | None = None

    def __call__(self, force_refresh: bool) -> str:
        if force_refresh or self._bearer is None:
            self._bearer = self._source(force_refresh)
        return self._bearer


@dataclass(slots=True)
class DeltaResult:
    upserts: list[Any] = field(default_factory=list)  # Graph events, or what `convert` made
    removed: list[str] = field(default_factory=list)
    delta_link: str | None = None
    pages: int = 0


class GraphConnector:
    """Graph calls for one mailbox: `/me` with delegated tokens, `/users/{upn}` with application
    tokens."""

    def __init__(self, config: ReferenceConfig, http: httpx.Client, mailbox_path: str,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.http = http
        self.base = f"{config.graph_url}{mailbox_path}"
        self.sleep = sleep

    # -- Graph calls ---------------------------------------------------------------------------
    def request(self, method: str, url: str, token: TokenFn, *,
                json: dict[str, Any] | None = None, headers: dict[str, str] | None = None
                ) -> httpx.Response:
        """One Graph call with the behaviour the documents and Graph expect of a client:
        refresh once on 401, honour Retry-After on 429/503/504, back off on dropped
        connections; everything bounded by max_retries and max_retry_wait_s."""
        refreshed = False
        bearer = token(False)
        attempt = 0
        while True:
            send_headers = {"Authorization": f"Bearer {bearer}",
                            "Prefer": 'outlook.timezone="UTC"', **(headers or {})}
            try:
                response = self.http.request(method, url, json=json, headers=send_headers)
            except httpx.TransportError as exc:
                if attempt >= self.config.max_retries:
                    raise ProviderError(0, "TransportError", str(exc)) from exc
                self.sleep(min(2.0 ** attempt * 0.2, self.config.max_retry_wait_s))
                attempt += 1
                continue
            if response.status_code == 401 and not refreshed:
                refreshed = True
                bearer = token(True)
                continue
            if response.status_code in (429, 503, 504) and attempt < self.config.max_retries:
                self.sleep(self._retry_wait(response, attempt))
                attempt += 1
                continue
            if response.status_code >= 400:
                raise self._error(response)
            return response

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After", "")
        wait = float(header) if header.isascii() and header.isdigit() else 2.0 ** attempt
        return min(wait, self.config.max_retry_wait_s)

    @staticmethod
    def _error(response: httpx.Response) -> ProviderError:
        try:
            err = response.json().get("error", {})
            return ProviderError(response.status_code, err.get("code", "unknown"),
                                 err.get("message", ""))
        except ValueError:
            return ProviderError(response.status_code, "unknown", response.text[:200])

    def events_delta(self, token: TokenFn, delta_link: str | None,
                     window: tuple[datetime, datetime], page_size: int = DELTA_PAGE_SIZE,
                     convert: Callable[[dict[str, Any]], Any] | None = None) -> DeltaResult:
        """A calendarView delta round: from the stored delta link, or a full initial round.

        `convert`, when given, turns each event into what the caller keeps as its page arrives,
        so a large round holds the compact results rather than every page's parsed JSON (tens
        of thousands of nested dicts and lists that each full garbage collection would walk)."""
        url = delta_link or delta_url(self.base, window)
        token = RoundToken(token)
        result = DeltaResult()
        upserts, removed = result.upserts, result.removed
        prefer = {"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={page_size}'}
        for _ in range(100_000):  # bounded: a provider that never ends a round is an error
            page = self.request("GET", url, token, headers=prefer).json()
            result.pages += 1
            for item in page.get("value", []):
                if "@removed" in item:
                    removed.append(item["id"])
                else:
                    upserts.append(item if convert is None else convert(item))
            if "@odata.nextLink" in page:
                url = page["@odata.nextLink"]
                continue
            result.delta_link = page.get("@odata.deltaLink")
            if not result.delta_link:
                raise ProviderError(200, "NoDeltaLink", "a delta round ended without a link")
            return result
        raise ProviderError(200, "EndlessDelta", "the delta round did not end")

    def _pages(self, url: str, token: TokenFn, headers: dict[str, str] | None = None
               ) -> list[dict[str, Any]]:
        """Every item of a listing, following @odata.nextLink (bounded)."""
        token = RoundToken(token)
        out: list[dict[str, Any]] = []
        next_url: str | None = url
        for _ in range(MAX_LIST_PAGES):
            if next_url is None:
                return out
            page = self.request("GET", next_url, token, headers=headers).json()
            out.extend(page.get("value", []))
            next_url = page.get("@odata.nextLink")
        raise ProviderError(200, "EndlessListing", "a listing did not end")

    def list_calendars(self, token: TokenFn) -> list[dict[str, Any]]:
        return self._pages(f"{self.base}/calendars", token)

    def calendar_view(self, token: TokenFn, calendar_id: str | None,
                      window: tuple[datetime, datetime]) -> list[dict[str, Any]]:
        """One calendar's events in `window` (occurrences expanded): the default calendar at
        `/calendar/calendarView`, another at `/calendars/{id}/calendarView`."""
        start, end = (w.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for w in window)
        where = "calendar" if calendar_id is None else f"calendars/{quote(calendar_id, safe='')}"
        url = f"{self.base}/{where}/calendarView?startDateTime={start}&endDateTime={end}"
        prefer = {"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={DELTA_PAGE_SIZE}'}
        return self._pages(url, token, headers=prefer)

    def create_event(self, token: TokenFn, body: dict[str, Any]) -> dict[str, Any]:
        response = self.request("POST", f"{self.base}/events", token, json=body)
        return dict(response.json())

    def update_event(self, token: TokenFn, event_id: str, body: dict[str, Any]
                     ) -> dict[str, Any]:
        response = self.request("PATCH", f"{self.base}/events/{event_id}", token, json=body)
        return dict(response.json())

    def delete_event(self, token: TokenFn, event_id: str) -> None:
        self.request("DELETE", f"{self.base}/events/{event_id}", token)

    def respond_event(self, token: TokenFn, event_id: str, action: str,
                      body: dict[str, Any]) -> None:
        """accept / tentativelyAccept / decline: Graph answers 202 without a body."""
        self.request("POST", f"{self.base}/events/{event_id}/{action}", token, json=body)

    def create_contact(self, token: TokenFn, body: dict[str, Any]) -> dict[str, Any]:
        response = self.request("POST", f"{self.base}/contacts", token, json=body)
        return dict(response.json())

    def list_contacts(self, token: TokenFn) -> list[dict[str, Any]]:
        url: str | None = f"{self.base}/contacts?$top=100"
        token = RoundToken(token)
        out: list[dict[str, Any]] = []
        while url:
            page = self.request("GET", url, token).json()
            out.extend(page.get("value", []))
            url = page.get("@odata.nextLink")
        return out
