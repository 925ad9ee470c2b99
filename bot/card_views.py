"""The incident card as one person, or everyone, should see it now.

`CardViews.shared(record)` is the card posted to a conversation: no approver buttons, and a
`refresh` listing the approvers' Teams ids so each gets their own view. `for_viewer(record,
viewer, banner)` is that per-person view, the answer to a click or a refresh. Both are rendered
by `cards.incident_card`; this module only builds the context (time, viewer, approvers, the
policy's undo window, the banner).
"""

from __future__ import annotations

from datetime import UTC, datetime

from cards import Banner, CardContext, Viewer, incident_card
from core.models import IncidentRecord


class CardViews:
    def __init__(self, engine, approvers) -> None:
        self._engine = engine
        self._approvers = approvers

    async def shared(self, record: IncidentRecord, banner: Banner | None = None) -> dict:
        return incident_card(record, await self._context(None, banner))

    async def for_viewer(self, record: IncidentRecord, viewer: Viewer,
                         banner: Banner | None = None) -> dict:
        return incident_card(record, await self._context(viewer, banner))

    async def _context(self, viewer: Viewer | None, banner: Banner | None) -> CardContext:
        return CardContext(
            now=datetime.now(UTC),
            viewer=viewer,
            approver_user_ids=await self._approvers.teams_ids(),
            undo_window=self._engine.policy.approvals.undo_window,
            banner=banner,
        )
