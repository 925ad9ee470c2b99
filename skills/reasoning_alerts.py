"""The incident's alerts as evidence: which alert shows which tactic, product and severity.

`AlertEvidence` notes one evidence item (source `incident.alerts`) per alert, from its
structured fields only: product, severity, tactics, and the display name quoted as a label.
Rules ask it which alerts show a tactic or come from a product; they never read an alert's
name or the incident's title or description to decide anything. When the incident carries
tactics but no alerts, the incident-level tactics are noted instead (source `incident`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import Incident
from skills.reasoning_evidence import EvidenceLedger

LABEL_LIMIT = 80


@dataclass(frozen=True)
class NotedAlert:
    evidence_id: str
    product: str
    severity: str
    tactics: frozenset[str]


def quoted_label(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > LABEL_LIMIT:
        flat = flat[: LABEL_LIMIT - 1] + "…"
    return f"'{flat}'"


class AlertEvidence:
    def __init__(self, incident: Incident, ledger: EvidenceLedger) -> None:
        self._alerts: list[NotedAlert] = []
        for alert in incident.alerts:
            tactics = ", ".join(alert.tactics) or "none"
            fact = (f"Alert {quoted_label(alert.name)} from {alert.product or 'unknown product'}: "
                    f"severity {alert.severity}, tactics {tactics}")
            evidence_id = ledger.note("incident.alerts", fact)
            self._alerts.append(NotedAlert(evidence_id, alert.product, alert.severity,
                                           frozenset(alert.tactics)))

        if not incident.alerts and incident.tactics:
            fact = (f"Incident severity {incident.severity}, tactics "
                    f"{', '.join(incident.tactics)}")
            evidence_id = ledger.note("incident", fact)
            self._alerts.append(NotedAlert(evidence_id, "", incident.severity,
                                           frozenset(incident.tactics)))

    @property
    def tactics(self) -> frozenset[str]:
        found: set[str] = set()
        for alert in self._alerts:
            found |= alert.tactics
        return frozenset(found)

    def showing(self, tactic: str) -> list[str]:
        return [a.evidence_id for a in self._alerts if tactic in a.tactics]

    def from_product(self, product_words: str) -> list[str]:
        wanted = product_words.lower()
        return [a.evidence_id for a in self._alerts if wanted in a.product.lower()]

    def of_severity(self, severity: str) -> list[str]:
        return [a.evidence_id for a in self._alerts if a.severity.lower() == severity.lower()]
