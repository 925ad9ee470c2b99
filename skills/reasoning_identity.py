"""The compromised-account rule: is someone else signed in as this user?

For each account entity Entra ID knows, the rule weighs three independent signals: Identity
Protection's user risk (high 0.6, medium 0.35, low 0.15), impossible travel between successful
sign-ins (0.6, see `reasoning_travel`), and successful sign-ins from an address threat
intelligence classifies as malicious (0.6) or suspicious (0.35). Sign-ins through a known VPN
egress and addresses of neutral reputation are noted as reassurance. A compromised account is
contained by `disable_user` and `revoke_sessions`; a malicious external address the attacker
signed in from, when it is an entity of the incident, is blocked with `block_ip`. VIP and
administrator accounts raise the risk score, never the confidence: who the user is says how
much is at stake, not whether the account is compromised.

Limitation: the rule sees only the sign-ins enrichment fetched (Graph returns the latest 50);
an older leg of a journey is invisible to it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from core.models import Enrichment, EntityKind, Incident, UserFacts
from skills.reasoning_addresses import is_internal_address, vpn_egress_row
from skills.reasoning_evidence import EvidenceLedger
from skills.reasoning_finding import Finding
from skills.reasoning_parameters import action_for
from skills.reasoning_targets import entity_keys, normalized
from skills.reasoning_travel import impossible_journeys, parse_time, stamp, succeeded

RISK_WEIGHTS = {"high": 0.6, "medium": 0.35, "low": 0.15}
REPUTATION_WEIGHTS = {"malicious": 0.6, "suspicious": 0.35}


def display_name(upn: str, facts: UserFacts | None) -> str:
    if facts is not None and facts.user.get("displayName"):
        return str(facts.user["displayName"])
    return upn


def risk_evidence(upn: str, facts: UserFacts, ledger: EvidenceLedger) -> tuple[str, str]:
    """Note the user's Identity Protection risk; return (evidence id, risk level)."""
    level = (facts.risk_level or "none").lower()
    name = display_name(upn, facts)
    if level in RISK_WEIGHTS:
        fact = f"Identity Protection rates {name} at {level} risk (state {facts.risk_state})"
    else:
        fact = f"Identity Protection does not rate {name} at risk"
    return ledger.note("graph.riskyUsers", fact, upn), level


def reputation_evidence(address: str, enrichment: Enrichment, ledger: EvidenceLedger) -> str:
    facts = enrichment.ips.get(address)
    if facts is None:
        return ""
    rules = f"; {', '.join(facts.rules)}" if facts.rules else ""
    fact = f"{address} is classified {facts.reputation} (score {facts.score}{rules})"
    return ledger.note("threatIntelligence", fact, address)


def vpn_evidence(address: str, enrichment: Enrichment, ledger: EvidenceLedger) -> str:
    row = vpn_egress_row(address, enrichment)
    if row is None:
        return ""
    provider = row.get("Provider")
    suffix = f" ({provider})" if provider else ""
    return ledger.note("watchlist.KnownVPNEgress",
                       f"{address} is a known VPN egress address{suffix}", address)


def _where(sign_in: dict[str, Any]) -> str:
    location = sign_in.get("location") or {}
    parts = [str(location.get(k)) for k in ("city", "countryOrRegion") if location.get(k)]
    return ", ".join(parts) or "unknown place"


def _successes_by_address(facts: UserFacts) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sign_in in facts.sign_ins:
        if succeeded(sign_in) and sign_in.get("ipAddress"):
            grouped[str(sign_in["ipAddress"])].append(sign_in)
    return dict(grouped)


