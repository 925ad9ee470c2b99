"""The answer to "Why?" on one action: the explanation, the verdict's reasons, the evidence.

`answer_text` is what the explainer (a model or the built-in reasoner) wrote, and `evidence`
the items it cites; both are untrusted and summarised to fit. The card's only buttons are the
`actions` the caller gives (a way back to the incident card); they count towards the 28 KB and
are left out of the minimal card.
"""

from __future__ import annotations

from collections.abc import Sequence

from cards import adaptive
from cards.action_run import action_label, verdict_line
from cards.adaptive import Element
from cards.evidence_list import evidence_facts
from cards.mode_banner import mode_banners
from cards.size_budget import Detail, fitted
from cards.summary import and_more
from cards.untrusted_text import plain
from core.models import ActionRun, Evidence, IncidentRecord


def why_card(
    record: IncidentRecord,
    run: ActionRun,
    answer_text: str,
    evidence: Sequence[Evidence],
    *,
    actions: Sequence[Element] = (),
) -> Element:
    return fitted(
        lambda detail: _render(record, run, answer_text, evidence, detail, actions),
        lambda: _render(record, run, answer_text, [], _MINIMAL, ()),
        kind="why",
    )


_MINIMAL = Detail(level=9, title_chars=60, description_chars=0, line_chars=60,
                  rationale_chars=300, entities_per_kind=0, entity_chars=30, alert_names=0,
                  evidence_items=0, reasons_per_action=1, detailed_actions=0,
                  listed_actions=0, why_buttons=False, list_items=0)


def _render(
    record: IncidentRecord,
    run: ActionRun,
    answer_text: str,
    evidence: Sequence[Evidence],
    detail: Detail,
    actions: Sequence[Element],
) -> Element:
    number = record.incident.number
    target = plain(run.proposed.target, detail.entity_chars * 2)
    question = f"Why {action_label(run.proposed.action).lower()} {target}?"
    body = [*mode_banners(record)]
    body.append(adaptive.text(question, size="medium", weight="bolder"))
    body.append(adaptive.text(
        f"Incident {number if number is not None else '?'}: "
        f"{plain(record.incident.title, detail.title_chars)}", subtle=True, spacing="none"))
    body.append(adaptive.text(plain(answer_text, detail.rationale_chars * 2) or
                              "No explanation was recorded."))
    body.append(adaptive.facts([
        ("Policy", verdict_line(run.verdict, detail.reasons_per_action, detail.line_chars)),
        ("Status", plain(str(run.status).replace("_", " "), 40)),
    ]))

    pairs, more = evidence_facts(evidence, run.proposed.evidence, detail.evidence_items,
                                 detail.line_chars)
    if pairs:
        body.append(adaptive.text("**Evidence**", separator=True))
        body.append(adaptive.facts(pairs))
    if more:
        body.append(adaptive.text(and_more(more, "evidence item").capitalize(), subtle=True))
    return adaptive.adaptive_card(body, actions=list(actions) or None,
                                  fallback_text=plain(question, 200))
