"""HTML of Google's sign-in experience: sign-in, account chooser, consent and error pages.

Every interactive page is one `<form method="post">` with an absolute action, named inputs and
plain submit buttons, so a form-filling user agent drives it without JavaScript. Error pages have
no form; they name the OAuth error as "Error code: …" and carry the description in a
`role="alert"` element, which is where the harness's user agent reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

_STYLE = ("body{font-family:Roboto,Helvetica,Arial,sans-serif;background:#fff;margin:0}"
          "main{max-width:450px;margin:48px auto;border:1px solid #dadce0;border-radius:8px;"
          "padding:48px 40px}"
          "input[type=email],input[type=password]{width:100%;padding:13px 15px;margin:8px 0;"
          "border:1px solid #dadce0;border-radius:4px;box-sizing:border-box}"
          "button{padding:8px 24px;margin:16px 8px 0 0;border-radius:4px}"
          ".error{color:#d93025}.small{font-size:12px;color:#5f6368}")


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main><div class=\"small\">Google</div>{body}</main></body></html>\n")


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def _alert(message: str | None) -> str:
    return f'<div class="error" role="alert">{escape(message)}</div>' if message else ""


def signin_page(*, action: str, flow_id: str, app_name: str, login_hint: str = "",
                error: str | None = None) -> str:
    body = (
        f"<h1>Sign in</h1><p>to continue to {escape(app_name)}</p>{_alert(error)}"
        f'<form method="post" action="{escape(action)}">{_hidden("flow", flow_id)}'
        f'<label for="identifier">Email or phone</label>'
        f'<input type="email" id="identifier" name="identifier" value="{escape(login_hint)}" '
        f'autocomplete="username">'
        f'<label for="Passwd">Enter your password</label>'
        f'<input type="password" id="Passwd" name="Passwd" autocomplete="current-password">'
        f'<button type="submit">Next</button></form>'
    )
    return _page("Sign in - Google Accounts", body)


def account_chooser_page(*, action: str, flow_id: str, app_name: str, email: str,
                         name: str) -> str:
    body = (
        f"<h1>Choose an account</h1><p>to continue to {escape(app_name)}</p>"
        f"<p>{escape(name)}</p>"
        f'<form method="post" action="{escape(action)}">{_hidden("flow", flow_id)}'
        f'<label for="identifier">Signed in as</label>'
        f'<input type="email" id="identifier" name="identifier" value="{escape(email)}">'
        f'<button type="submit">Continue</button></form>'
        f'<p class="small">Enter another address to use another account.</p>'
    )
    return _page("Sign in - Google Accounts", body)


def consent_page(*, action: str, flow_id: str, app_name: str, email: str,
                 requested: Iterable[tuple[str, str]],
                 already_granted: Iterable[tuple[str, str]]) -> str:
    def items(lines: Iterable[tuple[str, str]]) -> str:
        return "".join(f'<li data-scope="{escape(scope)}">{escape(text)} '
                       f'<span class="small">({escape(scope)})</span></li>'
                       for scope, text in lines)

    granted = items(already_granted)
    earlier = (f"<p>{escape(app_name)} already has some access:</p><ul>{granted}</ul>"
               if granted else "")
    body = (
        f'<p class="small">{escape(email)}</p>'
        f"<h1>{escape(app_name)} wants to access your Google Account</h1>"
        f"<p>This will allow {escape(app_name)} to:</p><ul>{items(requested)}</ul>{earlier}"
        f"<p>Make sure you trust {escape(app_name)}.</p>"
        f'<form method="post" action="{escape(action)}">{_hidden("flow", flow_id)}'
        f'<button type="submit" name="consent" value="decline">Cancel</button>'
        f'<button type="submit" name="consent" value="accept">Allow</button></form>'
    )
    return _page("Sign in - Google Accounts", body)


def error_page(*, status: int, error: str, description: str,
               details: Iterable[str] = ()) -> str:
    lines = "".join(f"<div>{escape(line)}</div>" for line in details)
    body = (
        "<h1>Access blocked: Authorization Error</h1>"
        f"{_alert(description)}"
        f"<p><strong>Error {status}: {escape(error)}</strong></p>"
        f'<div class="small"><div>Error code: {escape(error)}</div>'
        f"<div>Request details:</div>{lines}</div>"
    )
    return _page(f"Error {status}: {error}", body)
