"""The time as the emulated Microsoft APIs write it: ISO 8601 in UTC with a `Z` suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    """Now, to the second, e.g. `2026-11-30T08:36:00Z`."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def servicenow_now() -> str:
    """Now as ServiceNow's Table API writes `sys_created_on`: `2026-11-30 08:36:00`."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
