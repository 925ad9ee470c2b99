"""The answer to `pending`: approvals still waiting, newest first (latest deadline first).

`pending_items(record, now)` picks an incident's open approvals (pending, not yet expired);
`pending_list_card(items, now)` lists them with who has approved so far and when each expires.
The list carries no buttons: `status <incident number>` shows the incident card with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cards import adaptive
from cards.action_run import action_label
from cards.adaptive import Element
from cards.size_budget import Detail, fitted
from cards.summary import and_more, capped
from cards.time_phrases import aware, remaining, stamp
from cards.untrusted_text import plain
from core.models import IncidentRecord, RunStatus


@dataclass(frozen=True)
class PendingItem:
    incident_number: int | None
    incident_title: str
    action: str
    target: str
    approvers_required: int
    approved_by: tuple[str, ...]
    expires_at: datetime


def pending_items(record: IncidentRecord, now: datetime) -> list[PendingItem]:
    """The record's approvals still open at `now`."""
    runs = {run.id: run for run in record.runs}
    found = []
    for approval in record.approvals:
        run = runs.get(approval.run_id)
        if run is None or approval.status != "pending":
            continue
        if run.status != RunStatus.PENDING_APPROVAL or aware(approval.expires_at) <= aware(now):
            continue
        found.append(PendingItem(
            incident_number=record.incident.number,
            incident_title=record.incident.title,
            action=run.proposed.action,
            target=run.proposed.target,
            approvers_required=max(approval.approvers_required, 1),
            approved_by=tuple(d.approver_name for d in approval.decisions
                              if d.decision == "approve"),
            expires_at=approval.expires_at,
        ))
    return found


def pending_list_card(items: Sequence[PendingItem], now: datetime | None = None) -> Element:
    # Newest first: every approval expires the same while after it was asked for.
    ordered = sorted(items, key=lambda item: aware(item.expires_at), reverse=True)
    return fitted(
        lambda detail: _render(ordered, now, detail),
        lambda: _render(ordered, now, _FEWEST),
        kind="pending",
    )


_FEWEST = Detail(level=9, title_chars=40, description_chars=0, line_chars=60,
                 rationale_chars=0, entities_per_kind=0, entity_chars=30, alert_names=0,
                 evidence_items=0, reasons_per_action=0, detailed_actions=0,
                 listed_actions=0, why_buttons=False, list_items=5)


def _render(items: Sequence[PendingItem], now: datetime | None, detail: Detail) -> Element:
    if not items:
        body = [adaptive.text("**Pending approvals**"),
                adaptive.text("Nothing is waiting for an approver.", subtle=True)]
        return adaptive.adaptive_card(body, fallback_text="No pending approvals")

    body = [adaptive.text(f"**Pending approvals ({len(items)})**", size="medium")]
    kept, more = capped(items, detail.list_items)
    for item in kept:
        body.append(_row(item, now, detail))
    if more:
        body.append(adaptive.text(and_more(more, "approval").capitalize(), subtle=True))
    body.append(adaptive.text("Say `status <incident number>` to see an incident's card and "
                              "approve or reject there.", subtle=True, separator=True))
    return adaptive.adaptive_card(body, fallback_text=f"{len(items)} pending approvals")


def _row(item: PendingItem, now: datetime | None, detail: Detail) -> Element:
    number = item.incident_number if item.incident_number is not None else "?"
    names = [plain(name, 40) for name in item.approved_by]
    progress = f"{len(names)} of {item.approvers_required} approvals"
    if names:
        progress += f": {', '.join(names)}"
    expires = remaining(item.expires_at, now) if now else f"at {stamp(item.expires_at)}"
    return adaptive.container([
        adaptive.text(f"**{action_label(item.action)}** \u00b7 "
                      f"{plain(item.target, detail.entity_chars * 2)}"),
        adaptive.text(f"Incident {number}: {plain(item.incident_title, detail.title_chars)}",
                      subtle=True, spacing="none"),
        adaptive.text(f"{progress}; expires {expires}", color="warning", spacing="none"),
    ], separator=True)
