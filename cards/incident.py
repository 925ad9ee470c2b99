"""The incident card: what happened, what Cordon proposes, what the policy said, what was done.

`incident_card(record, ctx)` is the card the bot posts to the subscribed conversation, returns
to a click and refreshes for approvers. From the top: the dry-run and observe banners, the
bot's notice, the title with its severity in colour, incident number and outcome, the facts
(risk score, confidence, tactics, alerts, entities by kind), the recommendation's rationale and
the evidence it cites, then each proposed action with its verdict, reasons, status and buttons.
Actions that need a person come first.

The card without a viewer is the shared view, with the buttons any client can use (the server
refuses whoever may not act; see `cards.action_run`). When something is waiting for an approver
(or can be undone), the card carries `refresh` with the verb `refresh`, the incident id and up
to 60 Teams user ids, so Teams asks the bot for each of those people's own view: an approver's
with the buttons they may use, anyone else's with the state only. `status_card(record)` is the
state without buttons or refresh.

Every card validates against the Adaptive Card 1.5 schema and fits in 28 KB, by the detail
levels of `cards.size_budget`; untrusted text is neutralised by `cards.untrusted_text`. The
incident link becomes an `Action.OpenUrl` only when it is https to a Microsoft portal host.

Limitation: beyond 40 proposed actions (fewer when the card must be summarised) the card lists
the first ones, those needing a person first, and counts the rest: one card cannot carry
buttons for all of them.
Limitation: `refresh.userIds` holds at most 60 users (Teams' limit); approvers beyond the first
60 must use `status` to get their buttons.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cards import adaptive
from cards.action_run import (
    approval_of,
    buttons,
    headline,
    may_decide,
    status_line,
    undo_deadline,
    verdict_line,
)
from cards.adaptive import Color, Element
from cards.context import MAX_REFRESH_USERS, CardContext, Viewer
from cards.entity_summary import alert_fact, entity_facts, lookup_gaps
from cards.evidence_list import evidence_facts
from cards.mode_banner import mode_banners, notice
from cards.size_budget import Detail, fitted
from cards.summary import and_more
from cards.untrusted_text import plain
from core.models import ActionRun, IncidentRecord, RunStatus

SEVERITY_COLORS: dict[str, Color] = {
    "High": "attention", "Medium": "warning", "Low": "accent", "Informational": "default",
}

OUTCOMES = {
    "contained": "Contained",
    "awaiting_approval": "Awaiting approval",
    "escalated": "Escalated to the SOC",
    "observed": "Observed; nothing executed",
    "no_action": "No action needed",
}


def incident_card(record: IncidentRecord, ctx: CardContext) -> Element:
    """The full incident card as `ctx.viewer` may see it."""
    return fitted(
        lambda detail: _render(record, ctx, detail, live=True),
        lambda: _minimal(record, ctx),
        kind="incident",
    )


def status_card(record: IncidentRecord, ctx: CardContext | None = None) -> Element:
    """The state of the incident as someone who may not act sees it: no approver buttons, no
    refresh (for places a button would mislead, such as a digest). Without a context it is
    rendered as of now."""
    ctx = ctx or CardContext(now=datetime.now(UTC))
    shared = replace(ctx, viewer=Viewer(aad_object_id="", is_approver=False),
                     approver_user_ids=())
    return fitted(
        lambda detail: _render(record, shared, detail, live=False),
        lambda: _minimal(record, shared),
        kind="status",
    )


def needs_refresh(record: IncidentRecord, ctx: CardContext) -> bool:
    """True when an approver's view would differ: an approval is pending or Undo is open."""
    for run in record.runs:
        if run.status == RunStatus.PENDING_APPROVAL:
            return True
        if undo_deadline(record, run, ctx):
            return True
    return False


def _render(record: IncidentRecord, ctx: CardContext, detail: Detail, *, live: bool) -> Element:
    body: list[Element] = [*mode_banners(record, ctx.bot_name)]
    if ctx.banner:
        body.append(notice(ctx.banner, detail.line_chars))
    body.extend(_header(record, detail))
    body.extend(_recommendation(record, ctx, detail))
    body.extend(_actions(record, ctx, detail))

    refresh = None
    if live and ctx.approver_user_ids and needs_refresh(record, ctx):
        refresh = adaptive.refresh(
            "refresh", {"incident_id": record.incident.id},
            list(ctx.approver_user_ids[:MAX_REFRESH_USERS]),
        )
    return adaptive.adaptive_card(
        body, actions=_links(record, ctx), refresh=refresh, fallback_text=_fallback(record),
    )


def _header(record: IncidentRecord, detail: Detail) -> list[Element]:
    incident = record.incident
    number = f"Incident {incident.number}" if incident.number is not None else "Incident"
    outcome = OUTCOMES.get(record.outcome, record.outcome)
    items = [
        adaptive.text(plain(incident.title, detail.title_chars) or "(untitled incident)",
                      size="large", weight="bolder"),
        adaptive.text(f"**{incident.severity} severity** \u00b7 {number} \u00b7 {outcome}",
                      color=SEVERITY_COLORS.get(incident.severity, "default"), spacing="small"),
    ]
    if detail.description_chars and incident.description:
        items.append(adaptive.text(plain(incident.description, detail.description_chars),
                                   subtle=True, spacing="small"))

    pairs = [("Risk score", f"{record.risk_score} / 100")]
    pairs.append(("Confidence", _confidence(record)))
    if incident.tactics:
        pairs.append(("Tactics", plain(", ".join(incident.tactics), detail.line_chars)))
    alerts = alert_fact(incident, detail.alert_names, detail.entity_chars)
    if alerts:
        pairs.append(alerts)
    pairs.extend(entity_facts(incident, detail.entities_per_kind, detail.entity_chars))
    gaps = lookup_gaps(record.enrichment, detail.alert_names, detail.entity_chars)
    if gaps:
        pairs.append(gaps)
    items.append(adaptive.facts(pairs))
    return items


