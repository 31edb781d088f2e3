"""HTML of the sign-in experience: login, account picker, consent, "Need admin approval", error
and form_post pages.

Every interactive page is one `<form method="post">` with an absolute action, named inputs and
plain submit buttons, so any form-filling user agent can drive it without JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

_STYLE = ("body{font-family:Segoe UI,Helvetica,Arial,sans-serif;background:#f2f2f2;margin:0}"
          "main{max-width:440px;margin:48px auto;background:#fff;padding:44px;"
          "box-shadow:0 2px 6px rgba(0,0,0,.2)}"
          "input[type=email],input[type=password],input[type=text]{width:100%;padding:6px 0;"
          "margin:8px 0;border:0;border-bottom:1px solid #666}"
          "button{padding:6px 18px;margin:12px 8px 0 0}"
          ".error{color:#e81123}.small{font-size:12px;color:#666}")


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def _error_block(message: str | None) -> str:
    return f'<div class="error" role="alert">{escape(message)}</div>' if message else ""


def _trace_block(code: str, trace_lines: Iterable[str]) -> str:
    lines = "".join(f"<div>{escape(line)}</div>" for line in trace_lines)
    return f'<div class="small"><div>Error code: {escape(code)}</div>{lines}</div>'


def login_page(*, action: str, flow_id: str, app_name: str, organisation: str,
               login_hint: str = "", error: str | None = None) -> str:
    body = (
        f"<h1>Sign in</h1><p>to continue to {escape(app_name)}</p>"
        f"<p class=\"small\">{escape(organisation)}</p>{_error_block(error)}"
        f'<form method="post" action="{escape(action)}">{_hidden("flow", flow_id)}'
        f'<label for="login">Email, phone, or Skype</label>'
        f'<input type="email" id="login" name="login" value="{escape(login_hint)}" '
        f'autocomplete="username">'
        f'<label for="passwd">Password</label>'
        f'<input type="password" id="passwd" name="passwd" autocomplete="current-password">'
        f'<button type="submit">Sign in</button></form>'
    )
    return _page("Sign in to your account", body)


def account_picker_page(*, action: str, flow_id: str, upn: str, display_name: str) -> str:
    body = (
        f"<h1>Pick an account</h1><p>{escape(display_name)}</p>"
        f'<form method="post" action="{escape(action)}">{_hidden("flow", flow_id)}'
        f'<label for="login">Signed in as</label>'
        f'<input type="email" id="login" name="login" value="{escape(upn)}">'
        f'<button type="submit">Continue</button></form>'
        f'<p class="small">Enter another address to use another account.</p>'
    )
    return _page("Sign in to your account", body)


def consent_page(*, action: str, flow_id: str, app_name: str, upn: str,
                 permissions: Iterable[tuple[str, str]], offer_on_behalf: bool,
                 for_organisation: bool = False) -> str:
    items = "".join(f'<li data-scope="{escape(scope)}">{escape(text)} '
                    f'<span class="small">({escape(scope)})</span></li>'
                    for scope, text in permissions)
    on_behalf = ""
    if offer_on_behalf and not for_organisation:
        on_behalf = ('<p><input type="checkbox" id="consent_on_behalf" name="consent_on_behalf" '
                     'value="1"><label for="consent_on_behalf">Consent on behalf of your '
                     "organization</label></p>")
    audience = "your organization" if for_organisation else "you"
    body = (
        f'<p class="small">{escape(upn)}</p><h1>Permissions requested</h1>'
        f"<p><strong>{escape(app_name)}</strong></p>"
        f"<p>This app would like to (on behalf of {audience}):</p><ul>{items}</ul>"
        f'<form method="post" action="{escape(action)}">{_hidden("flow", flow_id)}{on_behalf}'
        f'<button type="submit" name="consent" value="decline">Cancel</button>'
        f'<button type="submit" name="consent" value="accept">Accept</button></form>'
    )
    return _page("Permissions requested", body)


def need_admin_approval_page(*, app_name: str, upn: str, code: str, description: str,
                             trace_lines: Iterable[str]) -> str:
    body = (
        f'<p class="small">{escape(upn)}</p><h1>Need admin approval</h1>'
        f"<p><strong>{escape(app_name)}</strong></p>"
        f"<p>{escape(app_name)} needs permission to access resources in your organization that "
        f"only an admin can grant. Please ask an admin to grant permission to this app before "
        f"you can use it.</p>{_error_block(description)}{_trace_block(code, trace_lines)}"
    )
    return _page("Need admin approval", body)


def error_page(*, code: str, description: str, trace_lines: Iterable[str]) -> str:
    body = (
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f"{_error_block(description)}{_trace_block(code, trace_lines)}"
    )
    return _page("Sign in to your account", body)


def form_post_page(*, action: str, params: Mapping[str, str]) -> str:
    """response_mode=form_post: submits itself in a browser; a noscript button otherwise."""
    fields = "".join(_hidden(k, v) for k, v in params.items())
    body = (
        f'<form method="post" name="hiddenform" action="{escape(action)}">{fields}'
        f'<noscript><p>Script is disabled. Click Submit to continue.</p>'
        f'<button type="submit">Submit</button></noscript></form>'
        f"<script>document.forms[0].submit();</script>"
    )
    return _page("Working...", body)


def error_code_page(*, code: int, message: str | None) -> str:
    text = message or "No description is available for this error code."
    return _page(f"AADSTS{code}", f"<h1>AADSTS{code}</h1><p>{escape(text)}</p>")


def signed_out_page() -> str:
    """What the logout endpoint shows when it does not redirect."""
    body = ("<h1>You signed out of your account</h1>"
            "<p>It's a good idea to close all browser windows.</p>")
    return _page("Sign out", body)
