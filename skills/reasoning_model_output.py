"""What a language model must answer, and what makes its answer usable.

`ModelRecommendation` and `ModelAnswer` are the structured outputs asked of the model (their
field descriptions are part of the contract it is given; every field is required, so they
satisfy strict JSON-schema output). `usable_recommendation` turns a parsed
`ModelRecommendation` into a `core.models.Recommendation`, or raises `UnusableAnswer` with
the reason, when:
- an action is not in the allowed catalog (or not one Cordon knows how to parameterise);
- a target is not an entity of the incident (a name the incident's text mentions is not one);
- the enrichment does not back the target for that action (a `block_ip` aimed at an account,
  an account Entra ID does not know), or the target is an internal address to block;
- an action or the rationale cites evidence the answer does not contain;
- confidence or risk score is out of range, or the rationale is empty.
One bad action rejects the whole answer: a model that was talked into one unwarranted action
is not trusted with the others. Parameters are never taken from the model: they are built from
the enrichment by `reasoning_parameters.action_for`, as for the built-in reasoner.

Limitation: the evidence facts are the model's words; they are checked for being cited, not
for being true. The audit trail keeps the model's raw answer beside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, Field

from core.models import Enrichment, Evidence, Incident, ProposedAction, Recommendation
from skills.reasoning_addresses import is_internal_address
from skills.reasoning_parameters import action_for, proposable_actions
from skills.reasoning_targets import allowed_targets, normalized


class UnusableAnswer(Exception):
    """The model's answer cannot be used; the message says why, for the rationale and audit."""


class ModelEvidence(BaseModel):
    id: str = Field(description="E1, E2, ... unique within this answer")
    source: str = Field(description="the lookup the fact came from, e.g. graph.signIns, "
                                    "graph.riskyUsers, threatIntelligence, defender.machines, "
                                    "watchlist.KnownVPNEgress, incident.alerts")
    fact: str = Field(description="one fact, as found in the data or a tool result")
    entity: str = Field(description="the entity key the fact is about, or an empty string")


class ModelAction(BaseModel):
    action: str = Field(description="a canonical action id from the catalog you were given")
    target: str = Field(description="exactly one of the entity keys you were given")
    rationale: str = Field(description="one sentence: why this action, citing [E1]-style ids")
    evidence: list[str] = Field(description="ids of the evidence items this action rests on")


class ModelRecommendation(BaseModel):
    actions: list[ModelAction] = Field(description="containment to propose; empty if none is "
                                                   "warranted")
    confidence: float = Field(description="0 to 1: how sure the evidence makes you that every "
                                          "proposed action is warranted")
    risk_score: int = Field(description="0 to 100: how much harm the incident threatens")
    rationale: str = Field(description="a few sentences, each citing evidence ids like [E1]")
    evidence: list[ModelEvidence] = Field(description="the facts the rationale rests on")


class ModelAnswer(BaseModel):
    text: str = Field(description="the answer for the analyst, citing evidence ids like [E1]")
    evidence: list[str] = Field(description="ids of the recommendation's evidence the answer "
                                            "cites")


def cited_ids(text: str) -> set[str]:
    return set(re.findall(r"\[(E\d+)\]", text))


def _check_numbers(parsed: ModelRecommendation) -> None:
    if not 0.0 <= parsed.confidence <= 1.0:
        raise UnusableAnswer(f"confidence {parsed.confidence} is outside 0..1")
    if not 0 <= parsed.risk_score <= 100:
        raise UnusableAnswer(f"risk score {parsed.risk_score} is outside 0..100")
    if not parsed.rationale.strip():
        raise UnusableAnswer("the rationale is empty")


def _check_evidence(parsed: ModelRecommendation) -> set[str]:
    ids = [item.id for item in parsed.evidence]
    if len(ids) != len(set(ids)):
        raise UnusableAnswer(f"evidence ids repeat: {sorted(ids)}")
    known = set(ids)
    unknown = cited_ids(parsed.rationale) - known
    for action in parsed.actions:
        unknown |= (set(action.evidence) | cited_ids(action.rationale)) - known
    if unknown:
        raise UnusableAnswer(f"it cites evidence it does not give: {sorted(unknown)}")
    return known


def _usable_action(action: ModelAction, incident: Incident, enrichment: Enrichment,
                   allowed: frozenset[str], targets: set[str]) -> ProposedAction:
    name = action.action.strip()
    target = normalized(action.target)
    if name not in allowed:
        raise UnusableAnswer(f"it proposes {name!r}, which is not in the allowed catalog "
                             f"({', '.join(sorted(allowed))})")
    if target not in targets:
        raise UnusableAnswer(f"it aims {name} at {action.target!r}, which is not an entity of "
                             f"the incident")
    proposed = action_for(name, target, incident, enrichment, rationale=action.rationale,
                          evidence=action.evidence)
    if proposed is None:
        raise UnusableAnswer(f"the enrichment does not back {name} on {target} (unknown to the "
                             f"lookups or the wrong kind of entity)")
    if name == "block_ip" and is_internal_address(target, enrichment.ips.get(target)):
        raise UnusableAnswer(f"it would block the internal address {target}")
    return proposed


def usable_recommendation(parsed: ModelRecommendation, incident: Incident,
                          enrichment: Enrichment, allowed_catalog: Iterable[str],
                          reasoner: str) -> Recommendation:
    """The validated recommendation, or `UnusableAnswer` naming the first problem."""
    _check_numbers(parsed)
    _check_evidence(parsed)
    allowed = frozenset(allowed_catalog) & proposable_actions()
    targets = allowed_targets(incident, enrichment)

    actions: list[ProposedAction] = []
    seen: set[tuple[str, str]] = set()
    for action in parsed.actions:
        proposed = _usable_action(action, incident, enrichment, allowed, targets)
        if (proposed.action, proposed.target) not in seen:
            seen.add((proposed.action, proposed.target))
            actions.append(proposed)

    return Recommendation(
        actions=actions,
        confidence=round(parsed.confidence, 2),
        risk_score=parsed.risk_score,
        rationale=parsed.rationale.strip(),
        evidence=[Evidence(id=e.id, source=e.source, fact=e.fact, entity=e.entity)
                  for e in parsed.evidence],
        reasoner=reasoner,
    )


def usable_answer_ids(parsed: ModelAnswer, known: set[str]) -> list[str]:
    """The evidence ids an answer cites, or `UnusableAnswer` if it cites unknown ones."""
    cited = set(parsed.evidence) | cited_ids(parsed.text)
    unknown = cited - known
    if unknown:
        raise UnusableAnswer(f"the answer cites evidence the record does not hold: "
                             f"{sorted(unknown)}")
    if not parsed.text.strip():
        raise UnusableAnswer("the answer is empty")
    return sorted(cited, key=lambda e: int(e[1:]) if e[1:].isdigit() else 1 << 30)
