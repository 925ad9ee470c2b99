"""The Teams activity handler: commands, questions and card clicks, each handed to its module.

Every activity first leaves a trace: the conversation's reference is saved (so cards can be
posted there after a restart) and the sender's Teams id, Entra ID object id and name are kept
(for `refresh.userIds`). Messages have the bot's @mention removed (channels), then are read by
`bot.commands.parse`:

- `help`; `subscribe`; `pending`; `status <number>`; `policy`; `pause` / `resume` (the engine
  checks that the sender is in the policy's admin groups and says why not otherwise);
- a question about an incident: `bot.questions`; a question never acts;
- anything else: help's answer, never silence.

`adaptiveCard/action` invokes are answered here, in `on_invoke_activity`, with an
`InvokeResponse` whose body is the `AdaptiveCardInvokeResponse` model: botbuilder 4.17.1's own
`on_adaptive_card_invoke` path serializes it twice and answers 500.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler

from bot.commands import Command, Question, parse
from bot.conversation_ids import base_id, reference_of, thread_root
from cards import help_card, message_card, pending_items, pending_list_card, policy_card
from cards.untrusted_text import plain
from core.errors import Forbidden

log = structlog.get_logger(__name__)

PENDING_LISTED = 20


class CordonHandler(TeamsActivityHandler):
    def __init__(self, *, engine, store, posted_cards, teams_users, incident_cards, actions,
                 questions) -> None:
        self._engine = engine
        self._store = store
        self._posted = posted_cards
        self._users = teams_users
        self._cards = incident_cards
        self._actions = actions
        self._questions = questions

    async def on_turn(self, turn_context: TurnContext) -> None:
        await self._remember(turn_context)
        await super().on_turn(turn_context)

    async def _remember(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.conversation and activity.conversation.id and activity.service_url:
            await self._store.conversations.save(base_id(activity.conversation.id),
                                                 reference_of(activity))
        sender = activity.from_property
        if sender and sender.id and sender.aad_object_id:
            await self._users.seen(sender.id, sender.aad_object_id, sender.name or "")

    # -- messages ---------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        text = TurnContext.remove_recipient_mention(activity) if activity.entities else None
        request = parse(text if text is not None else activity.text or "")
        sender = activity.from_property
        log.info("message", kind=type(request).__name__.lower(),
                 command=getattr(request, "name", None),
                 conversation_type=activity.conversation.conversation_type,
                 actor_id=sender.aad_object_id if sender else None)

        if isinstance(request, Command):
            await self._command(turn_context, request)
        elif isinstance(request, Question):
            await self._question(turn_context, request.text)
        else:
            await self._send_card(turn_context, help_card())

    async def _command(self, turn_context: TurnContext, command: Command) -> None:
        handlers = {
            "help": self._help, "subscribe": self._subscribe, "pending": self._pending,
            "status": self._status, "policy": self._policy, "pause": self._pause,
            "resume": self._resume,
        }
        await handlers[command.name](turn_context, command.argument)

    async def _help(self, turn_context: TurnContext, _argument: str) -> None:
        await self._send_card(turn_context, help_card())

    async def _subscribe(self, turn_context: TurnContext, _argument: str) -> None:
        activity = turn_context.activity
        conversation = base_id(activity.conversation.id)
        await self._store.conversations.save(conversation, reference_of(activity),
                                             subscribed=True)
        log.info("conversation subscribed", conversation_id=conversation,
                 conversation_type=activity.conversation.conversation_type)
        await turn_context.send_activity(
            "Subscribed: incident cards will be posted to this conversation from now on.")

    async def _pending(self, turn_context: TurnContext, _argument: str) -> None:
        now = datetime.now(UTC)
        approvals = await self._engine.pending(PENDING_LISTED)
        items, seen = [], set()
        for approval in sorted(approvals, key=lambda a: a.expires_at, reverse=True):
            if approval.incident_id in seen:
                continue
            seen.add(approval.incident_id)
            record = await self._engine.record(approval.incident_id)
            if record is not None:
                items.extend(pending_items(record, now))
        await self._send_card(turn_context, pending_list_card(items, now))

    async def _status(self, turn_context: TurnContext, argument: str) -> None:
        reference = argument.strip()
        if not reference:
            await turn_context.send_activity(
                "Which incident? Say `status` and its number, e.g. `status 4521`.")
            return
        record = await self._engine.find(reference)
        if record is None:
            await turn_context.send_activity(
                f"No incident {plain(reference, 60)} has reached Cordon; check the number in "
                "Sentinel.")
            return
        await self._cards.post_here(turn_context, record)

    async def _policy(self, turn_context: TurnContext, _argument: str) -> None:
        await self._send_card(turn_context, policy_card(self._policy_lines()))

    async def _pause(self, turn_context: TurnContext, _argument: str) -> None:
        await self._set_paused(turn_context, True)

    async def _resume(self, turn_context: TurnContext, _argument: str) -> None:
        await self._set_paused(turn_context, False)

    async def _set_paused(self, turn_context: TurnContext, paused: bool) -> None:
        sender = turn_context.activity.from_property
        try:
            message = await self._engine.set_paused(
                paused, (sender.aad_object_id or "") if sender else "")
        except Forbidden as exc:
            await self._send_card(turn_context, message_card(
                exc.message, title="Not allowed", style="attention"))
            return
        await self._send_card(turn_context, message_card(
            message, style="warning" if paused else "good"))

    async def _question(self, turn_context: TurnContext, text: str) -> None:
        activity = turn_context.activity
        conversation = base_id(activity.conversation.id)
        replies = [i for i in (activity.reply_to_id, thread_root(activity.conversation.id)) if i]
        record = await self._questions.incident_for(text, conversation, replies)
        if record is None:
            await turn_context.send_activity(
                "Which incident do you mean? Reply to its card, or name its number or an "
                "entity, e.g. \u201cwhy block 203.0.113.45 in 4521?\u201d")
            return
        await turn_context.send_activity(await self._questions.answer(text, record))

    def _policy_lines(self) -> list[str]:
        return list(self._engine.policy_summary())

    @staticmethod
    async def _send_card(turn_context: TurnContext, card: dict) -> None:
        await turn_context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))

    # -- card clicks --------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name == "adaptiveCard/action":
            body = await self._actions.handle(turn_context)
            return InvokeResponse(status=200, body=body)
        return await super().on_invoke_activity(turn_context)
