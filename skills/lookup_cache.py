"""Recent answers of read-only lookups, shared by the incidents that arrive close together.

Incidents come in storms about the same few entities (a campaign's recipients, a sprayed admin,
one infected laptop raising alert after alert). `LookupCache.through(key, make)` answers a
lookup from an earlier identical one made less than `ttl` seconds ago, and lets concurrent
identical lookups share one request. A lookup that fails is not kept. Each caller gets its own
copy of the answer.

When Cordon changes something (disables a user, isolates a machine), `forget(*names)` drops
every kept answer whose arguments name the target or any identifier the action used, so the
next incident reads the changed state.

Limitation: a change made outside Cordon (by an admin, by Identity Protection) can be seen up
to `ttl` seconds late; set `CORDON_ENRICHMENT_CACHE=0` to read everything fresh every time.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

MAX_ENTRIES = 10_000


@dataclass
class _Entry:
    at: float
    task: asyncio.Future
    names: frozenset[str]


class LookupCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[Hashable, _Entry] = {}

    async def through(self, key: Hashable, names: frozenset[str],
                      make: Callable[[], Awaitable[Any]]) -> Any:
        if self.ttl <= 0:
            return await make()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry.at >= self.ttl or _failed(entry.task):
            entry = _Entry(now, asyncio.ensure_future(make()), names)
            self._entries[key] = entry
            self._trim(now)
        try:
            value = await asyncio.shield(entry.task)
        except BaseException:
            if self._entries.get(key) is entry:
                del self._entries[key]
            raise
        return copy.deepcopy(value)

    def forget(self, *names: str) -> None:
        """Drop every kept answer whose lookup named any of `names` (case-insensitive)."""
        wanted = {n.lower() for n in names if n}
        if not wanted:
            return
        for key in [k for k, e in self._entries.items() if e.names & wanted]:
            del self._entries[key]

    def _trim(self, now: float) -> None:
        if len(self._entries) <= MAX_ENTRIES:
            return
        for key in [k for k, e in self._entries.items() if now - e.at >= self.ttl]:
            del self._entries[key]
        while len(self._entries) > MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]


def _failed(task: asyncio.Future) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)
