"""Who a clicker is: their Entra ID name, principal name and groups, from their object id.

Approver and admin checks rest on this and on nothing the card or the message says. Answers are
cached for a short while (group changes take effect within `ttl` seconds), and a lookup that
fails returns None, which every check treats as "may not".
"""

from __future__ import annotations

import time

import structlog

from response.approvals import Person

log = structlog.get_logger(__name__)


class GraphDirectory:
    def __init__(self, identity, *, ttl: float = 60.0) -> None:
        self._identity = identity
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Person | None]] = {}

    async def person(self, object_id: str) -> Person | None:
        object_id = (object_id or "").strip()
        if not object_id:
            return None
        cached = self._cache.get(object_id)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        try:
            user = await self._identity.user(object_id)
            if not user or user.get("found") is False:
                person = None
            else:
                groups = await self._identity.groups(user.get("id") or object_id)
                person = Person(
                    id=str(user.get("id") or object_id),
                    display_name=str(user.get("displayName") or object_id),
                    upn=str(user.get("userPrincipalName") or "").lower(),
                    groups=tuple(groups.get("groups", [])),
                )
        except Exception as exc:
            log.warning("directory lookup failed", object_id=object_id, error=str(exc))
            return None
        self._cache[object_id] = (time.monotonic(), person)
        return person
