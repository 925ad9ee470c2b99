"""A throwaway Teams bot that exercises what the Playground can show, for the e2e smoke test.

Run it as `python -m tests.e2e.echo_bot PORT`; it serves `POST /api/messages` with an empty app
id (unauthenticated, Playground only) and `GET /healthz`, prints one JSON line per activity it
receives (type, conversation, serviceUrl, sender, aadObjectId, channelData), and answers:

- any text: `Echo: <text>` (a leading @mention of the bot is stripped);
- `card`: an Adaptive Card 1.5 titled "Smoke card" with Action.Execute buttons whose verbs
  choose the invoke answer: `approve` replaces the card for the clicker through the invoke
  response (naming the clicker and their aadObjectId), `update` changes the card for everyone
  with `update_activity` and answers with a toast, `refuse` answers with
  `application/vnd.microsoft.error`, `slow` answers after 7 seconds, `crash` raises (HTTP 500);
- `refresh card`: the same card with a `refresh` for the sender (a per-user view);
- `later`: a second later, `Proactive hello` through `continue_conversation` on the stored
  reference (its serviceUrl is the Playground's mock connector);
- `new post`: the same, to the channel itself rather than the thread, with a card
  "Posted on its own".

It exists to pin down the Playground's behaviour, not as an example of Cordon's bot: it keeps
no state beyond the process and checks nobody's rights. The 4.17.1 faults of REFERENCE.md are
worked around here: `adaptiveCard/action` is answered in `on_invoke_activity` with the response
model as body, and a toast's string value needs `value` typed as `object`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from http import HTTPStatus

from aiohttp import web
from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import AdaptiveCardInvokeResponse, ConversationReference

CARD_TITLE = "Smoke card"


class _AnonymousConfig:
    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


def smoke_card(status: str) -> dict:
    """The card the bot posts; `status` is the line that changes after a click."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": CARD_TITLE, "weight": "Bolder", "size": "Medium"},
            {"type": "TextBlock", "text": status, "wrap": True},
        ],
        "actions": [
            {"type": "Action.Execute", "title": "Approve", "verb": "approve", "data": {"n": 1}},
            {"type": "Action.Execute", "title": "Update for all", "verb": "update"},
            {"type": "Action.Execute", "title": "Refuse", "verb": "refuse"},
            {"type": "Action.Execute", "title": "Slow", "verb": "slow"},
            {"type": "Action.Execute", "title": "Crash", "verb": "crash"},
        ],
    }


class _MessageInvokeResponse(AdaptiveCardInvokeResponse):
    """4.17.1 types `value` as a dict, so a toast's string fails to serialize (HTTP 500)."""

    _attribute_map = {
        **AdaptiveCardInvokeResponse._attribute_map,
        "value": {"key": "value", "type": "object"},
    }


def _card_answer(card: dict) -> InvokeResponse:
    body = AdaptiveCardInvokeResponse(
        status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
    )
    return InvokeResponse(status=int(HTTPStatus.OK), body=body)


class EchoBot(TeamsActivityHandler):
    def __init__(self, adapter: CloudAdapter) -> None:
        self._adapter = adapter

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        seen = {
            "type": activity.type,
            "name": activity.name,
            "conversation": activity.conversation.id,
            "conversation_type": activity.conversation.conversation_type,
            "service_url": activity.service_url,
            "from": activity.from_property.name,
            "aad_object_id": activity.from_property.aad_object_id,
            "tenant": activity.conversation.tenant_id,
            "channel_data": activity.channel_data,
        }
        print(json.dumps(seen), flush=True)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        text = TurnContext.remove_recipient_mention(turn_context.activity) or ""
        text = text.strip()
        if text == "card":
            attachment = CardFactory.adaptive_card(smoke_card("Waiting for a click"))
            await turn_context.send_activity(MessageFactory.attachment(attachment))
            return

        if text == "refresh card":
            card = smoke_card("Shared view")
            user_id = turn_context.activity.from_property.id
            card["refresh"] = {
                "action": {"type": "Action.Execute", "verb": "refresh"},
                "userIds": [user_id],
            }
            attachment = CardFactory.adaptive_card(card)
            await turn_context.send_activity(MessageFactory.attachment(attachment))
            return

        if text in ("later", "new post"):
            reference = TurnContext.get_conversation_reference(turn_context.activity)
            if text == "new post":
                reference.conversation.id = reference.conversation.id.split(";")[0]
            posting = self._post_later(reference, with_card=text == "new post")
            asyncio.get_running_loop().create_task(posting)
            await turn_context.send_activity("Will post later")
            return

        await turn_context.send_activity(f"Echo: {text}")

    async def _post_later(self, reference: ConversationReference, with_card: bool) -> None:
        await asyncio.sleep(1)

        async def post(context: TurnContext) -> None:
            if with_card:
                card = CardFactory.adaptive_card(smoke_card("Posted on its own"))
                await context.send_activity(MessageFactory.attachment(card))
                return
            await context.send_activity("Proactive hello")

        await self._adapter.continue_conversation(reference, post, bot_app_id="")

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)

        action = (activity.value or {}).get("action") or {}
        verb = action.get("verb")
        clicker = activity.from_property.name
        oid = activity.from_property.aad_object_id
        if verb == "approve":
            return _card_answer(smoke_card(f"Approved by {clicker} ({oid})"))

        if verb == "update":
            updated = MessageFactory.attachment(
                CardFactory.adaptive_card(smoke_card(f"Updated for everyone by {clicker}"))
            )
            updated.id = activity.reply_to_id
            await turn_context.update_activity(updated)
            body = _MessageInvokeResponse(
                status_code=200,
                type="application/vnd.microsoft.activity.message",
                value="Card updated",
            )
            return InvokeResponse(status=int(HTTPStatus.OK), body=body)

        if verb == "refresh":
            return _card_answer(smoke_card(f"Personal view for {clicker}"))

        if verb == "crash":
            raise RuntimeError("the smoke bot fails on purpose")

        if verb == "slow":
            await asyncio.sleep(7)
            return _card_answer(smoke_card("Slow answer arrived"))

        body = AdaptiveCardInvokeResponse(
            status_code=403,
            type="application/vnd.microsoft.error",
            value={"code": "Forbidden", "message": f"{clicker} may not do that"},
        )
        return InvokeResponse(status=int(HTTPStatus.OK), body=body)


def build_app() -> web.Application:
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_AnonymousConfig()))
    bot = EchoBot(adapter)

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", health)
    return app


if __name__ == "__main__":
    web.run_app(build_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None)
