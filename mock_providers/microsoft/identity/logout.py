"""The end-session endpoint (`/oauth2/v2.0/logout`): ends the browser's SSO session, clears its
cookie, and sends the browser on to `post_logout_redirect_uri` only if that URI is, exactly, a
redirect URI registered for the app the request names (`client_id`, or the audience of a valid
`id_token_hint`) in the path's tenant, as Entra does; otherwise it shows the signed-out page, so
the endpoint is no open redirect."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mock_providers.microsoft.identity import pages
from mock_providers.microsoft.identity.directory import find_app, resolve_tenant
from mock_providers.microsoft.identity.endpoint import Endpoint, read_form
from mock_providers.microsoft.identity.errors import AadError
from mock_providers.microsoft.identity.state import SESSION_COOKIE
from mock_providers.signing import TokenInvalid


class Logout(Endpoint):
    async def logout(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await read_form(request))
        self.state.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        target = params.get("post_logout_redirect_uri", "")
        client_id = self.client_id(params)
        redirect = self.registered(request.path_params["tenant"], client_id, target)
        response: Response
        if redirect:
            response = RedirectResponse(target, status_code=302)
        else:
            response = HTMLResponse(pages.signed_out_page())
        response.delete_cookie(SESSION_COOKIE, path="/")
        self.record(request, response.status_code, operation="logout", client_id=client_id,
                    detail={"post_logout_redirect_uri": target or None, "redirected": redirect})
        return response

    def client_id(self, params: dict[str, str]) -> str | None:
        """The app the request names: `client_id`, else the audience of `id_token_hint` if this
        hub signed it and it has not expired."""
        if params.get("client_id"):
            return params["client_id"]
        hint = params.get("id_token_hint")
        if not hint:
            return None
        try:
            aud = self.hub.signer.verify(hint, self.now()).get("aud")
        except TokenInvalid:
            return None
        return aud if isinstance(aud, str) else None

    def registered(self, alias: str, client_id: str | None, uri: str) -> bool:
        """Whether `uri` is exactly one of the app's registered redirect URIs; no loopback-port
        or prefix leniency."""
        if not client_id or not uri:
            return False
        try:
            tenant = resolve_tenant(self.world, alias)
        except AadError:
            return False
        found = find_app(self.world, tenant, client_id)
        return found is not None and uri in found[0].redirect_uris
