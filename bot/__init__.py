"""Cordon's Microsoft Teams bot: the human in the loop.

    bot = await build_bot(settings, engine, store)
    app.router.add_post("/api/messages", bot.handle)

`CordonBot.handle(request)` serves the Bot Framework's POST /api/messages: it authenticates the
request (`bot.channel_auth`: with an app id, anything without a valid Bot Framework token is
401; with none, nothing is checked, for the Agents Playground), runs the activity through the
`CloudAdapter` and `bot.handler.CordonHandler`, and answers invokes with their response body.
Bad requests are 4xx with a reason, never a 500.

The bot subscribes to the engine: each triaged incident's card is posted to every subscribed
conversation, and each change of an incident's record updates every card posted for it
(`bot.card_posting`). Approvals, undo and pause all go through the engine; the bot has no
other way to act.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from botbuilder.core import TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from msrest.serialization import Model

from bot.approvers import Approvers
from bot.card_actions import CardActions
from bot.card_posting import IncidentCards
from bot.card_views import CardViews
from bot.channel_auth import ChannelAuth
from bot.handler import CordonHandler
from bot.questions import IncidentQuestions
from core.errors import Unauthorized

log = structlog.get_logger(__name__)


class CordonBot:
    def __init__(self, *, adapter: CloudAdapter, auth: ChannelAuth, handler: CordonHandler,
                 cards: IncidentCards) -> None:
        self.adapter = adapter
        self.auth = auth
        self.handler = handler
        self.cards = cards

    async def handle(self, request: web.Request) -> web.Response:
        json_body = "application/json" in (request.headers.get("Content-Type") or "")
        activity = await _activity(request) if json_body else None

        # The token is checked before the body is judged: with an app id, a request without
        # a valid token learns nothing but 401. A body that is no activity is checked against
        # an empty one (no serviceUrl to match), then refused for what it is.
        try:
            authenticated = await self.auth.authenticate(
                activity or Activity(), request.headers.get("Authorization", ""))
        except Unauthorized as exc:
            return _error(401, exc.code, exc.message)

        if not json_body:
            return _error(415, "unsupported_media_type",
                          "send the activity as application/json")
        if activity is None:
            return _error(400, "invalid_activity",
                          "the body is not a Bot Framework activity (JSON with a type)")

        response = await self.adapter.process_activity(authenticated, activity,
                                                       self.handler.on_turn)
        if response is None:
            return web.Response(status=201)
        body = response.body
        if isinstance(body, Model):
            body = serializer_helper(body)
        return web.json_response(body, status=response.status or 200)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for card posts and updates already scheduled."""
        await self.cards.drain(timeout)


async def build_bot(settings: Any, engine: Any, store: Any) -> CordonBot:
    from store.posted_cards import PostedCardRepository
    from store.teams_users import TeamsUserRepository

    auth = ChannelAuth(settings)
    adapter = CloudAdapter(auth.framework)
    adapter.on_turn_error = _on_turn_error

    posted = getattr(store, "posted_cards", None) or PostedCardRepository(store.db)
    users = getattr(store, "teams_users", None) or TeamsUserRepository(store.db)
    approvers = Approvers(engine, users)
    views = CardViews(engine, approvers)
    cards = IncidentCards(adapter=adapter, app_id=settings.app_id,
                          conversations=store.conversations, posted_cards=posted,
                          engine=engine, views=views)
    engine.on_triaged(cards.triaged)
    engine.on_record_changed(cards.changed)

    handler = CordonHandler(
        engine=engine, store=store, posted_cards=posted, teams_users=users,
        incident_cards=cards,
        actions=CardActions(engine=engine, store=store, posted_cards=posted,
                            approvers=approvers, views=views),
        questions=IncidentQuestions(engine=engine, store=store, posted_cards=posted),
    )
    log.info("bot ready", authenticated=auth.enabled, app_type=settings.app_type)
    return CordonBot(adapter=adapter, auth=auth, handler=handler, cards=cards)


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    activity = turn_context.activity
    log.error("bot turn failed", activity_type=activity.type, error=str(error),
              error_type=type(error).__name__, exc_info=error)
    if activity.type == "message":
        try:
            await turn_context.send_activity(
                "Sorry, Cordon failed on that message; it is logged. Try again, or ask `help`.")
        except Exception:
            log.warning("bot turn error reply failed")


async def _activity(request: web.Request) -> Activity | None:
    """The request's activity, or None when the body is not JSON with a `type`."""
    try:
        body = await request.json()
        activity = Activity().deserialize(body) if isinstance(body, dict) else None
    except Exception:
        return None
    return activity if activity is not None and activity.type else None


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


__all__ = ["CordonBot", "build_bot"]
