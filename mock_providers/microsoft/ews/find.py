"""FindItem: the items of a folder, filtered, sorted and paged.

Shallow traversal (SoftDeleted and Associated find nothing); m:IndexedPageItemView (Offset,
MaxEntriesReturned, BasePoint), m:CalendarView (overlap of [StartDate, EndDate),
MaxEntriesReturned truncates and clears IncludesLastItemInRange), no view; m:Restriction and
m:SortOrder as `restrictions` compiles them. QueryString, FractionalPageItemView, grouping and
ContactsView are ErrorUnsupportedQueryFilter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from mock_providers.microsoft.ews.context import (
    ItemError,
    OpContext,
    check_calendar_range,
    int_attr,
    paging,
    read_datetime,
    read_shape,
)
from mock_providers.microsoft.ews.folders import (
    FolderRef,
    folder_ids,
    folder_rights,
    resolve_folder,
)
from mock_providers.microsoft.ews.items import EventRef, ItemRef, item_ref, render_item
from mock_providers.microsoft.ews.render import Shape, error, success
from mock_providers.microsoft.ews.restrictions import ItemKind, compile_restriction, sort_items
from mock_providers.microsoft.ews.xml import m, schema_error, t
from mock_providers.world import Event
from mock_providers.world.recurrence import expand


def find_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("ItemShape")))
    traversal = op.get("Traversal", "Shallow")  # present but empty is not a traversal
    if traversal not in ("Shallow", "Deep", "SoftDeleted", "Associated"):
        raise schema_error(f"The value '{traversal}' is invalid for Traversal.")
    messages: list[etree._Element] = []
    for elem in folder_ids(op.find(m("ParentFolderIds"))):
        try:
            messages.append(_find_in_folder(ctx, op, elem, shape, traversal))
        except ItemError as err:
            messages.append(error("FindItem", err.code, err.text))
    return messages


def _find_in_folder(ctx: OpContext, op: etree._Element, elem: etree._Element, shape: Shape,
                    traversal: str) -> etree._Element:
    ref = resolve_folder(ctx, elem)
    rights = folder_rights(ctx, ref)
    is_event = ref.calendar is not None
    if ref.calendar is not None:  # the audit names the calendars read (which were not, too)
        ctx.detail.setdefault("calendars", []).append(ref.calendar.id)
    kind: ItemKind = "event" if is_event else "message" if ref.mail is not None else "contact"
    items: list[Any]
    if traversal in ("SoftDeleted", "Associated"):
        items = []
    elif ref.calendar is not None:
        items = sorted(ref.calendar.events, key=lambda e: (e.start, e.id))
    elif ref.contacts is not None:
        items = sorted(ref.contacts.contacts, key=lambda c: (c.display_name.casefold(), c.id))
    elif ref.mail is not None:  # newest first, as Outlook lists mail
        items = sorted(ref.mail.messages, key=lambda msg: (msg.created, msg.id), reverse=True)
    else:
        items = []
    for unsupported in ("QueryString", "FractionalPageItemView", "GroupBy",
                        "DistinguishedGroupBy", "ContactsView"):
        if op.find(m(unsupported)) is not None:
            raise ItemError("ErrorUnsupportedQueryFilter",
                            f"m:{unsupported} is not supported by this server.")
    restriction = op.find(m("Restriction"))
    if restriction is not None:
        kids = [c for c in restriction if isinstance(c.tag, str)]
        if kids:
            predicate = compile_restriction(kids[0], kind)
            items = [i for i in items if predicate(i)]
    calendar_view = op.find(m("CalendarView"))
    if calendar_view is not None and not is_event:
        raise ItemError("ErrorInvalidOperation",
                        "A CalendarView can only be used on a calendar folder.")
    message = success("FindItem")
    refs: list[ItemRef]
    if calendar_view is not None:
        refs, attrs = _calendar_view(ref, items, calendar_view)
    else:
        items = sort_items(items, op.find(m("SortOrder")), kind)
        page, attrs = _indexed_view(items, op.find(m("IndexedPageItemView")))
        refs = [item_ref(ref, item) for item in page]
    root = etree.SubElement(message, m("RootFolder"), attrs)
    container = etree.SubElement(root, t("Items"))
    for found in refs:
        render_item(container, found, shape, rights)
    ctx.detail["items"] = ctx.detail.get("items", 0) + len(refs)
    return message


def _calendar_view(folder: FolderRef, events: list[Event], view: etree._Element
                   ) -> tuple[list[ItemRef], dict[str, str]]:
    """Singles and the occurrences/exceptions of series that overlap [StartDate, EndDate)
    (a zero-length item at StartDate included), in start order; masters themselves never."""
    start = check_calendar_range(read_datetime(view.get("StartDate"), "StartDate"), "StartDate")
    end = check_calendar_range(read_datetime(view.get("EndDate"), "EndDate"), "EndDate")
    if end < start:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate",
                        "EndDate is earlier than StartDate.")
    if end - start > timedelta(days=2 * 366):
        raise ItemError("ErrorCalendarViewRangeTooBig",
                        "The time range for the calendar view is too big (at most two years).")
    limit = int_attr(view, "MaxEntriesReturned", 0, 1)
    assert folder.calendar is not None
    found: list[tuple[datetime, str, EventRef]] = []
    for event in events:
        if event.recurrence is not None:
            for instance in expand(event.recurrence, event.start, event.end, event.exceptions,
                                   start, end):
                found.append((instance.start, event.id, EventRef(
                    folder.owner, event, folder.calendar, instance)))
        elif event.start < end and (event.end > start or event.start == event.end == start):
            found.append((event.start, event.id, EventRef(folder.owner, event, folder.calendar)))
    found.sort(key=lambda f: (f[0], f[1]))
    inside: list[ItemRef] = [f[2] for f in found]
    page = inside[:limit] if limit else inside
    return page, {"TotalItemsInView": str(len(page)),
                  "IncludesLastItemInRange": "true" if len(page) == len(inside) else "false"}


def _indexed_view(items: list[Any], view: etree._Element | None
                  ) -> tuple[list[Any], dict[str, str]]:
    offset, limit = paging(view)
    base_point = "Beginning" if view is None else view.get("BasePoint", "Beginning")
    if base_point not in ("Beginning", "End"):  # the schema's enumeration
        raise schema_error(f"The value '{base_point[:40]}' is invalid for BasePoint.")
    total = len(items)
    if base_point == "End":
        stop = max(0, total - offset)
        begin = max(0, stop - limit) if limit else 0
        page = items[begin:stop]
        next_offset = offset + len(page)
        last = begin == 0
    else:
        page = items[offset:offset + limit] if limit else items[offset:]
        next_offset = offset + len(page)
        last = next_offset >= total
    return page, {"IndexedPagingOffset": str(next_offset), "TotalItemsInView": str(total),
                  "IncludesLastItemInRange": "true" if last else "false"}
