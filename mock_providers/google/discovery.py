"""Google's discovery documents, as google-api-python-client ships them, and the routes that serve
them from the hub with `rootUrl` rewritten to it.

The documents are read from the installed `googleapiclient` package (its `discovery_cache/
documents`, the ones `build(..., static_discovery=True)` uses), so the mock validates request
bodies against the very schemas the client was generated from (`schema.py`) and a client that
fetches discovery over the network (`static_discovery=False`, or the Node `googleapis` package
with a root URL) gets the same document, pointing at the hub.

Paths, as the real hosts serve them:
    GET /discovery/v1/apis/{api}/{version}/rest     www.googleapis.com (googleapiclient's
                                                    DISCOVERY_URI, tried first)
    GET /$discovery/rest?version={version}           {api}.googleapis.com (V2_DISCOVERY_URI); the
                                                    hub has one host, so the version names the
                                                    API: v1 → people, v3 → calendar
Served at the hub root the document's rootUrl is `{base}/`; under /google it is `{base}/google/`,
which is where the prefixed APIs are.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mock_providers.google.errors import dumps, error_response, not_found

if TYPE_CHECKING:
    from mock_providers.hub import Hub

DOCUMENTS = {("calendar", "v3"): "calendar.v3.json", ("people", "v1"): "people.v1.json"}
V2_VERSIONS = {"v1": "people", "v3": "calendar"}
AUDIT_PROVIDER = {"calendar": "google-calendar", "people": "google-people"}


def _documents_dir() -> Path:
    spec = importlib.util.find_spec("googleapiclient")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("google-api-python-client is not installed: the Google mock reads "
                           "its discovery documents")
    return Path(next(iter(spec.submodule_search_locations))) / "discovery_cache" / "documents"


@functools.cache
def _raw_document(api: str, version: str) -> bytes:
    return (_documents_dir() / DOCUMENTS[(api, version)]).read_bytes()


@functools.cache
def document(api: str, version: str) -> dict[str, Any]:
    """The shipped discovery document (parsed once; callers must not modify it)."""
    data: dict[str, Any] = json.loads(_raw_document(api, version))
    return data


@functools.cache
def _served(api: str, version: str, root: str) -> bytes:
    doc = copy.deepcopy(document(api, version))
    doc["rootUrl"] = root
    doc["baseUrl"] = root + doc.get("servicePath", "")
    if "mtlsRootUrl" in doc:
        doc["mtlsRootUrl"] = root
    return dumps(doc)


def served_document(api: str, version: str, root: str) -> bytes:
    """The document as the hub serves it: rootUrl, baseUrl and mtlsRootUrl point at `root`."""
    return _served(api, version, root)


def routes(hub: Hub, prefix: str = "") -> list[BaseRoute]:
    """The discovery routes; `prefix` is where the APIs they describe are mounted."""

    def respond(request: Request, api: str | None, version: str | None) -> Response:
        path = request.url.path
        if api is None or version is None or (api, version) not in DOCUMENTS:
            hub.record("google-calendar", request.method, path, 404, outcome="notFound",
                       operation="discovery.get")
            return error_response(not_found())
        hub.record(AUDIT_PROVIDER[api], request.method, path, 200, operation="discovery.get",
                   detail={"api": f"{api}.{version}"})
        body = served_document(api, version, f"{hub.base_url}{prefix}/")
        return Response(body, media_type="application/json; charset=UTF-8")

    async def v1(request: Request) -> Response:
        params = request.path_params
        return respond(request, params["api"], params["version"])

    async def v2(request: Request) -> Response:
        version = request.query_params.get("version")
        return respond(request, V2_VERSIONS.get(version or ""), version)

    return [Route("/discovery/v1/apis/{api}/{version}/rest", v1, methods=["GET"]),
            Route("/$discovery/rest", v2, methods=["GET"])]
