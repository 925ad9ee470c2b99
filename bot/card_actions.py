"""Button clicks on incident cards (`adaptiveCard/action` invokes), answered at once.

Verbs and the data each carries (identifiers only):
- `approve`, `reject`: `approval_id`, `action_hash` → `engine.decide`;
- `undo`: `run_id` → `engine.undo`;
- `why`: `run_id` → the reasoner's explanation of that action, with its evidence;
- `refresh`: `incident_id` → the card as this clicker may see it (Teams sends it on its own for
  the users in the card's `refresh.userIds`).

Who clicked is `from.aadObjectId` and nothing else: the engine checks it against Entra ID and
the policy; the card's data only names what was clicked. Nothing here approves, executes or
undoes by itself. The answer is the updated card for the clicker with a banner saying what
happened ("Approved by Alex Wilber, executing") or, for a refusal, Teams' error answer
(`application/vnd.microsoft.error`) with the reason: the clicker sees why in red and the card
stays as it was, with its buttons for whoever may use them. A click that names nothing we know
gets a small error card. Execution goes on after the
answer; the engine's record listeners then update the card for everyone.
"""

from __future__ import annotations

from typing import Any

import structlog
from botbuilder.core import TurnContext
from botbuilder.schema import AdaptiveCardInvokeResponse

from bot.conversation_ids import base_id
from cards import Banner, Viewer, error_card, why_card
from cards.adaptive import execute
from core.errors import ApprovalRefused, CordonError
from core.models import IncidentRecord

log = structlog.get_logger(__name__)

CARD = "application/vnd.microsoft.card.adaptive"
ERROR = "application/vnd.microsoft.error"


def card_response(card: dict[str, Any]) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(status_code=200, type=CARD, value=card)


class CardActions:
    def __init__(self, *, engine, store, posted_cards, approvers, views) -> None:
        self._engine = engine
        self._store = store
        self._posted = posted_cards
        self._approvers = approvers
        self._views = views

    async def handle(self, turn_context: TurnContext) -> AdaptiveCardInvokeResponse:
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        verb = str(action.get("verb") or "")
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        clicker = activity.from_property
        aad_id = (clicker.aad_object_id or "") if clicker else ""
        viewer = await self._approvers.viewer(aad_id, clicker.name if clicker else "")
        log.info("card action", verb=verb, actor_id=aad_id, conversation_id=base_id(
            activity.conversation.id if activity.conversation else ""))

        try:
            if verb in ("approve", "reject"):
                return await self._decide(turn_context, verb, data, viewer)
            if verb == "undo":
                return await self._undo(turn_context, data, viewer)
            if verb == "why":
                return await self._why(data)
            if verb == "refresh":
                return await self._refresh(turn_context, data, viewer)
        except CordonError as exc:
            log.warning("card action failed", verb=verb, error=exc.message)
            return card_response(error_card(exc.message))
        return card_response(error_card(
            f"this button ({verb or 'no verb'}) is not one Cordon knows; use the latest card"))

    async def _decide(self, turn_context: TurnContext, verb: str, data: dict,
                      viewer: Viewer) -> AdaptiveCardInvokeResponse:
        approval_id = str(data.get("approval_id") or "")
        try:
            outcome = await self._engine.decide(approval_id, str(data.get("action_hash") or ""),
                                                viewer.aad_object_id, verb)
        except ApprovalRefused as exc:
            approval = await self._store.approvals.get(approval_id) if approval_id else None
            record = await self._clicked_record(
                turn_context, approval.incident_id if approval else None)
            return await self._refusal(record, viewer, exc.message)

        style = "good" if outcome.executing else ("warning" if verb == "reject" else "accent")
        record = await self._engine.record(outcome.approval.incident_id)
        if record is None:
            return card_response(error_card(outcome.message))
        viewer = await self._approvers.viewer(viewer.aad_object_id, viewer.name)
        return card_response(await self._views.for_viewer(
            record, viewer, Banner(_sentence(outcome.message), style)))

    async def _undo(self, turn_context: TurnContext, data: dict,
                    viewer: Viewer) -> AdaptiveCardInvokeResponse:
        run_id = str(data.get("run_id") or "")
        try:
            run, message = await self._engine.undo(run_id, viewer.aad_object_id)
        except ApprovalRefused as exc:
            original = await self._store.runs.get(run_id) if run_id else None
            record = await self._clicked_record(
                turn_context, original.incident_id if original else None)
            return await self._refusal(record, viewer, exc.message)
        record = await self._engine.record(run.incident_id)
        if record is None:
            return card_response(error_card(message))
        return card_response(await self._views.for_viewer(
            record, viewer, Banner(_sentence(message), "accent")))

    async def _why(self, data: dict) -> AdaptiveCardInvokeResponse:
        run_id = str(data.get("run_id") or "")
        run = await self._store.runs.get(run_id) if run_id else None
        record = await self._engine.record(run.incident_id) if run else None
        if run is None or record is None:
            return card_response(error_card(f"there is no action {run_id!r} to explain"))

        question = f"why {run.proposed.action.replace('_', ' ')} {run.proposed.target}?"
        answer = await self._engine.answer(question, record)
        cited = set(answer.evidence) or set(run.proposed.evidence)
        evidence = [e for e in record.recommendation.evidence if e.id in cited]
        text = answer.text or run.proposed.rationale or record.recommendation.rationale
        back = execute("Back to the incident", "refresh", {"incident_id": record.incident.id})
        return card_response(why_card(record, run, text, evidence, actions=[back]))

    async def _refresh(self, turn_context: TurnContext, data: dict,
                       viewer: Viewer) -> AdaptiveCardInvokeResponse:
        incident_id = str(data.get("incident_id") or "")
        record = await self._engine.record(incident_id) if incident_id else None
        if record is None:
            record = await self._clicked_record(turn_context, None)
        if record is None:
            return card_response(error_card(
                "this card's incident is not known to this Cordon; ask `status <number>`"))
        return card_response(await self._views.for_viewer(record, viewer))

    async def _clicked_record(self, turn_context: TurnContext,
                              incident_id: str | None) -> IncidentRecord | None:
        """The incident of the card that was clicked: the posted card, else the one named."""
        activity = turn_context.activity
        if activity.reply_to_id and activity.conversation:
            posted = await self._posted.incident_of(base_id(activity.conversation.id),
                                                    activity.reply_to_id)
            incident_id = posted or incident_id
        return await self._engine.record(incident_id) if incident_id else None

    async def _refusal(self, record: IncidentRecord | None, viewer: Viewer,
                       message: str) -> AdaptiveCardInvokeResponse:
        log.info("card action refused", actor_id=viewer.aad_object_id, reason=message,
                 incident_id=record.incident.id if record else None)
        return AdaptiveCardInvokeResponse(status_code=400, type=ERROR, value={
            "code": "NotAllowed", "message": f"Not done: {_sentence(message)}"})


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text
