"""Handlers of /me, /users/{id|upn} and /users."""

from __future__ import annotations

from mock_providers.microsoft.graph import odata
from mock_providers.microsoft.graph.render import dumps, select, user_json, wrap_entity
from mock_providers.microsoft.graph.request import Req, Result, paged

_USER_FIELDS = frozenset({"businessPhones", "displayName", "givenName", "jobTitle", "mail",
                          "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                          "userPrincipalName", "id"})


async def get_user(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select", "$expand"), "user")
    fields = odata.parse_select(req.query, _USER_FIELDS, "microsoft.graph.user")
    data = user_json(req.user)
    context = req.context("users/$entity")
    if fields is not None:
        data = select(data, fields)
        context = req.context(f"users({','.join(fields)})/$entity")
    return Result(200, wrap_entity(context, dumps(data)))


async def list_users(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select", "$top", "$skip", "$count"), "users")
    tenant = next(t for t in req.hub.world.ms_tenants.values() if t.id == req.user.tenant_id)
    users = sorted(tenant.users.values(), key=lambda u: u.upn)
    return paged(req, users, lambda u: dumps(user_json(u)), req.context("users"))
