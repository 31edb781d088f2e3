"""Exchange Web Services mock (SOAP 1.1 at /EWS/Exchange.asmx), one module per job.

Dependency direction (each module imports only from modules above it):

- `xml` – the only XML intake: capped body, hardened parse of the SOAP envelope, namespaces and
  element helpers;
- `recurrence` – t:Recurrence read into / written from the world's Recurrence; Windows and IANA
  time zone names;
- `render` – what goes on the wire: envelopes with ServerVersionInfo, ResponseMessages, SOAP
  faults, opaque ids, items and folders as elements;
- `auth` – who may call EWS, as whom (impersonation), and the rights on a mailbox's folders;
- `context` – what every operation is given (OpContext), ItemError, shared request readers;
- `folders` – FolderRef, resolving folder ids, folder rights; GetFolder, FindFolder;
- `fields` – item fields a request writes, read into a Patch and applied to the world;
- `items` – item refs, resolving item ids; GetItem, CreateItem, UpdateItem, DeleteItem;
- `restrictions` – m:Restriction compiled to a predicate, m:SortOrder;
- `find` – FindItem: indexed and calendar views, paging;
- `sync` – SyncFolderItems and its signed, per-world sync states;
- `convert_id` – ConvertId between id formats;
- `resolve_names` – ResolveNames against the tenant's users;
- `operations` – the dispatch table, SOAP operation name → handler;
- `endpoint` – the route: authentication, intake, SOAP header, fault plan, dispatch, audit log.

`routes(hub)` is the package's one entry point (mock_providers.app mounts it).
"""

from mock_providers.microsoft.ews.endpoint import routes

__all__ = ["routes"]
