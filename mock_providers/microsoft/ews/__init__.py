"""Exchange Web Services mock (SOAP 1.1 at /EWS/Exchange.asmx).

- `endpoint` – the route: authentication, intake, SOAP header, fault plan, dispatch, audit;
- `xml` – the only XML intake (capped, hardened parse), namespaces and element helpers;
- `render` – what goes on the wire: envelopes, ResponseMessages, faults, ids, items, folders;
- `auth` – who may call, as whom, and the rights on a mailbox's folders;
- `ops` – the operations.
"""

from mock_providers.microsoft.ews.endpoint import routes

__all__ = ["routes"]
