"""The harness's user agent on small HTML fixtures served through httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from harness.useragent import MAX_HOPS, UserAgent, UserAgentError

IDP = "https://idp.test"
CALLBACK = "https://app.invalid/callback"

Handler = Callable[[httpx.Request], httpx.Response]


class Site:
    """Routes by (method, path); every request is kept so tests can see what was sent."""

    def __init__(self, routes: dict[tuple[str, str], Handler]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "app.invalid":
            raise AssertionError("the user agent must stop before requesting the callback")
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, text="not found")
        return handler(request)

    def agent(self) -> UserAgent:
        return UserAgent(None, transport=httpx.MockTransport(self))

    def form(self, index: int = -1) -> dict[str, list[str]]:
        return parse_qs(self.requests[index].content.decode(), keep_blank_values=True)


def page(body: str, title: str = "Page", status: int = 200) -> Handler:
    html = f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"
    return lambda _request: httpx.Response(status, html=html)


def redirect(location: str, status: int = 302) -> Handler:
    return lambda _request: httpx.Response(status, headers={"Location": location})


LOGIN_FORM = page(
    '<form method="post" action="/login">'
    '<input type="hidden" name="flow" value="f-1">'
    '<input type="email" name="login" value="prefilled@example.com">'
    '<input type="password" name="passwd">'
    '<select name="lang"><option value="en">en</option><option value="de" selected>de</option>'
    "</select>"
    '<input type="checkbox" name="remember" value="yes" checked>'
    '<input type="checkbox" name="marketing" value="yes">'
    '<button type="submit">Sign in</button></form>', title="Sign in")

CONSENT_FORM = page(
    '<form method="post" action="https://idp.test/consent">'
    '<input type="hidden" name="flow" value="f-1">'
    '<input type="checkbox" name="consent_on_behalf" value="1">'
    '<button type="submit" name="consent" value="decline">Cancel</button>'
    '<button type="submit" name="consent" value="accept">Accept</button></form>',
    title="Permissions requested")


def sign_in_site(after_login: Handler) -> Site:
    return Site({
        ("GET", "/authorize"): redirect("/signin"),
        ("GET", "/signin"): LOGIN_FORM,
        ("POST", "/login"): after_login,
        ("POST", "/consent"): lambda request: httpx.Response(
            302, headers={"Location": f"{CALLBACK}?code=c-1&state=s-1"}),
    })


def test_fills_the_login_form_keeps_hidden_fields_and_stops_at_the_callback() -> None:
    site = sign_in_site(redirect(f"{CALLBACK}?code=abc&state=xyz"))
    with site.agent() as agent:
        outcome = agent.authorize(f"{IDP}/authorize", username="ann@example.com",
                                  password="s3cret", stop_at=CALLBACK)
    assert outcome.callback_url == f"{CALLBACK}?code=abc&state=xyz"
    assert outcome.params == {"code": "abc", "state": "xyz"} and outcome.code == "abc"
    assert outcome.error is None and outcome.blocked_page_title is None
    assert site.form() == {"flow": ["f-1"], "login": ["ann@example.com"], "passwd": ["s3cret"],
                           "lang": ["de"], "remember": ["yes"]}
    assert str(site.requests[-1].url) == f"{IDP}/login"
    assert [(p.url, p.title, p.status) for p in outcome.pages] == [
        (f"{IDP}/authorize", None, 302), (f"{IDP}/signin", "Sign in", 200),
        (f"{IDP}/login", None, 302)]


@pytest.mark.parametrize(("consent", "on_behalf", "expected"), [
    ("accept", False, {"flow": ["f-1"], "consent": ["accept"]}),
    ("accept", True, {"flow": ["f-1"], "consent_on_behalf": ["1"], "consent": ["accept"]}),
    ("decline", False, {"flow": ["f-1"], "consent": ["decline"]}),
])
def test_consent_page_buttons_and_on_behalf_checkbox(consent: str, on_behalf: bool,
                                                      expected: dict[str, list[str]]) -> None:
    site = sign_in_site(CONSENT_FORM)
    with site.agent() as agent:
        outcome = agent.authorize(f"{IDP}/authorize", username="ann@example.com", password="pw",
                                  consent=consent,  # type: ignore[arg-type]
                                  on_behalf_of_org=on_behalf, stop_at=CALLBACK)
    assert outcome.params == {"code": "c-1", "state": "s-1"}
    assert site.form() == expected
    assert [p.title for p in outcome.pages if p.title] == ["Sign in", "Permissions requested"]


def test_form_post_response_is_returned_without_posting_it() -> None:
    auto_submit = page(
        f'<form method="post" name="hiddenform" action="{CALLBACK}">'
        '<input type="hidden" name="code" value="c-9"><input type="hidden" name="state" '
        'value="s-9"><noscript><button type="submit">Submit</button></noscript></form>'
        "<script>document.forms[0].submit();</script>", title="Working...")
    site = sign_in_site(auto_submit)
    with site.agent() as agent:
        outcome = agent.authorize(f"{IDP}/authorize", username="a@b.c", password="pw",
                                  stop_at=CALLBACK)
    assert outcome.via_form_post
    assert outcome.params == {"code": "c-9", "state": "s-9"}
    assert outcome.callback_url == f"{CALLBACK}?code=c-9&state=s-9"


def test_fragment_and_error_parameters_are_read() -> None:
    site = Site({("GET", "/authorize"): redirect(
        f"{CALLBACK}#error=access_denied&error_description=AADSTS65004%3A+declined&state=s")})
    with site.agent() as agent:
        outcome = agent.authorize(f"{IDP}/authorize", username="a", password="b",
                                  stop_at=CALLBACK)
    assert outcome.error == "access_denied"
    assert outcome.error_description == "AADSTS65004: declined"
    assert outcome.params["state"] == "s"


def test_a_page_without_a_form_blocks_with_its_title_and_error_code() -> None:
    blocked = page('<h1>Need admin approval</h1><div class="error" role="alert">The grant '
                   "requires admin permission.</div><div><div>Error code: AADSTS90094</div>"
                   "<div>Trace ID: t</div></div>", title="Need admin approval")
    site = sign_in_site(blocked)
    with site.agent() as agent:
        outcome = agent.authorize(f"{IDP}/authorize", username="a@b.c", password="pw",
                                  stop_at=CALLBACK)
    assert outcome.callback_url is None and outcome.params == {}
    assert outcome.blocked_page_title == "Need admin approval"
    assert outcome.error == "AADSTS90094"
    assert outcome.error_description == "The grant requires admin permission."


def test_refused_credentials_stop_instead_of_retrying() -> None:
    again = page('<div role="alert">Your account or password is incorrect. (AADSTS50126)</div>'
                 '<form method="post" action="/login"><input type="hidden" name="flow" '
                 'value="f-1"><input name="login" type="email"><input type="password" '
                 'name="passwd"></form>', title="Sign in")
    site = sign_in_site(again)
    with site.agent() as agent:
        outcome = agent.authorize(f"{IDP}/authorize", username="a@b.c", password="wrong",
                                  stop_at=CALLBACK)
    assert outcome.blocked_page_title == "Sign in" and outcome.error == "AADSTS50126"
    assert [r.method for r in site.requests].count("POST") == 1


def test_generic_field_names_and_multi_step_pages() -> None:
    identifier = page('<form method="post" action="/pw"><input type="text" name="identifier">'
                      '<input type="submit" name="next" value="Next"></form>', title="Email")
    password = page('<form method="post" action="/done"><input type="hidden" name="tl" '
                    'value="t"><input type="password" name="Passwd"></form>', title="Password")
    site = Site({("GET", "/authorize"): identifier, ("POST", "/pw"): password,
                 ("POST", "/done"): redirect(f"{CALLBACK}?code=g")})
    with site.agent() as agent:
        outcome = agent.authorize(f"{IDP}/authorize", username="bob@gmail.test", password="pw",
                                  stop_at=CALLBACK)
    assert outcome.code == "g"
    assert site.form(1) == {"identifier": ["bob@gmail.test"], "next": ["Next"]}
    assert site.form(2) == {"tl": ["t"], "Passwd": ["pw"]}


def test_307_keeps_the_post_and_cookies_are_kept() -> None:
    def set_cookie(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/signin",
                                            "Set-Cookie": "SID=abc; Path=/; Secure"})

    def check_cookie(request: httpx.Request) -> httpx.Response:
        assert request.headers.get("cookie") == "SID=abc"
        return LOGIN_FORM(request)

    site = Site({("GET", "/authorize"): set_cookie, ("GET", "/signin"): check_cookie,
                 ("POST", "/login"): redirect("/login2", 307),
                 ("POST", "/login2"): redirect(f"{CALLBACK}?code=z")})
    with site.agent() as agent:
        outcome = agent.authorize(f"{IDP}/authorize", username="a@b.c", password="pw",
                                  stop_at=CALLBACK)
        assert agent.cookies.get("SID") == "abc"
    assert outcome.code == "z"
    assert site.requests[-1].method == "POST" and site.form() == site.form(-2)


def test_two_post_forms_pick_the_sign_in_form_or_fail_clearly() -> None:
    two = page('<form method="post" action="/search"><input name="q"></form>'
               '<form method="post" action="/login"><input name="login">'
               '<input type="password" name="passwd"></form>')
    site = Site({("GET", "/authorize"): two, ("POST", "/login"): redirect(f"{CALLBACK}?code=1")})
    with site.agent() as agent:
        assert agent.authorize(f"{IDP}/authorize", username="a", password="b",
                               stop_at=CALLBACK).code == "1"
    ambiguous = page('<form method="post" action="/a"><input name="x"></form>'
                     '<form method="post" action="/b"><input name="y"></form>')
    with Site({("GET", "/authorize"): ambiguous}).agent() as agent, \
            pytest.raises(UserAgentError, match="2 POST forms"):
        agent.authorize(f"{IDP}/authorize", username="a", password="b", stop_at=CALLBACK)


def test_unexpected_responses_raise_user_agent_error() -> None:
    json_error = Site({("GET", "/authorize"): lambda _r: httpx.Response(
        500, json={"error": "server_error"})})
    with json_error.agent() as agent, pytest.raises(UserAgentError, match="500 application/json"):
        agent.authorize(f"{IDP}/authorize", username="a", password="b", stop_at=CALLBACK)
    loop = Site({("GET", "/authorize"): redirect("/authorize")})
    with loop.agent() as agent, pytest.raises(UserAgentError, match=f"after {MAX_HOPS}"):
        agent.authorize(f"{IDP}/authorize", username="a", password="b", stop_at=CALLBACK)
    assert len(loop.requests) == MAX_HOPS
    with loop.agent() as agent, pytest.raises(ValueError, match="stop_at"):
        agent.authorize(f"{IDP}/authorize", username="a", password="b", stop_at="")


def test_no_consent_button_for_the_choice_is_an_error() -> None:
    only_accept = page('<form method="post" action="/c"><button name="consent" value="accept">'
                       'Accept</button><button name="other" value="later">Later</button></form>')
    with Site({("GET", "/authorize"): only_accept}).agent() as agent, \
            pytest.raises(UserAgentError, match="no button to decline"):
        agent.authorize(f"{IDP}/authorize", username="a", password="b", consent="decline",
                        stop_at=CALLBACK)
