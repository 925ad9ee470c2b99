"""The credential-attack rule: password spray or brute force from one external source.

For each external IP entity of the incident, the rule counts the failed sign-ins from it
across the accounts enrichment fetched sign-ins for. Many failures (10 or more: 0.6, 3 or
more: 0.4), a malicious (0.6) or suspicious (0.3) reputation and a credential-access tactic in
the alerts (0.3) point at an attack from that source, which is contained by `block_ip` on the
source alone. The targeted accounts are victims, not suspects: when no sign-in from the source
succeeded the rule says so and proposes nothing against them. A success from a hostile source
is the compromised-account rule's business.
"""

from __future__ import annotations

from core.models import Enrichment, EntityKind, Incident
from skills.reasoning_addresses import is_internal_address, vpn_egress_row
from skills.reasoning_alerts import AlertEvidence
from skills.reasoning_evidence import EvidenceLedger
from skills.reasoning_finding import Finding
from skills.reasoning_identity import display_name, reputation_evidence, risk_evidence
from skills.reasoning_parameters import action_for
from skills.reasoning_targets import normalized
from skills.reasoning_travel import parse_time, stamp, succeeded

MIN_FAILURES = 3
MANY_FAILURES = 10
REPUTATION_WEIGHTS = {"malicious": 0.6, "suspicious": 0.3}


def _attempts_from(address: str, enrichment: Enrichment) -> list[tuple[str, dict]]:
    return [(upn, sign_in) for upn, facts in enrichment.users.items()
            for sign_in in facts.sign_ins if str(sign_in.get("ipAddress", "")) == address]


def _source_finding(address: str, incident: Incident, enrichment: Enrichment,
                    ledger: EvidenceLedger, alerts: AlertEvidence) -> Finding | None:
    attempts = _attempts_from(address, enrichment)
    failures = [(upn, s) for upn, s in attempts if not succeeded(s)]
    successes = [(upn, s) for upn, s in attempts if succeeded(s)]
    if len(failures) < MIN_FAILURES:
        return None

    finding = Finding(problem="credential attack", subject=address)
    targeted = sorted({upn for upn, _ in failures})
    names = ", ".join(display_name(upn, enrichment.users.get(upn)) for upn in targeted)
    times = sorted(t for _, s in failures if (t := parse_time(s.get("createdDateTime"))))
    window = f" between {stamp(times[0])} and {stamp(times[-1])}" if times else ""
    codes = sorted({str((s.get("status") or {}).get("errorCode")) for _, s in failures})
    failed = ledger.note(
        "graph.signIns",
        f"{len(failures)} failed sign-ins from {address} against {names}{window} "
        f"(error codes {', '.join(codes)}); {len(successes)} succeeded", address)
    weight = 0.6 if len(failures) >= MANY_FAILURES else 0.4
    finding.add(weight, f"{address} failed to sign in {len(failures)} times against {names}",
                failed)

    level = enrichment.ips[address].reputation.lower()
    reputation = reputation_evidence(address, enrichment, ledger)
    if level in REPUTATION_WEIGHTS:
        finding.add(REPUTATION_WEIGHTS[level],
                    f"Threat intelligence classifies {address} as {level}", reputation)

    credential_alerts = alerts.showing("CredentialAccess")
    if credential_alerts:
        finding.add(0.3, "The alerts show credential access", *credential_alerts)

    if successes:
        finding.observe(f"{len(successes)} sign-in(s) from {address} succeeded; the accounts "
                        f"concerned are weighed as possibly compromised", failed)
    else:
        for upn in targeted:
            facts = enrichment.users[upn]
            risk, _ = risk_evidence(upn, facts, ledger)
            finding.observe(f"No sign-in from {address} succeeded against "
                            f"{display_name(upn, facts)}, so the account is not disabled",
                            failed, risk)

    if finding.actionable:
        proposed = action_for("block_ip", address, incident, enrichment,
                              evidence=finding.evidence,
                              rationale=f"{address} is attacking Fabrikam's sign-ins")
        if proposed is not None:
            finding.actions.append(proposed)
    return finding


def credential_attacks(incident: Incident, enrichment: Enrichment, ledger: EvidenceLedger,
                       alerts: AlertEvidence) -> list[Finding]:
    findings = []
    for entity in incident.entities_of(EntityKind.IP):
        address = normalized(entity.key)
        facts = enrichment.ips.get(address)
        if facts is None or is_internal_address(address, facts):
            continue
        if vpn_egress_row(address, enrichment) is not None:
            continue
        finding = _source_finding(address, incident, enrichment, ledger, alerts)
        if finding is not None:
            findings.append(finding)
    return findings
