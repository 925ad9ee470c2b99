"""The compromised-endpoint rule: malware, ransomware or command-and-control on a machine.

For each host entity Defender for Endpoint knows, the rule looks for behaviour that spreads or
destroys: alerts with the Impact (0.5), LateralMovement (0.4), CommandAndControl (0.5) or
Exfiltration (0.4) tactic. Without one of those the machine is not isolated, whatever its
risk. With one, a Defender for Endpoint alert (0.4), the machine's Defender risk (High 0.4,
Medium 0.25) and a high-severity alert (0.2) add weight, and the rule proposes
`isolate_device`, `stop_and_quarantine_file` for each SHA-1 of the incident (Defender's call
takes no other hash) or `block_indicator` for any other file hash, and, for
command-and-control, `block_ip` of every external address of the incident that threat
intelligence classifies as malicious (0.5) or suspicious (0.3). Internal addresses (the
machine's own, a neighbour's) are never blocked; critical assets raise the risk score and are
left to the policy, which may forbid touching them.

Limitation: Sentinel alerts do not say which entity each alert is about, so every alert of the
incident is read as concerning every machine of the incident.
"""

from __future__ import annotations

from core.models import DeviceFacts, Enrichment, EntityKind, Incident
from skills.reasoning_addresses import is_internal_address, vpn_egress_row
from skills.reasoning_alerts import AlertEvidence
from skills.reasoning_evidence import EvidenceLedger
from skills.reasoning_finding import Finding
from skills.reasoning_identity import reputation_evidence
from skills.reasoning_parameters import action_for
from skills.reasoning_targets import normalized

THREAT_TACTICS = {"Impact": 0.5, "LateralMovement": 0.4, "CommandAndControl": 0.5,
                  "Exfiltration": 0.4}
TACTIC_WORDS = {"Impact": "destructive impact", "LateralMovement": "lateral movement",
                "CommandAndControl": "command-and-control traffic",
                "Exfiltration": "exfiltration"}
DEVICE_RISK_WEIGHTS = {"high": 0.4, "medium": 0.25}
DESTINATION_WEIGHTS = {"malicious": 0.5, "suspicious": 0.3}
CRITICAL_TAGS = {"tier0", "domaincontroller", "critical"}


def machine_label(key: str, facts: DeviceFacts) -> str:
    return key.split(".")[0].upper() if key else facts.name


def machine_evidence(key: str, facts: DeviceFacts, ledger: EvidenceLedger) -> str:
    machine = facts.machine
    tags = ", ".join(facts.machine_tags) or "none"
    fact = (f"{machine_label(key, facts)}: Defender risk {machine.get('riskScore', 'unknown')}, "
            f"exposure {machine.get('exposureLevel', 'unknown')}, tags {tags}, "
            f"{machine.get('isolationState', 'isolation state unknown')}, last address "
            f"{machine.get('lastIpAddress', 'unknown')}")
    return ledger.note("defender.machines", fact, key)


def _weigh_command_and_control(finding: Finding, incident: Incident, enrichment: Enrichment,
                               ledger: EvidenceLedger) -> list[tuple[str, list[str]]]:
    destinations: list[tuple[str, list[str]]] = []
    for entity in incident.entities_of(EntityKind.IP):
        address = normalized(entity.key)
        facts = enrichment.ips.get(address)
        if facts is None:
            continue
        if is_internal_address(address, facts):
            internal = ledger.note("incident.entities",
                                   f"{address} is an internal (private range) address", address)
            finding.observe(f"{address} is internal and is not blocked", internal)
            continue
        if vpn_egress_row(address, enrichment) is not None:
            continue

        level = facts.reputation.lower()
        reputation = reputation_evidence(address, enrichment, ledger)
        if level not in DESTINATION_WEIGHTS:
            continue
        finding.add(DESTINATION_WEIGHTS[level],
                    f"The external address {address} is classified {level}", reputation)
        destinations.append((address, [reputation]))
    return destinations