def _weigh_addresses(finding: Finding, upn: str, facts: UserFacts, incident: Incident,
                     enrichment: Enrichment, ledger: EvidenceLedger) -> list[tuple[str, list]]:
    """Add sign-in-source signals; return malicious external sources that may be blocked."""
    name = display_name(upn, facts)
    keys = entity_keys(incident)
    blockable: list[tuple[str, list[str]]] = []
    for address, sign_ins in _successes_by_address(facts).items():
        ip_facts = enrichment.ips.get(address)
        if ip_facts is None:
            continue

        times = sorted(t for s in sign_ins if (t := parse_time(s.get("createdDateTime"))))
        last = f", last at {stamp(times[-1])}" if times else ""
        signed_in = ledger.note(
            "graph.signIns",
            f"{len(sign_ins)} successful sign-in(s) by {name} from {address} "
            f"({_where(sign_ins[-1])}){last}", upn)
        vpn = vpn_evidence(address, enrichment, ledger)
        reputation = reputation_evidence(address, enrichment, ledger)
        level = ip_facts.reputation.lower()

        if vpn:
            finding.observe(f"{name} signed in through the corporate VPN egress {address}",
                            signed_in, vpn)
            continue
        if level not in REPUTATION_WEIGHTS:
            if address in keys:
                finding.observe(f"{name} signed in from {address}, whose reputation is {level}",
                                signed_in, reputation)
            continue

        finding.add(REPUTATION_WEIGHTS[level],
                    f"{name} signed in successfully from {address}, which threat intelligence "
                    f"classifies as {level}", signed_in, reputation)
        if level == "malicious" and address in keys and not is_internal_address(address, ip_facts):
            blockable.append((address, [signed_in, reputation]))
    return blockable


def _weigh_context(finding: Finding, upn: str, facts: UserFacts, enrichment: Enrichment,
                   ledger: EvidenceLedger) -> None:
    name = display_name(upn, facts)
    if facts.is_vip:
        rows = [r for r in enrichment.watchlists.get("VIPUsers", [])
                if normalized(str(r.get("UserPrincipalName", ""))) == upn]
        reason = f" ({rows[0]['Reason']})" if rows and rows[0].get("Reason") else ""
        vip = ledger.note("watchlist.VIPUsers", f"{name} is on the VIP watchlist{reason}", upn)
        finding.observe(f"{name} is a VIP, which raises the stakes", vip)
        finding.impact_bonus += 5
    if facts.is_admin:
        groups = ", ".join(facts.groups) or "an administrative role"
        admin = ledger.note("graph.groups", f"{name} is an administrator (member of {groups})",
                            upn)
        finding.observe(f"{name} holds administrative rights", admin)
        finding.impact_bonus += 5


def _account_finding(upn: str, facts: UserFacts, incident: Incident, enrichment: Enrichment,
                     ledger: EvidenceLedger) -> Finding:
    name = display_name(upn, facts)
    finding = Finding(problem="compromised account", subject=upn)

    risk, level = risk_evidence(upn, facts, ledger)
    if level in RISK_WEIGHTS:
        finding.add(RISK_WEIGHTS[level], f"Identity Protection rates {name} at {level} risk",
                    risk)
    else:
        finding.observe(f"Identity Protection does not rate {name} at risk", risk)

    def is_vpn(address: str) -> bool:
        return vpn_egress_row(address, enrichment) is not None

    journeys = impossible_journeys(facts.sign_ins, is_vpn=is_vpn)
    if journeys:
        fastest = max(journeys, key=lambda journey: journey.speed_kmh)
        travel = ledger.note("graph.signIns", f"{name}: {fastest.describe()}", upn)
        finding.add(0.6, f"{name} could not have travelled between the sign-ins from "
                         f"{fastest.start.label()} and {fastest.end.label()}", travel)

    blockable = _weigh_addresses(finding, upn, facts, incident, enrichment, ledger)
    _weigh_context(finding, upn, facts, enrichment, ledger)
    if not finding.actionable:
        return finding

    evidence = finding.evidence
    for action in ("disable_user", "revoke_sessions"):
        proposed = action_for(action, upn, incident, enrichment, evidence=evidence,
                              rationale=f"{name}'s account shows signs of compromise")
        if proposed is not None:
            finding.actions.append(proposed)
    for address, cited in blockable:
        proposed = action_for("block_ip", address, incident, enrichment, evidence=cited,
                              rationale=f"{name}'s attacker signed in from {address}")
        if proposed is not None:
            finding.actions.append(proposed)
    return finding


def compromised_accounts(incident: Incident, enrichment: Enrichment,
                         ledger: EvidenceLedger) -> list[Finding]:
    findings = []
    for entity in incident.entities_of(EntityKind.ACCOUNT):
        upn = normalized(entity.key)
        facts = enrichment.users.get(upn)
        if facts is None or not facts.found:
            continue
        findings.append(_account_finding(upn, facts, incident, enrichment, ledger))
    return findings
