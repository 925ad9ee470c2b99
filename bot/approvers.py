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

from cards import Viewer
from cards.context import MAX_REFRESH_USERS

SEEN_USERS_CHECKED = 500


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
        approvers: list[str] = []
        others: list[str] = []
        for user in await self._users.recent(SEEN_USERS_CHECKED):
            if await self.is_approver(user.aad_object_id):
                approvers.append(user.teams_id)
            else:
                others.append(user.teams_id)
            if len(approvers) == MAX_REFRESH_USERS:
                break
        return tuple((approvers + others)[:MAX_REFRESH_USERS])

    async def _person(self, aad_object_id: str):
        if not aad_object_id:
            return None
        return await self._engine.directory.person(aad_object_id)
