"""Interfaces one part offers another without importing it.

`Authorizer` is how the skills' action plugins ask the response engine whether a call may act:
the engine implements it, the skills' function-invocation filter and every action plugin call it.
"""

from __future__ import annotations

from typing import Protocol


class Authorizer(Protocol):
    async def check(self, token: str, action: str, target: str) -> None:
        """Return if `token` is a live authorization for exactly this action on this target.

        Raise `core.errors.NotAuthorizedToAct` otherwise (unknown, expired, already used for a
        finished run, or issued for another action or target).
        """
