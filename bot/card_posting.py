"""Proactive incident cards: posted to every subscribed conversation, updated for everyone.

`IncidentCards.triaged(record)` and `.changed(record)` are the engine's listeners. Neither
waits for Teams: each schedules work per incident and returns, so a click's answer and the
intake's answer never wait on the Bot Connector. The work for one incident is serialized and
coalesced: it re-reads the incident's current record when it runs, so a burst of changes ends
in one update showing the latest state, and an update can never overtake the post it updates.

Posting sends the shared view (`CardViews.shared`) through
`adapter.continue_conversation(reference, callback, bot_app_id)` with the conversation
references the store keeps, so it works after a restart, and remembers each posted activity id
per incident and conversation (`store.posted_cards`). An update replaces every remembered card
of the incident with `update_activity` on that activity id. A conversation that fails (the bot
was removed, the connector is down) is logged and does not stop the others.

Limitation: work scheduled but not yet done when the process stops is lost; the next change of
the incident updates its cards again, and `status <number>` shows the current state.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.conversation_ids import base_id, reference_from
from core.models import IncidentRecord

log = structlog.get_logger(__name__)


def card_activity(card: dict[str, Any], activity_id: str | None = None) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    activity.type = ActivityTypes.message
    if activity_id:
        activity.id = activity_id
    return activity


class IncidentCards:
    def __init__(self, *, adapter, app_id: str, conversations, posted_cards, engine,
                 views) -> None:
        self._adapter = adapter
        self._app_id = app_id or None
        self._conversations = conversations
        self._posted = posted_cards
        self._engine = engine
        self._views = views
        self._dirty: set[str] = set()
        self._to_post: set[str] = set()
        self._workers: dict[str, asyncio.Task] = {}

    # -- the engine's listeners ------------------------------------------------------------

    async def triaged(self, record: IncidentRecord) -> None:
        self._schedule(record.incident.id, post=True)

    async def changed(self, record: IncidentRecord) -> None:
        self._schedule(record.incident.id, post=False)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for scheduled posts and updates (tests, and a clean stop)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._workers and loop.time() < deadline:
            await asyncio.wait(list(self._workers.values()), timeout=deadline - loop.time())

    # -- in a turn ----------------------------------------------------------------------------

    async def post_here(self, turn_context: TurnContext, record: IncidentRecord) -> None:
        """Send the incident's card as a reply in this turn, and keep it updated."""
        card = await self._views.shared(record)
        response = await turn_context.send_activity(card_activity(card))
        if response and response.id:
            conversation = base_id(turn_context.activity.conversation.id)
            await self._posted.add(record.incident.id, conversation, response.id)

    # -- the work ---------------------------------------------------------------------------

    def _schedule(self, incident_id: str, *, post: bool) -> None:
        if post:
            self._to_post.add(incident_id)
        self._dirty.add(incident_id)
        if incident_id not in self._workers:
            self._workers[incident_id] = asyncio.create_task(self._work(incident_id))

    async def _work(self, incident_id: str) -> None:
        try:
            while incident_id in self._dirty:
                self._dirty.discard(incident_id)
                posting = incident_id in self._to_post
                self._to_post.discard(incident_id)
                try:
                    record = await self._engine.record(incident_id)
                    if record is None:
                        continue
                    if posting:
                        await self._post_everywhere(record)
                    else:
                        await self._update_everywhere(record)
                except Exception:
                    log.exception("incident card work failed", incident_id=incident_id)
        finally:
            self._workers.pop(incident_id, None)

    async def _post_everywhere(self, record: IncidentRecord) -> None:
        references = await self._conversations.subscribed()
        if not references:
            log.info("incident card not posted", incident_id=record.incident.id,
                     reason="no subscribed conversation")
            return
        card = await self._views.shared(record)
        for stored in references:
            reference = reference_from(stored)
            conversation = base_id(reference.conversation.id)
            try:
                activity_id = await self._send(reference, card_activity(card))
            except Exception as exc:
                log.warning("incident card post failed", incident_id=record.incident.id,
                            conversation_id=conversation, error=str(exc))
                continue
            if activity_id:
                await self._posted.add(record.incident.id, conversation, activity_id)
            log.info("incident card posted", incident_id=record.incident.id,
                     number=record.incident.number, conversation_id=conversation,
                     activity_id=activity_id)

    async def _update_everywhere(self, record: IncidentRecord) -> None:
        posted = await self._posted.for_incident(record.incident.id)
        if not posted:
            return
        card = await self._views.shared(record)
        for item in posted:
            stored = await self._conversations.get(item.conversation_id)
            if stored is None:
                continue
            try:
                await self._update(reference_from(stored["reference"]),
                                   card_activity(card, item.activity_id))
            except Exception as exc:
                log.warning("incident card update failed", incident_id=record.incident.id,
                            conversation_id=item.conversation_id,
                            activity_id=item.activity_id, error=str(exc))
                continue
            log.info("incident card updated", incident_id=record.incident.id,
                     conversation_id=item.conversation_id, activity_id=item.activity_id,
                     outcome=record.outcome)

    async def _send(self, reference, activity: Activity) -> str | None:
        sent: dict[str, str | None] = {}

        async def callback(turn_context: TurnContext) -> None:
            response = await turn_context.send_activity(activity)
            sent["id"] = response.id if response else None

        await self._adapter.continue_conversation(reference, callback, bot_app_id=self._app_id)
        return sent.get("id")

    async def _update(self, reference, activity: Activity) -> None:
        async def callback(turn_context: TurnContext) -> None:
            await turn_context.update_activity(activity)

        await self._adapter.continue_conversation(reference, callback, bot_app_id=self._app_id)
