"""The Google People v1 mock over TLS, driven by google-api-python-client unchanged
(static discovery, api_endpoint `{base}/google/`), google-auth-httplib2 and httplib2."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2.credentials import Credentials
from google_support import connect, users_of
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from mock_providers.google.render import person_id
from mock_providers.server import HubServer
from mock_providers.world import GoogleUser

AUTH = "https://www.googleapis.com/auth/"
CONTACTS = AUTH + "contacts"
CONTACTS_RO = AUTH + "contacts.readonly"
FIELDS = "names,emailAddresses,phoneNumbers,organizations,metadata"
DAY = 86400
EXPIRED = "Sync token is expired. Clear local cache and retry call without the sync token."


# -- helpers --------------------------------------------------------------------------------------
def people_api(server: HubServer, creds: Credentials) -> Resource:
    http = google_auth_httplib2.AuthorizedHttp(creds,
                                               http=httplib2.Http(ca_certs=server.ca_bundle))
    return build("people", "v1", http=http, static_discovery=True,
                 client_options={"api_endpoint": f"{server.base_url}/google/"})


def list_all(api: Resource, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(every connection, the raw pages), following nextPageToken."""
    connections = api.people().connections()
    pages: list[dict[str, Any]] = []
    request = connections.list(resourceName="people/me", personFields=FIELDS, **params)
    while request is not None:
        page = request.execute()
        pages.append(page)
        request = connections.list_next(request, page)
    return [p for page in pages for p in page.get("connections", [])], pages


def error_detail(err: HttpError) -> dict[str, Any]:
    details = err.error_details
    assert isinstance(details, list) and details, err
    return dict(details[0])


@pytest.fixture(scope="module")
def server(hub_server: HubServer) -> HubServer:
    hub_server.hub.reset()
    return hub_server


@pytest.fixture(scope="module")
def owner(server: HubServer) -> GoogleUser:
    return users_of(server)[0]


@pytest.fixture(scope="module")
def api(server: HubServer, owner: GoogleUser) -> Resource:
    return people_api(server, connect(server, owner, [CONTACTS]))


@pytest.fixture
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """A hub of its own for tests that move the world clock."""
    with HubServer(seed=12, tls=True, state_dir=tmp_path_factory.mktemp("people-hub")) as srv:
        yield srv


# -- list and sync ---------------------------------------------------------------------------------
def test_sync_round_returns_only_the_changes(server: HubServer, owner: GoogleUser,
                                             api: Resource) -> None:
    people, pages = list_all(api, pageSize=2, requestSyncToken=True)
    assert len(pages) == 3
    for page in pages[:-1]:
        assert "nextPageToken" in page and "nextSyncToken" not in page
    assert "nextSyncToken" in pages[-1] and "nextPageToken" not in pages[-1]
    assert pages[0]["totalPeople"] == pages[0]["totalItems"] == len(owner.contacts) == 6
    assert sorted(p["resourceName"] for p in people) == sorted(
        f"people/{person_id(c.id)}" for c in owner.contacts)
    first = people[0]
    assert first["resourceName"].startswith("people/c")
    assert first["metadata"]["sources"][0]["type"] == "CONTACT"
    assert first["names"][0]["metadata"]["primary"] is True

    created = api.people().createContact(personFields="names,emailAddresses", body={
        "names": [{"givenName": "Ada", "familyName": "Lovelace"}],
        "emailAddresses": [{"value": "ada@example.com", "type": "work"}]}).execute()
    assert created["names"][0]["displayName"] == "Ada Lovelace"
    assert created["emailAddresses"][0]["type"] == "work"
    assert "metadata" not in created  # only the members asked for
    updated_name, deleted_name = people[1]["resourceName"], people[2]["resourceName"]
    api.people().updateContact(resourceName=updated_name, updatePersonFields="names", body={
        "etag": people[1]["etag"], "names": [{"givenName": "Grace", "familyName": "Hopper"}],
    }).execute()
    assert api.people().deleteContact(resourceName=deleted_name).execute() == {}

    changes, rounds = list_all(api, syncToken=pages[-1]["nextSyncToken"],
                               requestSyncToken=True)
    by_name = {c["resourceName"]: c for c in changes}
    assert set(by_name) == {created["resourceName"], updated_name, deleted_name}
    assert by_name[updated_name]["names"][0]["displayName"] == "Grace Hopper"
    assert by_name[deleted_name]["metadata"] == {"deleted": True}
    assert set(by_name[deleted_name]) == {"resourceName", "etag", "metadata"}
    again, _ = list_all(api, syncToken=rounds[-1]["nextSyncToken"], requestSyncToken=True)
    assert again == []


