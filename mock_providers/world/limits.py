"""Length limits of the Exchange store, shared by Graph and EWS (one mailbox behind both).

Exchange keeps at most 255 characters in an item's subject (PidTagSubject) and in the short
text properties of the same kind (categories, a contact's name parts). A longer value is not
refused: the store keeps its first 255 UTF-16 code units (WCHARs) without splitting a surrogate
pair, as [MS-OXCICAL] 2.1.3.1.1.20.24 says of SUMMARY and as exchangelib's maintainer describes
EWS doing with long subjects (exchangelib itself refuses them client-side, max_length=255). Graph
and EWS both write through `exchange_text`, so a long subject written through one protocol reads
back through the other capped the same way.
"""

from __future__ import annotations

SUBJECT_LIMIT = 255  # UTF-16 code units


def exchange_text(value: str, limit: int = SUBJECT_LIMIT) -> str:
    """`value` as the Exchange store keeps it: its first `limit` UTF-16 code units, a surrogate
    pair cut in half dropped whole."""
    if len(value) <= limit // 2:  # every code point is at most two code units: no work
        return value
    encoded = value.encode("utf-16-le", "surrogatepass")
    if len(encoded) <= 2 * limit:
        return value
    cut = encoded[:2 * limit]
    if 0xD800 <= int.from_bytes(cut[-2:], "little") <= 0xDBFF:  # half a pair
        cut = cut[:-2]
    return cut.decode("utf-16-le", "surrogatepass")
