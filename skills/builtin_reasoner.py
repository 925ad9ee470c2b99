"""The built-in reasoner: explainable rules over the enrichment, the default reasoner.

It runs five rules, each about one kind of problem (`reasoning_identity`,
`reasoning_credential_attack`, `reasoning_endpoint`, `reasoning_mail`, `reasoning_consent`),
over the incident's structured fields (entities, alert products, severities, tactics) and the
enrichment of its entities. It never reads the title, the description or any other free text
to decide: a prompt injection there changes nothing it proposes. Every sentence of the
rationale ends with the evidence ids it rests on, and every evidence item names its lookup.

Confidence is the weakest strength among the findings that propose actions (one confidence
gates all of a recommendation's actions, so it must hold for each of them), lowered by a tenth
when an enrichment lookup failed. The risk score is the strongest finding's strength, raised
for VIPs, administrators and critical assets. With nothing to propose, the confidence says how
sure the rules are that nothing needs doing: higher when reassuring evidence was found.

Limitation: one confidence gates all of a recommendation's actions, so a weak second finding
(say, a doubtful app consent beside clear ransomware) holds the strong one back to approval.
Per-action confidence would need `ProposedAction` to carry one, which core does not offer.
"""

from __future__ import annotations

import structlog

from core.models import Enrichment, Incident, IncidentRecord, ProposedAction, Recommendation
from skills.explain import answer_question
from skills.reasoner import Answer
from skills.reasoning_alerts import AlertEvidence
from skills.reasoning_consent import suspicious_consents
from skills.reasoning_credential_attack import credential_attacks
from skills.reasoning_endpoint import compromised_endpoints
from skills.reasoning_evidence import EvidenceLedger, sentence
from skills.reasoning_finding import Finding
from skills.reasoning_identity import compromised_accounts
from skills.reasoning_mail import phishing_campaigns

log = structlog.get_logger(__name__)

FAILURE_DISCOUNT = 0.9
SAID_FAILURES = 5  # failed lookups the rationale names one by one
REASSURED_CONFIDENCE = 0.8
UNSURE_CONFIDENCE = 0.6
QUIET_RISK = 5


def _findings(incident: Incident, enrichment: Enrichment, ledger: EvidenceLedger,
              alerts: AlertEvidence) -> list[Finding]:
    return [
        *compromised_accounts(incident, enrichment, ledger),
        *credential_attacks(incident, enrichment, ledger, alerts),
        *compromised_endpoints(incident, enrichment, ledger, alerts),
        *phishing_campaigns(incident, enrichment, ledger, alerts),
        *suspicious_consents(incident, enrichment, ledger, alerts),
    ]


def _merged_actions(findings: list[Finding]) -> list[ProposedAction]:
    """Each (action, target) once; a repeat adds its evidence to the first proposal's."""
    merged: dict[tuple[str, str], ProposedAction] = {}
    for finding in findings:
        for action in finding.actions:
            key = (action.action, action.target)
            if key not in merged:
                merged[key] = action.model_copy(deep=True)
                continue
            known = merged[key]
            known.evidence.extend(e for e in action.evidence if e not in known.evidence)
    for action in merged.values():
        action.rationale = sentence(action.rationale, action.evidence)
    return list(merged.values())


def _finding_sentences(finding: Finding) -> list[str]:
    if finding.actions:
        targets = ", ".join(f"{a.action} {a.target}" for a in finding.actions)
        head = sentence(f"{finding.problem.capitalize()} ({finding.subject}), strength "
                        f"{finding.strength:.2f}: proposing {targets}", finding.evidence)
    elif finding.signals:
        head = sentence(f"Possible {finding.problem} ({finding.subject}), strength "
                        f"{finding.strength:.2f}: too weak to act on", finding.evidence)
    else:
        head = ""
    body = [signal.sentence() for signal in finding.signals]
    body += [observation.sentence() for observation in finding.observations]
    return [s for s in (head, *body) if s]


def _failure_sentences(enrichment: Enrichment, ledger: EvidenceLedger) -> list[str]:
    """A sentence for each failed lookup, up to SAID_FAILURES; one sentence for the rest."""
    failures = enrichment.failures
    sentences = []
    for failure in failures[:SAID_FAILURES]:
        failed = ledger.note("enrichment", f"Lookup {failure.lookup} for {failure.entity} failed: "
                             f"{failure.error}", failure.entity)
        sentences.append(sentence(f"The {failure.lookup} lookup for {failure.entity} gave no "
                                  f"usable answer, so confidence is lowered", [failed]))
    rest = failures[SAID_FAILURES:]
    if rest:
        lookups = ", ".join(sorted({f.lookup for f in rest}))
        failed = ledger.note("enrichment", f"{len(rest)} more lookups failed ({lookups})")
        sentences.append(sentence(f"{len(rest)} more lookups gave no usable answer", [failed]))
    return sentences


class BuiltinReasoner:
    """Deterministic rules; `recommend` and `answer` never call a model or an API."""

    name = "builtin"

    async def recommend(self, incident: Incident, enrichment: Enrichment) -> Recommendation:
        ledger = EvidenceLedger()
        alerts = AlertEvidence(incident, ledger)
        findings = _findings(incident, enrichment, ledger, alerts)
        acting = [f for f in findings if f.actions]
        actions = _merged_actions(acting)

        rationale: list[str] = []
        for finding in sorted(findings, key=lambda f: (not f.actions, -f.strength)):
            rationale.extend(_finding_sentences(finding))
        failures = _failure_sentences(enrichment, ledger)
        rationale.extend(failures)

        if acting:
            confidence = min(f.strength for f in acting)
            risk = max(f.risk_score for f in findings)
        else:
            reassured = any(f.observations for f in findings)
            confidence = REASSURED_CONFIDENCE if reassured else UNSURE_CONFIDENCE
            risk = max([QUIET_RISK, *(f.risk_score for f in findings)])
            rationale.append(sentence("No finding is strong enough to act on, so no action is "
                                      "proposed", [e.id for e in ledger.items()]))
        if failures:
            confidence *= FAILURE_DISCOUNT

        recommendation = Recommendation(
            actions=actions,
            confidence=round(max(0.0, min(1.0, confidence)), 2),
            risk_score=max(0, min(100, risk)),
            rationale=" ".join(rationale),
            evidence=ledger.items(),
            reasoner=self.name,
        )
        log.info("recommendation made", incident_id=incident.id, reasoner=self.name,
                 actions=[f"{a.action}:{a.target}" for a in actions],
                 confidence=recommendation.confidence, risk_score=recommendation.risk_score)
        return recommendation

    async def answer(self, question: str, record: IncidentRecord) -> Answer:
        return answer_question(question, record)
