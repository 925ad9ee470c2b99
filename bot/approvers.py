"""Who sees Approve and Reject: approvers, as Entra ID and the policy say, never as a card says.

`Approvers.viewer(aad_object_id)` looks the person up through the engine's directory (the same
lookup the engine's own checks use) and marks them an approver when they belong to one of the
policy's `approver_groups`. `Approvers.teams_ids()` lists the Teams ids (`29:…`) of the people
the bot has seen, approvers first, newest first, at most 60: a card's `refresh.userIds`, so Teams
asks for those people's own view (an approver's with buttons, anyone else's with the state only).
This only decides what a card shows; the engine decides what a click does.

Limitation: someone the bot has never seen (never messaged it, never clicked) is not in
`refresh.userIds`; they see the shared card, whose buttons the server refuses them if they may
not act, until they interact once, e.g. with `status <number>` or by clicking Why.
"""

from __future__ import annotations

import asyncio

from cards import Viewer
from cards.context import MAX_REFRESH_USERS

SEEN_USERS_CHECKED = 500
DIRECTORY_LOOKUPS_AT_ONCE = 10


class Approvers:
    def __init__(self, engine, users) -> None:
        self._engine = engine
        self._users = users

    async def is_approver(self, aad_object_id: str) -> bool:
        person = await self._person(aad_object_id)
        groups = set(self._engine.policy.approvals.approver_groups)
        return bool(person and groups.intersection(person.groups))

    async def viewer(self, aad_object_id: str, name: str = "") -> Viewer:
        person = await self._person(aad_object_id)
        groups = set(self._engine.policy.approvals.approver_groups)
        return Viewer(
            aad_object_id=aad_object_id or "",
            is_approver=bool(person and groups.intersection(person.groups)),
            name=(person.display_name if person else name) or "",
        )

    async def teams_ids(self) -> tuple[str, ...]:
        users = await self._users.recent(SEEN_USERS_CHECKED)
        # The directory lookups are independent: ask several at a time, not one after another,
        # and not all at once (Graph throttles bursts).
        gate = asyncio.Semaphore(DIRECTORY_LOOKUPS_AT_ONCE)

        async def approves(aad_object_id: str) -> bool:
            async with gate:
                return await self.is_approver(aad_object_id)

        verdicts = await asyncio.gather(*(approves(u.aad_object_id) for u in users))
        approvers = [u.teams_id for u, ok in zip(users, verdicts, strict=True) if ok]
        others = [u.teams_id for u, ok in zip(users, verdicts, strict=True) if not ok]
        return tuple((approvers + others)[:MAX_REFRESH_USERS])

    async def _person(self, aad_object_id: str):
        if not aad_object_id:
            return None
        return await self._engine.directory.person(aad_object_id)
