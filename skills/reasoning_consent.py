"""The suspicious-consent rule: an OAuth app users gave access it should not have.

For each cloud-application entity whose service principal Graph knows, the rule weighs: no
verified publisher (0.4), registration within 30 days of the incident (0.2), delegated grants
to mail (read, write or send mail, or full mailbox access: 0.4), offline access that outlives
the session (0.1), and alerts with the Persistence or Collection tactic (0.2). A suspicious app
with grants is contained by one `revoke_app_consent` aimed at the app id, its parameters the
service principal id and the grant ids, its `count` the number of grants.

Limitation: application permissions (app roles) are not looked at; only delegated
`oauth2PermissionGrants` are revoked.
"""

from __future__ import annotations

from datetime import timedelta

from core.models import AppFacts, Enrichment, EntityKind, Incident
from skills.reasoning_alerts import AlertEvidence
from skills.reasoning_evidence import EvidenceLedger
from skills.reasoning_finding import Finding
from skills.reasoning_identity import display_name
from skills.reasoning_parameters import action_for
from skills.reasoning_targets import normalized
from skills.reasoning_travel import parse_time, stamp

MAIL_SCOPES = {
    "mail.read", "mail.readbasic", "mail.readwrite", "mail.send", "mailboxsettings.readwrite",
    "ews.accessasuser.all", "imap.accessasuser.all", "pop.accessasuser.all", "smtp.send",
    "full_access_as_app",
}
RECENT = timedelta(days=30)


def _granted_by(facts: AppFacts, enrichment: Enrichment) -> str:
    by_id = {user.id: upn for upn, user in enrichment.users.items() if user.id}
    names = []
    for grant in facts.grants:
        if grant.get("consentType") == "AllPrincipals":
            names.append("all users (admin consent)")
            continue
        upn = by_id.get(str(grant.get("principalId")))
        names.append(display_name(upn, enrichment.users.get(upn)) if upn
                     else str(grant.get("principalId")))
    return ", ".join(sorted(set(names)))


def _weigh_publisher(finding: Finding, key: str, name: str, facts: AppFacts,
                     incident: Incident, ledger: EvidenceLedger) -> None:
    principal = facts.service_principal
    verified = (principal.get("verifiedPublisher") or {}).get("displayName")
    created = parse_time(principal.get("createdDateTime"))
    when = f", added {stamp(created)}" if created else ""
    publisher = ledger.note(
        "graph.servicePrincipals",
        f"{name}: publisher '{principal.get('publisherName') or 'unknown'}', verified publisher "
        f"{verified or 'none'}{when}", key)
    if not verified:
        finding.add(0.4, f"{name} has no verified publisher", publisher)

    reference = incident.created or next((a.start_time for a in incident.alerts if a.start_time),
                                         None)
    if created and reference and abs(reference - created) <= RECENT:
        finding.add(0.2, f"{name} was added to the tenant recently", publisher)


def _weigh_grants(finding: Finding, key: str, name: str, facts: AppFacts,
                  enrichment: Enrichment, ledger: EvidenceLedger) -> None:
    scopes = sorted({s for g in facts.grants for s in str(g.get("scope", "")).split() if s})
    grants = ledger.note(
        "graph.oauth2PermissionGrants",
        f"{len(facts.grants)} grant(s) give {name} {' '.join(scopes) or 'no scopes'}, "
        f"granted by {_granted_by(facts, enrichment)}", key)
    lowered = {s.lower() for s in scopes}
    mail = sorted(s for s in scopes if s.lower() in MAIL_SCOPES)
    if mail:
        finding.add(0.4, f"{name} may read or send mail ({', '.join(mail)})", grants)
    if "offline_access" in lowered:
        finding.add(0.1, f"{name} keeps access after the user signs out (offline_access)",
                    grants)


def _app_finding(key: str, facts: AppFacts, incident: Incident, enrichment: Enrichment,
                 ledger: EvidenceLedger, alerts: AlertEvidence) -> Finding:
    name = str(facts.service_principal.get("displayName") or key)
    finding = Finding(problem="suspicious app consent", subject=key)
    _weigh_publisher(finding, key, name, facts, incident, ledger)
    _weigh_grants(finding, key, name, facts, enrichment, ledger)
    tactic_alerts = alerts.showing("Persistence") + alerts.showing("Collection")
    if tactic_alerts:
        finding.add(0.2, "The alerts show persistence or collection", *tactic_alerts)

    if finding.actionable:
        proposed = action_for("revoke_app_consent", key, incident, enrichment,
                              evidence=finding.evidence,
                              rationale=f"{name} holds consent it should not have")
        if proposed is not None:
            finding.actions.append(proposed)
    return finding


def suspicious_consents(incident: Incident, enrichment: Enrichment, ledger: EvidenceLedger,
                        alerts: AlertEvidence) -> list[Finding]:
    findings = []
    for entity in incident.entities_of(EntityKind.CLOUD_APPLICATION):
        key = normalized(entity.key)
        facts = enrichment.apps.get(key)
        if facts is None or not facts.found:
            continue
        findings.append(_app_finding(key, facts, incident, enrichment, ledger, alerts))
    return findings
