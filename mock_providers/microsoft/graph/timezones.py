"""Graph time zone names (UTC, Windows or IANA, as in `Prefer: outlook.timezone` and
`dateTimeTimeZone`) resolved to tzinfo, cached; the range of instants every zone can render."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
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

# The instants an event (or an occurrence) may have: every zone (UTC-12 … UTC+14) can render them
# without leaving the years 1–9999 a datetime (and Edm.DateTimeOffset) can write.
MIN_INSTANT = datetime(1, 1, 1, tzinfo=UTC) + timedelta(days=1)
MAX_INSTANT = datetime(9999, 12, 31, tzinfo=UTC) - timedelta(days=1)
# Longer than every Windows and IANA zone name; a longer one is unknown without a lookup (ZoneInfo
# raises OSError for a name too long to be a file name).
MAX_ZONE_NAME = 100
_CACHE_MAX = 4096  # names looked up, the unknown ones too: bounded against a flood of junk


def resolve_tz(name: str) -> tzinfo | None:
    """A tzinfo for a Graph time zone name (UTC, Windows or IANA), or None if unknown."""
    key = name.strip()
    found = _tz_cache.get(key, _tz_cache)
    if found is not _tz_cache:
        return found  # type: ignore[return-value]
    if len(key) > MAX_ZONE_NAME or not key.isascii() or "\x00" in key:
        return None
    iana = WINDOWS_ZONES.get(key.lower(), key)
    zone: tzinfo | None
    if iana.upper() in ("UTC", "ETC/UTC", "Z"):
        zone = UTC
    else:
        try:
            zone = ZoneInfo(iana) if iana and ".." not in iana else None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            zone = None
    if len(_tz_cache) >= _CACHE_MAX:
        _tz_cache.clear()
    _tz_cache[key] = zone
    return zone
