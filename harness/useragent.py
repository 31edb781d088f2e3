"""The harness's browser: a small synchronous, form-driven user agent for OAuth sign-in pages.

It knows nothing about any one identity provider. On each HTML page it finds the single POST
form and fills it the way a person would: the username into the login-ish text field, the
password into the password field, Accept or Cancel on a consent page, the "on behalf of your
organization" box when asked to. It stops, without requesting it, at the first redirect or
form_post whose target starts with the integration's redirect URI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx
import lxml.html
from lxml.html import FormElement, HtmlElement

from harness.net import httpx_verify

MAX_HOPS = 20
_LOGIN_NAMES = frozenset({"login", "username", "email", "identifier", "identifierid", "loginfmt",
                          "user", "userid", "user_name", "email_address", "upn"})
_TEXTUAL = frozenset({"text", "email", "tel"})
_BUTTON_TYPES = frozenset({"submit", "image"})
_ACCEPT_WORDS = frozenset({"accept", "allow", "approve", "yes", "true", "continue", "grant"})
_DECLINE_WORDS = frozenset({"decline", "deny", "cancel", "no", "false", "reject"})
_ORG_CHECKBOX = re.compile(r"behalf|organi[sz]ation|tenant", re.IGNORECASE)
_ERROR_LABEL = re.compile(r"Error code:\s*([A-Za-z0-9_.\-]+)")
_AADSTS = re.compile(r"\b(AADSTS\d+)\b")


class UserAgentError(RuntimeError):
    """Something a sign-in page flow should never do (a JSON 500, no form, a redirect loop…)."""


@dataclass(frozen=True, slots=True)
class PageVisit:
    url: str
    title: str | None  # None for redirects and non-HTML responses
    status: int


@dataclass
class AuthorizationOutcome:
    # The redirect URI as reached. For response_mode=form_post (a POST in a real browser) the
    # posted fields are appended as a query so the integration can be handed one URL either way.
    callback_url: str | None
    params: dict[str, str]
    pages: list[PageVisit] = field(default_factory=list)
    blocked_page_title: str | None = None
    error: str | None = None
    error_description: str | None = None
    via_form_post: bool = False

    @property
    def code(self) -> str | None:
        return self.params.get("code")


@dataclass(frozen=True, slots=True)
class _Choices:
    username: str
    password: str
    consent: Literal["accept", "decline"]
    on_behalf_of_org: bool


@dataclass(slots=True)
class _FilledForm:
    action: str
    fields: list[tuple[str, str]]
    asks_password: bool


class UserAgent:
    def __init__(self, ca_bundle: str | None, timeout: float = 10, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(verify=httpx_verify(ca_bundle), timeout=timeout,
                                    follow_redirects=False,
                                    transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> UserAgent:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def authorize(self, url: str, *, username: str, password: str,
                  consent: Literal["accept", "decline"] = "accept",
                  on_behalf_of_org: bool = False, stop_at: str) -> AuthorizationOutcome:
        if not stop_at:
            raise ValueError("stop_at (the integration's redirect URI) must not be empty")
        if consent not in ("accept", "decline"):
            raise ValueError(f"consent must be 'accept' or 'decline', not {consent!r}")
        choices = _Choices(username, password, consent, on_behalf_of_org)
        visits: list[PageVisit] = []
        method, target, body = "GET", url, None
        passwords_sent = 0
        for _ in range(MAX_HOPS):
            response = self._send(method, target, body)
            if response.is_redirect:
                visits.append(PageVisit(target, None, response.status_code))
                location = urljoin(target, response.headers["location"])
                if location.startswith(stop_at):
                    return _arrived(location, _url_params(location), visits)
                if response.status_code not in (307, 308):
                    method, body = "GET", None
                target = location
                continue
            doc = _html(response, target)
            visits.append(PageVisit(target, _title(doc), response.status_code))
            form = _pick_form(doc)
            if form is None:
                return _blocked(doc, visits)
            filled = _fill(form, target, choices)
            if filled.asks_password and passwords_sent:
                return _blocked(doc, visits)  # the credentials were refused
            passwords_sent += filled.asks_password
            if filled.action.startswith(stop_at):
                fields = dict(filled.fields)
                callback = filled.action + ("&" if "?" in filled.action else "?") + urlencode(
                    filled.fields)
                return _arrived(callback, fields, visits, via_form_post=True)
            method, target, body = "POST", filled.action, filled.fields
        raise UserAgentError(f"no callback to {stop_at} after {MAX_HOPS} pages and redirects "
                             f"(last: {method} {target})")

    def _send(self, method: str, url: str, body: list[tuple[str, str]] | None) -> httpx.Response:
        try:
            if body is None:
                return self._client.request(method, url)
            return self._client.request(
                method, url, content=urlencode(body).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
        except httpx.HTTPError as exc:
            raise UserAgentError(f"{method} {url} failed: {exc!r}") from exc


def _arrived(callback: str, params: dict[str, str], visits: list[PageVisit], *,
             via_form_post: bool = False) -> AuthorizationOutcome:
    return AuthorizationOutcome(callback_url=callback, params=params, pages=visits,
                                error=params.get("error"),
                                error_description=params.get("error_description"),
                                via_form_post=via_form_post)


def _blocked(doc: HtmlElement, visits: list[PageVisit]) -> AuthorizationOutcome:
    code, description = _page_error(doc)
    return AuthorizationOutcome(callback_url=None, params={}, pages=visits,
                                blocked_page_title=_title(doc) or "(untitled page)",
                                error=code, error_description=description)


def _url_params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.update(parse_qsl(parts.fragment, keep_blank_values=True))
    return params


def _html(response: httpx.Response, url: str) -> HtmlElement:
    ctype = response.headers.get("content-type", "")
    text = response.text
    if "html" not in ctype.lower() and not text.lstrip().startswith("<"):
        snippet = " ".join(text.split())[:300]
        raise UserAgentError(f"{response.status_code} {ctype or 'no content type'} from {url} "
                             f"where a sign-in page was expected: {snippet}")
    if not text.strip():
        raise UserAgentError(f"{response.status_code} empty page from {url}")
    return lxml.html.document_fromstring(text)


def _title(doc: HtmlElement) -> str | None:
    titles = doc.xpath("//title")
    text = " ".join(titles[0].text_content().split()) if titles else ""
    return text or None


def _pick_form(doc: HtmlElement) -> FormElement | None:
    forms = [f for f in doc.forms if (f.get("method") or "get").lower() == "post"]
    if len(forms) <= 1:
        return forms[0] if forms else None
    relevant = [f for f in forms if f.xpath(".//input[@type='password']")
                or len(_buttons(f)) > 1]
    if len(relevant) == 1:
        return relevant[0]
    raise UserAgentError(f"{len(forms)} POST forms on the page and no single sign-in or consent "
                         f"form among them")


def _buttons(form: FormElement) -> list[HtmlElement]:
    out = []
    for el in form.iter("input", "button"):
        kind = (el.get("type") or ("submit" if el.tag == "button" else "text")).lower()
        if kind in _BUTTON_TYPES and el.get("name"):
            out.append(el)
    return out


def _fill(form: FormElement, page_url: str, choices: _Choices) -> _FilledForm:
    fields: list[tuple[str, str]] = []
    asks_password = False
    textual = [el for el in form.iter("input")
               if (el.get("type") or "text").lower() in _TEXTUAL and el.get("name")]
    login_field = _login_field(textual)
    for el in form.iter("input", "select", "textarea"):
        name = el.get("name")
        if not name:
            continue
        if el.tag == "select":
            fields.extend((name, v) for v in _selected(el))
            continue
        if el.tag == "textarea":
            fields.append((name, el.text or ""))
            continue
        kind = (el.get("type") or "text").lower()
        if kind in _BUTTON_TYPES or kind in ("button", "reset", "file"):
            continue
        if kind == "password":
            fields.append((name, choices.password))
            asks_password = True
        elif kind == "checkbox":
            checked = (choices.on_behalf_of_org if _ORG_CHECKBOX.search(name)
                       else el.get("checked") is not None)
            if checked:
                fields.append((name, el.get("value") or "on"))
        elif kind == "radio":
            if el.get("checked") is not None:
                fields.append((name, el.get("value") or "on"))
        elif el is login_field:
            fields.append((name, choices.username))
        else:
            fields.append((name, el.get("value") or ""))
    button = _choose_button(_buttons(form), choices.consent)
    if button is not None:
        fields.append((button.get("name") or "", button.get("value") or ""))
    action = urljoin(page_url, form.get("action") or page_url)
    return _FilledForm(action, fields, asks_password)


def _login_field(textual: list[HtmlElement]) -> HtmlElement | None:
    for el in textual:
        if (el.get("name") or "").lower() in _LOGIN_NAMES:
            return el
    return textual[0] if len(textual) == 1 else None


def _selected(select: HtmlElement) -> list[str]:
    options = select.xpath(".//option")
    chosen = [o for o in options if o.get("selected") is not None] or options[:1]
    return [o.get("value") if o.get("value") is not None else o.text_content() for o in chosen]


def _choose_button(buttons: list[HtmlElement], consent: str) -> HtmlElement | None:
    def words(el: HtmlElement) -> set[str]:
        text = " ".join([el.get("value") or "", el.get("name") or "", el.text_content()])
        return set(re.findall(r"[a-z]+", text.lower()))

    wanted = _ACCEPT_WORDS if consent == "accept" else _DECLINE_WORDS
    other = _DECLINE_WORDS if consent == "accept" else _ACCEPT_WORDS
    if len(buttons) > 1:
        for el in buttons:
            if words(el) & wanted and not words(el) & other:
                return el
        raise UserAgentError(f"no button to {consent} among "
                             f"{[el.get('value') or el.text_content() for el in buttons]}")
    return buttons[0] if buttons else None


def _page_error(doc: HtmlElement) -> tuple[str | None, str | None]:
    text = " ".join(" ".join(doc.itertext()).split())  # itertext keeps block boundaries apart
    labelled = _ERROR_LABEL.search(text)
    code = labelled.group(1) if labelled else None
    if code is None:
        found = _AADSTS.search(text)
        code = found.group(1) if found else None
    alerts = doc.xpath("//*[@role='alert'] | //*[contains(concat(' ', normalize-space(@class), "
                       "' '), ' error ')]")
    description = " ".join(" ".join(alerts[0].itertext()).split()) if alerts else None
    return code, description or None
