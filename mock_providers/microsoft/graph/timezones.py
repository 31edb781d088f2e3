"""Graph time zone names (UTC, Windows or IANA, as in `Prefer: outlook.timezone` and
`dateTimeTimeZone`) resolved to tzinfo, cached."""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The Windows names clients send most often (Prefer: outlook.timezone and dateTimeTimeZone).
WINDOWS_ZONES = {
    "utc": "UTC", "coordinated universal time": "UTC", "gmt standard time": "Europe/London",
    "w. europe standard time": "Europe/Berlin", "romance standard time": "Europe/Paris",
    "central europe standard time": "Europe/Budapest", "e. europe standard time": "Europe/Chisinau",
    "pacific standard time": "America/Los_Angeles", "mountain standard time": "America/Denver",
    "central standard time": "America/Chicago", "eastern standard time": "America/New_York",
    "india standard time": "Asia/Kolkata", "china standard time": "Asia/Shanghai",
    "tokyo standard time": "Asia/Tokyo", "aus eastern standard time": "Australia/Sydney",
}
_tz_cache: dict[str, tzinfo | None] = {}


def resolve_tz(name: str) -> tzinfo | None:
    """A tzinfo for a Graph time zone name (UTC, Windows or IANA), or None if unknown."""
    key = name.strip()
    if key in _tz_cache:
        return _tz_cache[key]
    iana = WINDOWS_ZONES.get(key.lower(), key)
    zone: tzinfo | None
    if iana.upper() in ("UTC", "ETC/UTC", "Z"):
        zone = UTC
    else:
        try:
            zone = ZoneInfo(iana) if iana and ".." not in iana else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    _tz_cache[key] = zone
    return zone