def test_missing_person_fields_is_400(api: Resource) -> None:
    with pytest.raises(HttpError) as caught:
        api.people().connections().list(resourceName="people/me").execute()
    assert caught.value.status_code == 400
    assert caught.value.reason.startswith(
        "personFields mask is required. Please specify one or more valid paths.")
    with pytest.raises(HttpError) as bad:
        api.people().connections().list(resourceName="people/me",
                                        personFields="names,shoeSize").execute()
    assert bad.value.status_code == 400 and '"shoeSize"' in bad.value.reason


def test_stale_etag_is_400_failed_precondition(api: Resource) -> None:
    person = api.people().createContact(body={"names": [{"givenName": "Old"}]}).execute()
    fresh = api.people().updateContact(resourceName=person["resourceName"],
                                       updatePersonFields="names", body={
        "etag": person["etag"], "names": [{"givenName": "New"}]}).execute()
    assert fresh["etag"] != person["etag"]
    with pytest.raises(HttpError) as caught:
        api.people().updateContact(resourceName=person["resourceName"],
                                   updatePersonFields="names", body={
            "etag": person["etag"], "names": [{"givenName": "Lost"}]}).execute()
    err = caught.value
    assert err.status_code == 400
    assert err.reason == ("Request person.etag is different than the current person.etag. "
                          "Clear local cache and get the latest person.")
    assert b'"FAILED_PRECONDITION"' in err.content
    with pytest.raises(HttpError) as no_mask:
        api.people().updateContact(resourceName=person["resourceName"],
                                   body={"etag": fresh["etag"]}).execute()
    assert no_mask.value.reason.startswith("updatePersonFields mask is required.")


def test_get_and_delete(api: Resource) -> None:
    person = api.people().createContact(body={
        "names": [{"givenName": "Tmp"}], "phoneNumbers": [{"value": "+1 555 0100",
                                                           "type": "mobile"}]}).execute()
    got = api.people().get(resourceName=person["resourceName"],
                           personFields="phoneNumbers").execute()
    assert got["phoneNumbers"][0]["type"] == "mobile" and "names" not in got
    api.people().deleteContact(resourceName=person["resourceName"]).execute()
    with pytest.raises(HttpError) as caught:
        api.people().get(resourceName=person["resourceName"], personFields="names").execute()
    assert caught.value.status_code == 404


def test_read_only_scope_cannot_write(server: HubServer, owner: GoogleUser) -> None:
    readonly = people_api(server, connect(server, owner, [CONTACTS_RO]))
    assert list_all(readonly)[0]
    with pytest.raises(HttpError) as caught:
        readonly.people().createContact(body={"names": [{"givenName": "No"}]}).execute()
    assert caught.value.status_code == 403
    assert error_detail(caught.value)["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


def test_sync_token_expires_after_seven_days(clock_server: HubServer) -> None:
    owner = users_of(clock_server)[0]
    api = people_api(clock_server, connect(clock_server, owner, [CONTACTS]))
    _, pages = list_all(api, requestSyncToken=True)
    token = pages[-1]["nextSyncToken"]
    clock_server.hub.world.clock.advance(6 * DAY)
    assert list_all(api, syncToken=token, requestSyncToken=True)[0] == []
    clock_server.hub.world.clock.advance(2 * DAY)
    for stale in (token, "dW5rbm93bg"):
        with pytest.raises(HttpError) as caught:
            list_all(api, syncToken=stale, requestSyncToken=True)
        err = caught.value
        assert err.status_code == 400 and err.reason == EXPIRED
        assert error_detail(err)["reason"] == "EXPIRED_SYNC_TOKEN"
        assert b'"FAILED_PRECONDITION"' in err.content
