"""The variables a decision is judged on, built from the plain context the caller passes.

The caller (response's triage) passes a dict: `action` (`name`, `target`, `count`), `incident`,
`confidence`, `risk`, `user`, `device`, `ip`, and optionally `now` (a datetime; the clock
otherwise). This module turns it into the CEL variables DESIGN.md documents:

- `action` gets the canonical `name`, and `impact` and `reversible` from the catalog, whatever
  the caller claimed;
- `incident`, `user`, `device` and `ip` are always maps, with the documented fields defaulted
  (`user.groups` is `[]` when nothing is known), so `"Domain Admins" in user.groups` is simply
  false for an action on an IP; a field nobody documented (`user.department`) is still missing
  when there is no user, and the condition reading it fails closed;
- `user.groups` holds group names, also when the caller gave Graph group objects;
- `now` is `{hour, minute, weekday, date}` in the policy's timezone; `weekday` counts ISO
  style, 1 for Monday to 7 for Sunday, and `date` reads `YYYY-MM-DD`.

`entities` gathers what forbidden-entity checks look at: the `user`, `device` and `ip`
variables plus the optional `entities` map the caller may add (`users`: user maps or
principal names, `devices`: device maps, `ips`: addresses or ip maps), and each device's
`lastIpAddress`. A device in a forbidden range is itself forbidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from policy.catalog import ActionSpec

_INCIDENT = {"severity": "", "title": "", "labels": [], "tactics": [], "provider": "",
             "alertCount": 0}
_USER = {"groups": [], "isVip": False, "isAdmin": False, "riskLevel": "none"}
_DEVICE = {"machineTags": [], "isCritical": False}
_IP = {"address": "", "internal": False, "reputation": "unknown", "score": 0}
_EMPTY: Mapping[str, Any] = {}


def action_of(context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The context's `action` map (a bare string is read as the action's name)."""
    action = context.get("action")
    if isinstance(action, str):
        return {"name": action}
    return _as_map(action)


def moment(context: Mapping[str, Any]) -> datetime:
    """The decision's time: the context's `now` if it is a datetime, else the clock (UTC)."""
    now = context.get("now")
    if isinstance(now, datetime):
        return now if now.tzinfo else now.replace(tzinfo=UTC)
    return datetime.now(UTC)


def variables(
    context: Mapping[str, Any], spec: ActionSpec, zone: ZoneInfo, now: datetime,
) -> dict[str, Any]:
    """The CEL variables for one decision; see the module docstring for what is filled in."""
    action = action_of(context)
    built: dict[str, Any] = {
        "action": {
            "name": spec.id,
            "target": str(action.get("target", "")),
            "impact": spec.impact,
            "reversible": spec.reversible,
            "count": _whole(action.get("count", 1)),
        },
        "incident": {**_INCIDENT, **_as_map(context.get("incident"))},
        "user": user_of(context),
        "device": {**_DEVICE, **_as_map(context.get("device"))},
        "ip": {**_IP, **_as_map(context.get("ip"))},
        "now": _clock(context.get("now"), zone, now),
    }
    for name in ("confidence", "risk"):
        if context.get(name) is not None:
            built[name] = context[name]
    return built


def user_of(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context's user with the documented defaults and group names as strings."""
    user = {**_USER, **_as_map(context.get("user"))}
    user["groups"] = group_names(user.get("groups"))
    return user


def group_names(groups: Any) -> list[str]:
    """Group display names from names or Graph group objects."""
    if not isinstance(groups, list | tuple | set | frozenset):
        return []
    names = []
    for group in groups:
        if type(group) is not str and isinstance(group, Mapping):
            group = group.get("displayName", "")
        if isinstance(group, str) and group:
            names.append(group)
    return names


def entities(
    context: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """Every user, device and IP address the context names (see the module docstring)."""
    extra = _as_map(context.get("entities"))
    users = [_as_map(context.get("user"))]
    for user in extra.get("users") or ():
        users.append({"userPrincipalName": user} if isinstance(user, str) else _as_map(user))

    devices = [_as_map(context.get("device"))]
    devices.extend(_as_map(device) for device in extra.get("devices") or ())

    ips = [context.get("ip"), *(extra.get("ips") or ())]
    addresses = {str(_as_map(ip).get("address", "")) if not isinstance(ip, str) else ip
                 for ip in ips if ip}
    addresses.update(str(device.get("lastIpAddress") or "") for device in devices)
    return ([u for u in users if u], [d for d in devices if d],
            {a.strip() for a in addresses} - {""})


def _clock(given: Any, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    if isinstance(given, Mapping):
        return dict(given)
    local = now.astimezone(zone)
    return {"hour": local.hour, "minute": local.minute, "weekday": local.isoweekday(),
            "date": local.date().isoformat()}


def _as_map(value: Any) -> Mapping[str, Any]:
    """`value` if it is a map (not copied: callers only read it), else an empty one."""
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return _EMPTY


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