def _weigh_machine(finding: Finding, key: str, facts: DeviceFacts, enrichment: Enrichment,
                   ledger: EvidenceLedger, alerts: AlertEvidence) -> str:
    label = machine_label(key, facts)
    machine = machine_evidence(key, facts, ledger)
    for evidence_id in alerts.from_product("defender for endpoint")[:1]:
        finding.add(0.4, f"Defender for Endpoint raised an alert on {label}", evidence_id)

    risk = str(facts.machine.get("riskScore", "")).lower()
    if risk in DEVICE_RISK_WEIGHTS:
        finding.add(DEVICE_RISK_WEIGHTS[risk], f"Defender rates {label} at {risk} risk", machine)
    for evidence_id in alerts.of_severity("High")[:1]:
        finding.add(0.2, "The alert is of high severity", evidence_id)

    tags = {tag.lower() for tag in facts.machine_tags}
    if facts.is_critical or tags & CRITICAL_TAGS:
        critical = [machine]
        rows = [r for r in enrichment.watchlists.get("CriticalAssets", [])
                if normalized(str(r.get("Asset", ""))) in (key, key.split(".")[0])]
        if rows:
            critical.append(ledger.note("watchlist.CriticalAssets",
                                        f"{label} is a critical asset (tier {rows[0].get('Tier')})",
                                        key))
        finding.observe(f"{label} is a critical asset; whether it may be touched is the "
                        f"policy's decision", *critical)
        finding.impact_bonus += 10
    return machine


def _machine_finding(key: str, facts: DeviceFacts, incident: Incident, enrichment: Enrichment,
                     ledger: EvidenceLedger, alerts: AlertEvidence) -> Finding:
    label = machine_label(key, facts)
    finding = Finding(problem="compromised endpoint", subject=key)
    threats = sorted(alerts.tactics & set(THREAT_TACTICS))
    if not threats:
        machine = machine_evidence(key, facts, ledger)
        finding.observe(f"No alert shows impact, lateral movement, command-and-control or "
                        f"exfiltration on {label}, so it is not isolated", machine)
        return finding

    for tactic in threats:
        finding.add(THREAT_TACTICS[tactic], f"The alerts show {TACTIC_WORDS[tactic]}",
                    *alerts.showing(tactic))
    machine = _weigh_machine(finding, key, facts, enrichment, ledger, alerts)
    destinations: list[tuple[str, list[str]]] = []
    if "CommandAndControl" in threats:
        destinations = _weigh_command_and_control(finding, incident, enrichment, ledger)

    if str(facts.machine.get("isolationState", "")).lower() == "isolated":
        finding.observe(f"{label} is already isolated", machine)
    if not finding.actionable:
        return finding

    evidence = finding.evidence
    behaviour = ", ".join(TACTIC_WORDS[t] for t in threats)
    wanted = [("isolate_device", key, f"{label} shows {behaviour}")]
    if str(facts.machine.get("isolationState", "")).lower() == "isolated":
        wanted = []
    for entity in incident.entities_of(EntityKind.FILE_HASH):
        digest = normalized(entity.key)
        # StopAndQuarantineFile takes a SHA-1; any other hash is blocked as an indicator.
        if len(digest) == 40:
            wanted.append(("stop_and_quarantine_file", digest, f"the file ran on {label}"))
        else:
            wanted.append(("block_indicator", digest, f"the file ran on {label}"))
    wanted += [("block_ip", address, f"{label} talks to {address}")
               for address, _ in destinations]
    for action, target, why in wanted:
        proposed = action_for(action, target, incident, enrichment, evidence=evidence,
                              rationale=why)
        if proposed is not None:
            finding.actions.append(proposed)
    return finding


def compromised_endpoints(incident: Incident, enrichment: Enrichment, ledger: EvidenceLedger,
                          alerts: AlertEvidence) -> list[Finding]:
    findings = []
    for entity in incident.entities_of(EntityKind.HOST):
        key = normalized(entity.key)
        facts = enrichment.devices.get(key)
        if facts is None or not facts.found:
            continue
        findings.append(_machine_finding(key, facts, incident, enrichment, ledger, alerts))
    return findings
