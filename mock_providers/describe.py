"""The description of a running hub that `calharness serve --json` prints and
`GET /_control/world` returns. Keys are a public contract: add, never rename or remove.

Secrets (users' passwords, client secrets, the control token) are in it only when asked for:
`serve --json` prints them to the user's own terminal; `/world` returns them with
`?secrets=true` (and the control token, as every `/world` request needs)."""

from __future__ import annotations

from typing import Any

from mock_providers.hub import Hub


def _only(secrets: bool, **fields: Any) -> dict[str, Any]:
    return fields if secrets else {}


def describe(hub: Hub, *, secrets: bool = False) -> dict[str, Any]:
    world = hub.world
    google = hub.google_base
    return {
        "schema": "calharness.hub/1",
        "seed": world.seed,
        "base_url": hub.base_url,
        "control": hub.control_url,
        **_only(secrets, control_token=hub.control_token),
        "secrets_included": secrets,
        "ca_bundle": hub.ca_bundle,
        # The system's CAs plus ca_bundle: for REQUESTS_CA_BUNDLE / SSL_CERT_FILE / CURL_CA_BUNDLE.
        "ca_bundle_with_system": hub.ca_bundle_with_system,
        "microsoft": {
            "authority_host": hub.authority_host,
            "graph": hub.graph_url,
            "ews": hub.ews_url,
            "tenants": [
                {
                    "id": t.id,
                    "key": t.key,
                    "name": t.name,
                    "domains": list(t.domains),
                    "users_may_consent": t.users_may_consent,
                    "exchange": t.exchange,
                    "users": [
                        {"id": u.id, "upn": u.upn, **_only(secrets, password=u.password),
                         "display_name": u.display_name, "is_admin": u.is_admin}
                        for u in t.users.values()
                    ],
                    "apps": [
                        {"client_id": a.client_id,
                         **_only(secrets, client_secret=a.client_secret),
                         "redirect_uris": list(a.redirect_uris), "display_name": a.display_name,
                         "public_client": a.client_secret is None,
                         "granted_roles": sorted(a.granted_roles)}
                        for a in t.apps.values()
                    ],
                }
                for t in world.ms_tenants.values()
            ],
        },
        "google": {
            "auth_uri": f"{google}/o/oauth2/v2/auth",
            "token_uri": f"{google}/token",
            "calendar": f"{google}/calendar/v3/",
            "people": f"{google}/",
            # The same APIs at the real hosts' paths on the hub root, and the discovery URL
            # template (googleapiclient's discoveryServiceUrl) whose documents point there.
            "api_root": f"{hub.base_url}/",
            "discovery": f"{hub.base_url}/discovery/v1/apis/{{api}}/{{apiVersion}}/rest",
            "users": [
                {"email": u.email, **_only(secrets, password=u.password), "name": u.name}
                for d in world.google_domains.values() for u in d.users.values()
            ],
            "clients": [
                {"client_id": c.client_id, **_only(secrets, client_secret=c.client_secret),
                 "redirect_uris": list(c.redirect_uris)}
                for c in world.google_clients.values()
            ],
        },
    }
