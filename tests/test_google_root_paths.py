"""Google's APIs at the paths the real hosts use, on the hub root: google-api-python-client and
google-auth unchanged, built against the root (static discovery with the root as api_endpoint,
and dynamic discovery from the hub's discovery paths, whose documents point at the hub), the
OAuth flow at accounts.google.com's / oauth2.googleapis.com's paths, and the Microsoft identity
routes that also live at the root still answering."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2.credentials import Credentials
from google_support import connect, users_of
from googleapiclient.discovery import Resource, build
from starlette.routing import Mount, Route

from harness.net import pinned_session
from mock_providers.app import create_app
from mock_providers.describe import describe
from mock_providers.google.discovery import document
from mock_providers.server import HubServer
from mock_providers.world import GoogleUser

AUTH = "https://www.googleapis.com/auth/"
SCOPES = [AUTH + "calendar", AUTH + "contacts", "openid", "email"]


@pytest.fixture(scope="module")
def server(hub_server: HubServer) -> HubServer:
    hub_server.hub.reset()
    return hub_server


@pytest.fixture(scope="module")
def owner(server: HubServer) -> GoogleUser:
    return users_of(server)[0]


@pytest.fixture(scope="module")
def creds(server: HubServer, owner: GoogleUser) -> Credentials:
    """Signed in entirely at the root: /o/oauth2/v2/auth, the pages' /signin and /consent,
    /token."""
    return connect(server, owner, SCOPES, prefix="")


def http_for(server: HubServer, creds: Credentials) -> google_auth_httplib2.AuthorizedHttp:
    return google_auth_httplib2.AuthorizedHttp(creds,
                                               http=httplib2.Http(ca_certs=server.ca_bundle))


def when(days: int) -> dict[str, str]:
    moment = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    return {"dateTime": (moment + timedelta(days=days)).isoformat()}


def exercise_calendar(calendar: Resource) -> None:
    listing = calendar.events().list(calendarId="primary").execute()
    created = calendar.events().insert(calendarId="primary", body={
        "summary": "At the root", "start": when(1), "end": when(2)}).execute()
    changes = calendar.events().list(calendarId="primary",
                                     syncToken=listing["nextSyncToken"]).execute()
    assert [c["id"] for c in changes["items"]] == [created["id"]]
    assert calendar.events().get(calendarId="primary",
                                 eventId=created["id"]).execute()["summary"] == "At the root"


def exercise_people(people: Resource) -> None:
    person = people.people().createContact(body={"names": [{"givenName": "Root"}]}).execute()
    listed = people.people().connections().list(resourceName="people/me",
                                                personFields="names", pageSize=1000).execute()
    assert person["resourceName"] in {c["resourceName"] for c in listed["connections"]}


def test_static_discovery_with_the_root_as_api_endpoint(server: HubServer,
                                                        creds: Credentials) -> None:
    http = http_for(server, creds)
    exercise_calendar(build("calendar", "v3", http=http, static_discovery=True,
                            client_options={"api_endpoint": f"{server.base_url}/calendar/v3/"}))
    exercise_people(build("people", "v1", http=http, static_discovery=True,
                          client_options={"api_endpoint": f"{server.base_url}/"}))


def test_dynamic_discovery_from_the_hub_points_at_the_hub(server: HubServer,
                                                          creds: Credentials) -> None:
    """No api_endpoint: the client takes rootUrl from the document the hub served."""
    http = http_for(server, creds)
    template = describe(server.hub)["google"]["discovery"]
    calendar = build("calendar", "v3", http=http, static_discovery=False, cache_discovery=False,
                     discoveryServiceUrl=template)
    exercise_calendar(calendar)
    people = build("people", "v1", http=http, static_discovery=False, cache_discovery=False,
                   discoveryServiceUrl=f"{server.base_url}/$discovery/rest?version={{apiVersion}}")
    exercise_people(people)


@pytest.mark.parametrize(("path", "api", "root"), [
    ("/discovery/v1/apis/calendar/v3/rest", ("calendar", "v3"), "/"),
    ("/$discovery/rest?version=v1", ("people", "v1"), "/"),
    ("/google/discovery/v1/apis/people/v1/rest", ("people", "v1"), "/google/"),
    ("/google/$discovery/rest?version=v3", ("calendar", "v3"), "/google/"),
])
def test_discovery_documents_are_the_shipped_ones_rooted_at_the_hub(
        server: HubServer, path: str, api: tuple[str, str], root: str) -> None:
    reply = pinned_session(server.ca_bundle).get(server.base_url + path)
    assert reply.status_code == 200
    served: dict[str, Any] = reply.json()
    shipped = document(*api)
    assert served["rootUrl"] == server.base_url + root
    assert served["baseUrl"] == server.base_url + root + shipped["servicePath"]
    moved = {"rootUrl", "baseUrl", "mtlsRootUrl"}
    assert {k: v for k, v in served.items() if k not in moved} == {
        k: v for k, v in shipped.items() if k not in moved}


def test_unknown_discovery_document_is_googles_404(server: HubServer) -> None:
    session = pinned_session(server.ca_bundle)
    for path in ("/discovery/v1/apis/gmail/v1/rest", "/$discovery/rest?version=v9",
                 "/$discovery/rest"):
        reply = session.get(server.base_url + path)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == 404


def test_oauth_endpoints_at_the_real_hosts_paths(server: HubServer, creds: Credentials) -> None:
    session = pinned_session(server.ca_bundle)
    base = server.base_url
    config = session.get(f"{base}/.well-known/openid-configuration").json()
    assert config["issuer"] == "https://accounts.google.com"
    assert config["token_endpoint"] == f"{base}/token"
    assert config["authorization_endpoint"] == f"{base}/o/oauth2/v2/auth"
    assert session.get(config["jwks_uri"]).json()["keys"]
    bearer = {"Authorization": f"Bearer {creds.token}"}
    for path in ("/v1/userinfo", "/oauth2/v3/userinfo"):
        info = session.get(base + path, headers=bearer)
        assert info.status_code == 200 and info.json()["email"]
    for path in ("/tokeninfo", "/oauth2/v3/tokeninfo"):
        info = session.get(f"{base}{path}?access_token={creds.token}")
        assert info.status_code == 200 and info.json()["aud"] == creds.client_id
    # A refresh at oauth2.googleapis.com's path and the legacy www.googleapis.com one.
    for path in ("/token", "/oauth2/v4/token", "/o/oauth2/token"):
        reply = session.post(base + path, data={
            "grant_type": "refresh_token", "refresh_token": creds.refresh_token,
            "client_id": creds.client_id, "client_secret": creds.client_secret})
        assert reply.status_code == 200 and reply.json()["access_token"].startswith("ya29.")
    wrong = session.get(f"{base}/token")
    assert wrong.status_code == 405 and wrong.json()["error"] == "invalid_request"


def test_microsoft_identity_at_the_root_is_not_shadowed(server: HubServer) -> None:
    session = pinned_session(server.ca_bundle)
    for tenant in server.hub.world.ms_tenants.values():
        reply = session.get(f"{server.base_url}/{tenant.id}/v2.0/.well-known/"
                            "openid-configuration")
        assert reply.status_code == 200, reply.text
        assert tenant.id in reply.json()["issuer"]
    keys = session.get(f"{server.base_url}/common/discovery/v2.0/keys")
    assert keys.status_code == 200 and keys.json()["keys"]


def test_google_root_routes_precede_identity_and_name_no_tenant(server: HubServer) -> None:
    """In the app's route table every Google root route comes before the first identity route
    (`/{tenant}/…`), and none of them starts with a path parameter."""
    routes = create_app(server.hub).routes
    paths = [r.path for r in routes if isinstance(r, Route | Mount)]
    first_identity = next(i for i, p in enumerate(paths) if p.startswith("/{tenant}"))
    google_root = ["/calendar/v3", "/v1/{rest:path}", "/discovery/v1/apis/{api}/{version}/rest",
                   "/$discovery/rest", "/o/oauth2/v2/auth", "/token", "/tokeninfo",
                   "/.well-known/openid-configuration", "/oauth2/v3/certs", "/v1/userinfo"]
    for path in google_root:
        assert paths.index(path) < first_identity, path
    for path in paths[:first_identity]:
        assert not path.startswith("/{"), path


def test_describe_adds_the_root_keys(server: HubServer) -> None:
    google = describe(server.hub)["google"]
    assert google["api_root"] == server.base_url + "/"
    assert google["calendar"] == server.base_url + "/google/calendar/v3/"  # unchanged
    template = google["discovery"]
    url = template.replace("{api}", "calendar").replace("{apiVersion}", "v3")
    doc = json.loads(pinned_session(server.ca_bundle).get(url).content)
    assert doc["rootUrl"] == google["api_root"]
