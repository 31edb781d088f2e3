"""Microsoft identity platform v2.0 mock: OIDC discovery, JWKS, the authorize leg (real HTML
login, account picker, consent and "Need admin approval" pages), the token endpoint
(authorization_code, refresh_token, client_credentials, password), v2 admin consent, user realm
and logout, plus the admin operations the control API offers.

Modules, each importing only those listed above it (and `mock_providers.microsoft.claims` /
`scopes`, shared with Graph and EWS):

- `errors`     AADSTS errors in Entra's shapes: token JSON, redirect parameters, page text
- `pages`      HTML of the sign-in experience (login, account picker, consent, errors, form_post)
- `state`      per-world identity state: sign-in flows, SSO sessions, code sign-in times
- `directory`  the tenant, app, registered redirect URIs and granted consent a request names
- `faults`     the world's fault plan applied to identity endpoints
- `endpoint`   what every endpoint shares: world, clock, trace ids, audit, answers to the client
- `discovery`  openid-configuration, JWKS, user realm, the /error page; the issuer
- `signin`     a validated flow to its end: SSO, login page and /login post, consent page or code
- `authorize`  /authorize: the request's checks, turning it into a sign-in flow
- `consent`    the consent page's post (/Consent/Set) and v2 /adminconsent
- `grants`     /token: client authentication and the four grants, token issuance
- `logout`     /oauth2/v2.0/logout: ends the SSO session
- `routing`    the URL table: path → endpoint (`routes(hub)`)
- `admin`      control-API operations (password, sessions, consent policy, grants, app roles)

Server-side state a browser session needs lives in `state.IdentityState`, tied to the World
object, so `hub.reset()` drops it with the world. Documented choices sit in the docstrings of
`discovery` (issuer), `signin` (`.default` never shows a consent page) and `grants` (roles,
`scp`, refresh-token rotation).
"""

from mock_providers.microsoft.identity.admin import IdentityAdmin
from mock_providers.microsoft.identity.routing import routes

__all__ = ["IdentityAdmin", "routes"]
