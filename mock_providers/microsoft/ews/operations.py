"""The dispatch table: SOAP operation name → handler. Anything else is an ErrorInvalidOperation
fault naming the operation.

- ConvertId (`convert_id`); GetFolder, FindFolder (`folders`); FindItem (`find`);
- GetItem, CreateItem, UpdateItem, DeleteItem (`items`); SyncFolderItems (`sync`);
- ResolveNames (`resolve_names`).
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from mock_providers.microsoft.ews.context import OpContext
from mock_providers.microsoft.ews.convert_id import convert_id
from mock_providers.microsoft.ews.find import find_item
from mock_providers.microsoft.ews.folders import find_folder, get_folder
from mock_providers.microsoft.ews.items import create_item, delete_item, get_item, update_item
from mock_providers.microsoft.ews.resolve_names import resolve_names
from mock_providers.microsoft.ews.sync import sync_folder_items

Handler = Callable[[OpContext, etree._Element], list[etree._Element]]

OPERATIONS: dict[str, Handler] = {
    "ConvertId": convert_id,
    "GetFolder": get_folder,
    "FindFolder": find_folder,
    "FindItem": find_item,
    "GetItem": get_item,
    "CreateItem": create_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "SyncFolderItems": sync_folder_items,
    "ResolveNames": resolve_names,
}