def _confidence(record: IncidentRecord) -> str:
    rec = record.recommendation
    return f"{round(rec.confidence * 100)}% ({plain(rec.reasoner, 40)} reasoner)"


def _recommendation(record: IncidentRecord, ctx: CardContext, detail: Detail) -> list[Element]:
    rec = record.recommendation
    items = [adaptive.text("**Recommendation**", separator=True)]
    if rec.error:
        items.append(adaptive.text(
            f"The reasoner's answer was unusable, so nothing is done automatically: "
            f"{plain(rec.error, detail.line_chars)}", color="attention"))
    items.append(adaptive.text(plain(rec.rationale, detail.rationale_chars) or "(none given)"))

    cited = [eid for action in rec.actions for eid in action.evidence]
    pairs, more = evidence_facts(rec.evidence, cited, detail.evidence_items, detail.line_chars)
    if pairs:
        items.append(adaptive.text("**Evidence**", spacing="medium"))
        items.append(adaptive.facts(pairs))
    if more:
        items.append(adaptive.text(
            f"{and_more(more, 'evidence item').capitalize()}: ask "
            f"@{plain(ctx.bot_name, 40)} \u201cwhat evidence?\u201d",
            subtle=True, spacing="small"))
    return items


def _actions(record: IncidentRecord, ctx: CardContext, detail: Detail) -> list[Element]:
    runs = sorted(record.runs, key=lambda run: _priority(record, run, ctx))
    if not runs:
        return [adaptive.text("No action proposed.", separator=True, subtle=True)]

    items = [adaptive.text(f"**Proposed actions ({len(runs)})**", separator=True)]
    shown = runs[: detail.listed_actions]
    for index, run in enumerate(shown):
        if index < detail.detailed_actions:
            items.append(_detailed(record, run, ctx, detail))
        else:
            items.extend(_compact(record, run, ctx, detail))

    hidden = len(runs) - len(shown)
    if hidden:
        items.append(adaptive.text(
            f"{and_more(hidden, 'action').capitalize()} not shown: too many for one card.",
            subtle=True))
    return items


def _priority(record: IncidentRecord, run: ActionRun, ctx: CardContext) -> int:
    """Runs a person can act on first, then the running, then the rest as proposed."""
    approval = approval_of(record, run)
    if approval and may_decide(record, run, approval, ctx):
        return 0
    if run.status == RunStatus.PENDING_APPROVAL:
        return 1
    if undo_deadline(record, run, ctx) or run.status in (RunStatus.EXECUTING, RunStatus.FAILED):
        return 2
    return 3


def _detailed(
    record: IncidentRecord, run: ActionRun, ctx: CardContext, detail: Detail
) -> Element:
    status, color = status_line(record, run, ctx, detail.line_chars)
    items = [
        adaptive.text(headline(run, detail.entity_chars * 2)),
        adaptive.text(verdict_line(run.verdict, detail.reasons_per_action, detail.line_chars),
                      subtle=True, spacing="none"),
        adaptive.text(status, color=color, weight="bolder", spacing="small"),
    ]
    found = buttons(record, run, ctx, why=detail.why_buttons, tooltips=True)
    if found:
        items.append(adaptive.action_set(found))
    return adaptive.container(items, separator=True)


def _compact(
    record: IncidentRecord, run: ActionRun, ctx: CardContext, detail: Detail
) -> list[Element]:
    status, color = status_line(record, run, ctx, detail.line_chars)
    verdict = verdict_line(run.verdict, 0, detail.line_chars)
    line = f"{headline(run, detail.entity_chars)} \u2014 {verdict} \u2014 {status}"
    items = [adaptive.text(line, color=color, separator=True)]
    found = buttons(record, run, ctx, why=detail.why_buttons, tooltips=False)
    if found:
        items.append(adaptive.action_set(found))
    return items


def _links(record: IncidentRecord, ctx: CardContext) -> list[Element]:
    url = record.incident.url
    parts = urlsplit(url) if url else None
    if not parts or parts.scheme != "https" or parts.hostname not in ctx.trusted_link_hosts:
        return []
    return [adaptive.open_url("Open in Sentinel", url)]


def _fallback(record: IncidentRecord) -> str:
    number = record.incident.number
    name = f"Incident {number}" if number is not None else "An incident"
    return f"{name} ({record.incident.severity}): {plain(record.incident.title, 120)}"


def _minimal(record: IncidentRecord, ctx: CardContext) -> Element:
    """What is left when nothing else fits: the facts and a way to get more."""
    incident = record.incident
    number = incident.number if incident.number is not None else "?"
    body = [*mode_banners(record, ctx.bot_name)]
    body.append(adaptive.text(plain(incident.title, 80) or "(untitled incident)",
                              size="large", weight="bolder"))
    body.append(adaptive.text(
        f"**{incident.severity} severity** \u00b7 Incident {number} \u00b7 "
        f"{OUTCOMES.get(record.outcome, record.outcome)} \u00b7 risk {record.risk_score} / 100",
        color=SEVERITY_COLORS.get(incident.severity, "default")))
    body.append(adaptive.text(
        f"{len(record.runs)} proposed actions; too much text to show here. Ask "
        f"@{plain(ctx.bot_name, 40)} \u201cpending\u201d for approvals or open the incident "
        f"in Sentinel.", subtle=True))
    return adaptive.adaptive_card(
        body, actions=_links(record, ctx), fallback_text=_fallback(record),
    )
