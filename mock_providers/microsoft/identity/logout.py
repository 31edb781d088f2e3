"""The end-session endpoint (`/oauth2/v2.0/logout`): ends the browser's SSO session and clears
its cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mock_providers.microsoft.identity import pages
from mock_providers.microsoft.identity.endpoint import Endpoint, read_form
from mock_providers.microsoft.identity.state import SESSION_COOKIE


class Logout(Endpoint):
    async def logout(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await read_form(request))
        self.state.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        target = params.get("post_logout_redirect_uri")
        response: Response
        if target:
            response = RedirectResponse(target, status_code=302)
        else:
            response = HTMLResponse(pages.error_code_page(code=0, message="You signed out of "
                                                          "your account."))
        response.delete_cookie(SESSION_COOKIE, path="/")
        self.record(request, response.status_code, operation="logout")
        return response
