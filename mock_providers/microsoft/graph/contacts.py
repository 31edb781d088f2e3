"""Handlers of contacts and contact folders (the default folder is also reachable as
`contacts`), and contacts/delta."""

from __future__ import annotations

from collections.abc import Callable

from mock_providers.microsoft.graph import delta, odata
from mock_providers.microsoft.graph.bodies import (
    CONTACT_PROPERTIES,
    CONTACT_TYPE,
    apply_changes,
    parse_contact_body,
    parse_json_body,
)
from mock_providers.microsoft.graph.errors import item_not_found
from mock_providers.microsoft.graph.odata import ITEM_OPTIONS, LIST_OPTIONS
from mock_providers.microsoft.graph.render import (
    contact_json,
    dumps,
    folder_json,
    select,
    wrap_entity,
)
from mock_providers.microsoft.graph.request import (
    Req,
    Result,
    check_if_match,
    delta_result,
    paged,
)
from mock_providers.world import Contact, ContactFolder, MsUser
from mock_providers.world.seed import change_key

_CONTACT_EXPAND = frozenset({"extensions", "photo"})


def _folder(user: MsUser, folder_id: str | None) -> ContactFolder:
    if folder_id is None or folder_id.lower() == "contacts":
        return user.mailbox.default_contacts
    folder = user.mailbox.contact_folders.get(folder_id)
    if folder is None:
        raise item_not_found()
    return folder


def _find_contact(user: MsUser, contact_id: str,
                  folder_id: str | None) -> tuple[ContactFolder, Contact]:
    folders = ([_folder(user, folder_id)] if folder_id is not None
               else list(user.mailbox.contact_folders.values()))
    for folder in folders:
        contact = folder.contacts.get(contact_id)
        if contact is not None:
            return folder, contact
    raise item_not_found()


def _contacts_source(req: Req, folder: ContactFolder) -> delta.DeltaSource:
    fields = odata.parse_select(req.query, CONTACT_PROPERTIES, CONTACT_TYPE)
    render = req.state.render
    if fields is None:
        def render_contact(c: Contact) -> bytes:
            return render.contact(c, folder.id)
    else:
        def render_contact(c: Contact) -> bytes:
            return dumps(select(contact_json(c, folder.id), fields))
    return delta.DeltaSource("ct", folder.contacts, folder.id, lambda c: True, render_contact,
                             "#microsoft.graph.contact", None, windowed=False)


async def contacts_delta(req: Req, args: list[str]) -> Result:
    odata.refuse_on_delta(req.query, "Contacts", ("$expand", "$filter", "$orderby", "$search"))
    odata.refuse_options(req.query, ("$select", "$top", "$skiptoken", "$deltatoken"), "contacts")
    folder = _folder(req.user, args[0] if args else None)
    return delta_result(req, _contacts_source(req, folder), req.context("Collection(contact)"))


def _render_contacts(req: Req, folder: ContactFolder,
                     fields: tuple[str, ...] | None) -> Callable[[Contact], bytes]:
    render = req.state.render
    if fields is None:
        return lambda c: render.contact(c, folder.id)
    return lambda c: dumps(select(contact_json(c, folder.id), fields))


async def list_contacts(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, LIST_OPTIONS, "contacts")
    odata.check_expand(req.query, _CONTACT_EXPAND, CONTACT_TYPE)
    fields = odata.parse_select(req.query, CONTACT_PROPERTIES, CONTACT_TYPE)
    folder = _folder(req.user, args[0] if args else None)
    contacts = list(folder.contacts)
    text = req.query.get("$filter")
    if text is not None:
        predicate = odata.parse_filter(text, odata.CONTACT_FILTER_FIELDS, odata.model_field)
        contacts = [c for c in contacts if predicate(c)]
    order = req.query.get("$orderby")
    if order is not None:
        odata.sort_entities(contacts, odata.parse_orderby(order, odata.CONTACT_ORDER_FIELDS),
                            odata.model_field)
    else:
        contacts.sort(key=lambda c: (c.display_name.lower(), c.id))
    suffix = "contacts" if fields is None else f"contacts({','.join(fields)})"
    return paged(req, contacts, _render_contacts(req, folder, fields),
                 req.users_context(suffix))


async def get_contact(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ITEM_OPTIONS, "contact")
    folder_id, contact_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    folder, contact = _find_contact(req.user, contact_id, folder_id)
    req.detail["contact"] = contact_id
    fields = odata.parse_select(req.query, CONTACT_PROPERTIES, CONTACT_TYPE)
    if fields is None:
        fragment = req.state.render.contact(contact, folder.id)
    else:
        fragment = dumps(select(contact_json(contact, folder.id), fields))
    return Result(200, wrap_entity(req.users_context("contacts/$entity"), fragment))


async def create_contact(req: Req, args: list[str]) -> Result:
    changes = parse_contact_body(parse_json_body(await req.body()))  # before any lookup
    folder = _folder(req.user, args[0] if args else None)
    world = req.hub.world
    now = world.now()
    contact_id = world.new_id()
    contact = Contact(id=contact_id, display_name="", created=now, last_modified=now,
                      change_key=change_key(contact_id, 0))
    apply_changes(contact, changes)
    if not contact.display_name:
        contact.display_name = " ".join(p for p in (contact.given_name, contact.surname) if p)
    folder.contacts.put(contact.id, contact, world.next_seq())
    req.detail["contact"] = contact.id
    return Result(201, wrap_entity(req.users_context("contacts/$entity"),
                                   req.state.render.contact(contact, folder.id)))


async def update_contact(req: Req, args: list[str]) -> Result:
    # Body first, then lookup, If-Match and commit with no `await` in between (see
    # events.update_event): a delete answered meanwhile stays done.
    changes = parse_contact_body(parse_json_body(await req.body()))
    folder_id, contact_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    folder, contact = _find_contact(req.user, contact_id, folder_id)
    req.detail["contact"] = contact_id
    check_if_match(req, contact.change_key)
    world = req.hub.world
    apply_changes(contact, changes)
    contact.last_modified = world.now()
    version = int(contact.extra.get("graph_version", 0)) + 1
    contact.extra["graph_version"] = version
    contact.change_key = change_key(contact.id, "contact", version)
    folder.contacts.put(contact.id, contact, world.next_seq())
    return Result(200, wrap_entity(req.users_context("contacts/$entity"),
                                   req.state.render.contact(contact, folder.id)))


async def delete_contact(req: Req, args: list[str]) -> Result:
    folder_id, contact_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    folder, contact = _find_contact(req.user, contact_id, folder_id)
    req.detail["contact"] = contact_id
    check_if_match(req, contact.change_key)
    folder.contacts.delete(contact_id, req.hub.world.next_seq())
    return Result(204, b"")


async def list_folders(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select", "$top", "$skip", "$count"), "contactFolders")
    root = f"{req.user.id}-contactsroot"
    folders = list(req.user.mailbox.contact_folders.values())
    return paged(req, folders, lambda f: dumps(folder_json(f, root)),
                 req.users_context("contactFolders"))


async def get_folder(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select",), "contactFolder")
    folder = _folder(req.user, args[0])
    root = f"{req.user.id}-contactsroot"
    return Result(200, wrap_entity(req.users_context("contactFolders/$entity"),
                                   dumps(folder_json(folder, root))))
