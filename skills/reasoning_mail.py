"""The phishing-campaign rule: malicious mail from one sender delivered to several mailboxes.

The incident's mail entities are grouped by sender. For each sender the rule weighs Defender
for Office 365's verdict on the analyzed messages (phish or malware: 0.5), threat intelligence
on the hosts the mail points at (sender domain, URLs in the messages, URL entities: malicious
0.6, suspicious 0.3), the campaign's reach (two or more recipients: 0.2) and an alert from
Defender for Office 365 (0.2). A campaign is contained by one `purge_email` aimed at the sender
whose `count` is the number of messages still delivered and whose parameters list them, and by
`block_indicator` on each malicious host. Subjects and bodies are never read.
"""

from __future__ import annotations

from core.models import Enrichment, Entity, Incident
from skills.reasoning_alerts import AlertEvidence
from skills.reasoning_evidence import EvidenceLedger
from skills.reasoning_finding import Finding
from skills.reasoning_parameters import action_for, campaign_messages
from skills.reasoning_targets import (
    campaign_mails,
    entity_keys,
    host_of,
    incident_hosts,
    recipient_of,
    sender_domain,
)

THREAT_TYPES = {"phish", "malware"}
HOST_WEIGHTS = {"malicious": 0.6, "suspicious": 0.3}


def host_evidence(host: str, enrichment: Enrichment, ledger: EvidenceLedger) -> str:
    facts = enrichment.hosts.get(host)
    if facts is None:
        return ""
    rules = f"; {', '.join(facts.rules)}" if facts.rules else ""
    return ledger.note("threatIntelligence",
                       f"{host} is classified {facts.reputation} (score {facts.score}{rules})",
                       host)


def _campaign_hosts(sender: str, mails: list[Entity], incident: Incident,
                    enrichment: Enrichment) -> list[str]:
    hosts = {sender_domain(sender)}
    for mail in mails:
        facts = enrichment.mails.get(mail.key)
        if facts is not None:
            hosts |= {host_of(str(url.get("url", ""))) for url in facts.message.get("urls") or []}
    hosts |= {h for h in incident_hosts(incident, enrichment) if h in entity_keys(incident)}
    return sorted(h for h in hosts if h in enrichment.hosts)


def _weigh_messages(finding: Finding, sender: str, mails: list[Entity],
                    enrichment: Enrichment, ledger: EvidenceLedger) -> None:
    recipients = sorted({recipient_of(mail) for mail in mails})
    reach = ledger.note("incident.entities",
                        f"{len(mails)} messages from {sender} to {', '.join(recipients)}", sender)
    if len(recipients) >= 2:
        finding.add(0.2, f"{sender} reached {len(recipients)} mailboxes", reach)

    analyzed = [f for mail in mails if (f := enrichment.mails.get(mail.key)) and f.found]
    flagged = [f for f in analyzed
               if THREAT_TYPES & {str(t).lower() for t in f.message.get("threatTypes") or []}]
    if not flagged:
        return
    kinds = sorted({str(t).lower() for f in flagged for t in f.message.get("threatTypes") or []})
    verdict = ledger.note(
        "graph.analyzedEmails",
        f"Defender for Office 365 classifies {len(flagged)} of {len(mails)} messages from "
        f"{sender} as {', '.join(kinds)}", sender)
    finding.add(0.5, f"Defender for Office 365 classifies the messages as {', '.join(kinds)}",
                verdict)


def _campaign_finding(sender: str, mails: list[Entity], incident: Incident,
                      enrichment: Enrichment, ledger: EvidenceLedger,
                      alerts: AlertEvidence) -> Finding:
    finding = Finding(problem="phishing campaign", subject=sender)
    _weigh_messages(finding, sender, mails, enrichment, ledger)

    malicious: list[str] = []
    for host in _campaign_hosts(sender, mails, incident, enrichment):
        level = enrichment.hosts[host].reputation.lower()
        reputation = host_evidence(host, enrichment, ledger)
        if level in HOST_WEIGHTS:
            finding.add(HOST_WEIGHTS[level], f"Threat intelligence classifies {host} as {level}",
                        reputation)
        if level == "malicious":
            malicious.append(host)

    for evidence_id in alerts.from_product("office 365")[:1]:
        finding.add(0.2, "Defender for Office 365 raised an alert on the delivery", evidence_id)

    if not finding.actionable:
        return finding
    if not campaign_messages(sender, incident, enrichment):
        delivered = ledger.note("graph.analyzedEmails",
                                f"No message from {sender} is still in a mailbox", sender)
        finding.observe(f"The messages from {sender} were already removed", delivered)

    evidence = finding.evidence
    wanted = [("purge_email", sender, f"remove the campaign from {sender} from every mailbox")]
    wanted += [("block_indicator", host, f"{host} serves the campaign") for host in malicious]
    for action, target, why in wanted:
        proposed = action_for(action, target, incident, enrichment, evidence=evidence,
                              rationale=why)
        if proposed is not None:
            finding.actions.append(proposed)
    return finding


def phishing_campaigns(incident: Incident, enrichment: Enrichment, ledger: EvidenceLedger,
                       alerts: AlertEvidence) -> list[Finding]:
    return [_campaign_finding(sender, mails, incident, enrichment, ledger, alerts)
            for sender, mails in campaign_mails(incident).items()]
