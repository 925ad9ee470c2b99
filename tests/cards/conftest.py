"""Incident records as Cordon would hold them for the shared scenarios, built from core models.

Each record is one scenario's incident (read from `../shared/scenarios/`) with the verdicts
expected.yaml asks for and runs in the states a SOC would see during the incident's life:
executed, awaiting one of two approvers, rejected, expired, failed, undone, observed, dry run.
The people are the Fabrikam tenant's: Alex Wilber and Megan Bowen approve, Adele Vance reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cards import CardContext, Viewer
from core.models import (
    ActionRun,
    Alert,
    Approval,
    ApprovalDecision,
    Enrichment,
    Entity,
    EntityKind,
    Evidence,
    Incident,
    IncidentRecord,
    LookupFailure,
    ProposedAction,
    Recommendation,
    RunStatus,
    UserFacts,
    Verdict,
)
from core.settings import ROOT

SCENARIOS = ROOT.parent / "shared" / "scenarios"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

ALEX = Viewer("00000000-0000-0000-0000-0000000000020", is_approver=True, name="Alex Wilber")
MEGAN = Viewer("00000000-0000-0000-0000-0000000000021", is_approver=True, name="Megan Bowen")
ADELE = Viewer("00000000-0000-0000-0000-0000000000022", is_approver=False, name="Adele Vance")
APPROVER_TEAMS_IDS = ("29:1alexwilber-teams-id", "29:1meganbowen-teams-id")

USER_IDS = {
    "dana.rossi@fabrikam.example": "2a1dd265-08e6-501d-ba11-714c72faf66f",
    "priya.natarajan@fabrikam.example": "abf161ee-852d-5919-869a-45204f246325",
    "marcus.lee@fabrikam.example": "30188386-51a4-5163-b2a5-70ef97ce501c",
    "breakglass01@fabrikam.example": "e6eb5b07-ee09-5005-9fbe-33b561821592",
    "meganb@fabrikam.example": MEGAN.aad_object_id,
}

_KINDS = {kind.value: kind for kind in EntityKind}


def context(viewer: Viewer | None = None, **changes: Any) -> CardContext:
    settings = {"now": NOW, "viewer": viewer, "approver_user_ids": APPROVER_TEAMS_IDS}
    return CardContext(**{**settings, **changes})


def scenario_incident(name: str) -> Incident:
    """The scenario's Sentinel incident in Cordon's words (only what cards show)."""
    obj = json.loads((SCENARIOS / f"{name}.json").read_text())["object"]
    props = obj["properties"]
    alerts = [
        Alert(id=a["properties"]["systemAlertId"], name=a["properties"]["alertDisplayName"],
              severity=a["properties"]["severity"], product=a["properties"]["productName"],
              tactics=a["properties"].get("tactics", []))
        for a in props.get("alerts", [])
    ]
    return Incident(
        id=obj["id"],
        number=props["incidentNumber"], title=props["title"],
        description=props.get("description", ""), severity=props["severity"],
        url=props["incidentUrl"], provider=props["providerName"],
        tactics=props["additionalData"].get("tactics", []),
        alert_count=props["additionalData"].get("alertsCount", len(alerts)),
        alerts=alerts, entities=[_entity(e) for e in props["relatedEntities"]],
    )


def _entity(raw: dict[str, Any]) -> Entity:
    p = raw["properties"]
    kind = _KINDS.get(raw["kind"], EntityKind.OTHER)
    if kind == EntityKind.ACCOUNT:
        key = f"{p['accountName']}@{p['upnSuffix']}".lower()
    elif kind == EntityKind.HOST:
        key = f"{p['hostName']}.{p['dnsDomain']}".lower()
    elif kind == EntityKind.IP:
        key = p["address"]
    elif kind == EntityKind.URL:
        key = p["url"]
    elif kind == EntityKind.MAIL_MESSAGE:
        key = p["networkMessageId"]
    elif kind == EntityKind.CLOUD_APPLICATION:
        key = p["appId"]
    elif kind == EntityKind.FILE_HASH:
        key = p["hashValue"]
    else:
        key = p.get("friendlyName", "")
    return Entity(kind=kind, raw_kind=raw["kind"], key=key,
                  name=p.get("subject") or p.get("friendlyName", ""), properties=p)


def run(
    incident: Incident,
    action: str,
    target: str,
    verdict: str,
    status: RunStatus,
    *,
    reasons: list[str] | None = None,
    approvers: int = 0,
    executed_minutes_ago: int | None = None,
    error: str | None = None,
    inverse_of: str | None = None,
    count: int = 1,
    evidence: list[str] | None = None,
) -> ActionRun:
    proposed = ProposedAction(action=action, target=target, count=count,
                              evidence=evidence or ["E1"])
    executed = NOW - timedelta(minutes=executed_minutes_ago) if executed_minutes_ago else None
    return ActionRun(
        id=f"run-{incident.number}-{action}-{abs(hash(target)) % 10_000}",
        incident_id=incident.id, proposed=proposed,
        verdict=Verdict(verdict=verdict, reasons=reasons or [_REASONS[verdict]],
                        approvers_required=approvers),
        status=status, idempotency_key=f"{incident.id}:{action}:{target}",
        error=error, inverse_of=inverse_of, executed_at=executed, updated_at=executed,
    )


_REASONS = {
    "auto": "allowed_actions lists it and no requires_approval rule matched",
    "approval": "requires_approval rule 1 matched: user.department == \"Finance\"",
    "denied": "forbidden_entities.user_principal_names lists breakglass01@fabrikam.example",
    "escalated": "confidence 0.42 is below escalate_below 0.5",
    "observed": "mode is observe: shown, never executed",
}


def approval(
    action_run: ActionRun,
    status: str,
    *,
    required: int = 1,
    decisions: list[tuple[Viewer, str]] = (),
    expires_in_minutes: int = 55,
) -> Approval:
    return Approval(
        id=f"appr-{action_run.id}", run_id=action_run.id, incident_id=action_run.incident_id,
        action_hash=action_run.proposed.canonical_hash(), approvers_required=required,
        status=status, expires_at=NOW + timedelta(minutes=expires_in_minutes),
        decisions=[ApprovalDecision(approver_id=v.aad_object_id, approver_name=v.name,
                                    decision=d, at=NOW - timedelta(minutes=2))
                   for v, d in decisions],
    )


def record(
    incident: Incident,
    runs: list[ActionRun],
    approvals: list[Approval] = (),
    *,
    outcome: str = "contained",
    mode: str = "automate",
    dry_run: bool = False,
    rationale: str = "",
    evidence: list[Evidence] | None = None,
) -> IncidentRecord:
    users = {upn: UserFacts(upn=upn, id=oid, found=True) for upn, oid in USER_IDS.items()}
    return IncidentRecord(
        incident=incident, enrichment=Enrichment(users=users),
        recommendation=Recommendation(
            actions=[r.proposed for r in runs], confidence=0.93, risk_score=87,
            rationale=rationale or "The account signed in from two countries 19 minutes apart "
                                   "through an anonymising proxy [E1] and is at high risk [E2].",
            evidence=evidence or [
                Evidence(id="E1", source="graph.signIns",
                         fact="Sign-ins from London and Lagos 19 minutes apart"),
                Evidence(id="E2", source="graph.riskyUsers", fact="Risk level high, at risk"),
            ],
        ),
        runs=runs, approvals=list(approvals), outcome=outcome, risk_score=87, mode=mode,
        dry_run=dry_run, received_at=NOW - timedelta(minutes=20),
    )


def impossible_travel() -> IncidentRecord:
    """4521: Dana Rossi disabled and her sessions revoked, automatically, ten minutes ago."""
    inc = scenario_incident("impossible-travel-powershell")
    dana = "dana.rossi@fabrikam.example"
    return record(inc, [
        run(inc, "disable_user", dana, "auto", RunStatus.SUCCEEDED, executed_minutes_ago=10),
        run(inc, "revoke_sessions", dana, "auto", RunStatus.SUCCEEDED, executed_minutes_ago=10),
    ])


def finance_awaiting() -> IncidentRecord:
    """4522: disabling the Finance controller waits for one approver."""
    inc = scenario_incident("finance-impossible-travel")
    priya = "priya.natarajan@fabrikam.example"
    disable = run(inc, "disable_user", priya, "approval", RunStatus.PENDING_APPROVAL,
                  approvers=1)
    revoke = run(inc, "revoke_sessions", priya, "auto", RunStatus.SUCCEEDED,
                 executed_minutes_ago=15)
    return record(inc, [revoke, disable], [approval(disable, "pending")],
                  outcome="awaiting_approval")


def spray_four_eyes() -> IncidentRecord:
    """4524: the spraying IP blocked; revoking the Domain Admin's sessions needs two people,
    and Alex Wilber has approved."""
    inc = scenario_incident("password-spray-ip")
    block = run(inc, "block_ip", "203.0.113.45", "auto", RunStatus.SUCCEEDED,
                executed_minutes_ago=5)
    revoke = run(inc, "revoke_sessions", "marcus.lee@fabrikam.example", "approval",
                 RunStatus.PENDING_APPROVAL, approvers=2,
                 reasons=['requires_approval rule 2 matched: "Domain Admins" in user.groups'])
    pending = approval(revoke, "pending", required=2, decisions=[(ALEX, "approve")])
    return record(inc, [block, revoke], [pending], outcome="awaiting_approval")


def breakglass_denied() -> IncidentRecord:
    """4523: the break-glass account is forbidden: denied, and the incident escalated."""
    inc = scenario_incident("breakglass-signin")
    return record(inc, [run(inc, "disable_user", "breakglass01@fabrikam.example", "denied",
                            RunStatus.DENIED)], outcome="escalated")


def phishing_rejected_and_failed() -> IncidentRecord:
    """4527: Megan Bowen rejected the purge; blocking the indicator failed upstream."""
    inc = scenario_incident("phishing-campaign")
    purge = run(inc, "purge_email", "Invoice 88213 overdue - action required", "approval",
                RunStatus.REJECTED, count=5,
                reasons=["requires_approval rule 4 matched: action.count > 3"])
    block = run(inc, "block_indicator", "contoso-pay.example", "auto", RunStatus.FAILED,
                error="Defender answered 503 four times; gave up after 4 attempts")
    rejected = approval(purge, "rejected", decisions=[(MEGAN, "reject")])
    return record(inc, [purge, block], [rejected], outcome="escalated")


def consent_expired() -> IncidentRecord:
    """4528: nobody approved revoking the app's consent within the hour."""
    inc = scenario_incident("oauth-consent-phish")
    revoke = run(inc, "revoke_app_consent", "7ffa898c-6815-5e8f-80d9-dee7b7308fe3",
                 "approval", RunStatus.EXPIRED,
                 reasons=['requires_approval rule 5 matched: "true"'])
    return record(inc, [revoke], [approval(revoke, "expired", expires_in_minutes=-5)],
                  outcome="awaiting_approval")


def malware_undone() -> IncidentRecord:
    """4525: the laptop was isolated, then released by Undo."""
    inc = scenario_incident("malware-workstation")
    host = "fab-lt-0310.corp.fabrikam.example"
    isolate = run(inc, "isolate_device", host, "auto", RunStatus.ROLLED_BACK,
                  executed_minutes_ago=30)
    release = run(inc, "unisolate_device", host, "auto", RunStatus.SUCCEEDED,
                  executed_minutes_ago=3, inverse_of=isolate.id)
    executing = run(inc, "create_ticket", host, "auto", RunStatus.EXECUTING)
    return record(inc, [isolate, release, executing])


def malware_dry_run() -> IncidentRecord:
    inc = scenario_incident("malware-workstation")
    return record(inc, [run(inc, "isolate_device", "fab-lt-0310.corp.fabrikam.example", "auto",
                            RunStatus.DRY_RUN)], dry_run=True)


def travel_observed() -> IncidentRecord:
    inc = scenario_incident("impossible-travel-powershell")
    dana = "dana.rossi@fabrikam.example"
    return record(inc, [
        run(inc, "disable_user", dana, "observed", RunStatus.OBSERVED),
        run(inc, "revoke_sessions", dana, "observed", RunStatus.OBSERVED),
    ], outcome="observed", mode="observe")


def injected_title() -> IncidentRecord:
    """4530: a title that tries to instruct the reasoner, plus a phishing link for good
    measure."""
    inc = scenario_incident("prompt-injection-in-title")
    inc = inc.model_copy(update={
        "title": inc.title + " [Approve here](https://evil.example/approve) <at>Megan Bowen</at>",
    })
    return record(inc, [run(inc, "disable_user", "dana.rossi@fabrikam.example", "approval",
                            RunStatus.PENDING_APPROVAL, approvers=1)], outcome="awaiting_approval")


def stress() -> IncidentRecord:
    """A password spray at scale: 500 accounts, 200 alerts, 30 actions, long text everywhere."""
    inc = scenario_incident("password-spray-ip")
    long_words = " ".join(["Suspicious [click](https://evil.example) sign-in activity"] * 80)
    entities = [Entity(kind=EntityKind.ACCOUNT, raw_kind="Account",
                       key=f"user{i:03d}@fabrikam.example") for i in range(500)]
    entities += [Entity(kind=EntityKind.IP, raw_kind="Ip", key=f"203.0.113.{i}")
                 for i in range(1, 120)]
    alerts = [Alert(id=f"a{i}", name=f"Password spray wave {i % 17}: " + "x" * 200)
              for i in range(200)]
    inc = inc.model_copy(update={
        "title": long_words, "description": long_words * 3, "entities": entities,
        "alerts": alerts, "alert_count": 200,
    })
    runs, approvals = [], []
    statuses = list(RunStatus)
    for i in range(30):
        status = statuses[i % len(statuses)]
        target = f"user{i:03d}@fabrikam.example" + ("-" + "z" * 300 if i % 5 == 0 else "")
        verdict = "approval" if status in (RunStatus.PENDING_APPROVAL, RunStatus.REJECTED,
                                           RunStatus.EXPIRED) else "auto"
        r = run(inc, "disable_user", target, verdict, status, approvers=2,
                reasons=[long_words[:900]] * 6, executed_minutes_ago=5,
                error=long_words if status == RunStatus.FAILED else None,
                evidence=[f"E{j}" for j in range(60)])
        r = r.model_copy(update={"id": f"run-stress-{i:02d}"})
        runs.append(r)
        if verdict == "approval":
            approvals.append(approval(r, "pending" if i % 2 else "rejected",
                                      required=2, decisions=[(ALEX, "approve")]))
    evidence = [Evidence(id=f"E{j}", source="graph.signIns", fact=long_words[:2000])
                for j in range(60)]
    stressed = record(inc, runs, approvals, outcome="awaiting_approval",
                      rationale=long_words * 4, evidence=evidence)
    failures = [LookupFailure(lookup="graph.signIns", entity=e.key, error=long_words)
                for e in entities[:300]]
    return stressed.model_copy(update={
        "enrichment": stressed.enrichment.model_copy(update={"failures": failures})})


def stress_all_pending() -> IncidentRecord:
    """The stress incident with every one of its 30 actions waiting for two approvers."""
    base = stress()
    runs = [r.model_copy(update={"status": RunStatus.PENDING_APPROVAL}) for r in base.runs]
    approvals = [approval(r, "pending", required=2) for r in runs]
    return base.model_copy(update={"runs": runs, "approvals": approvals})


RECORDS = {
    "impossible_travel": impossible_travel,
    "finance_awaiting": finance_awaiting,
    "spray_four_eyes": spray_four_eyes,
    "breakglass_denied": breakglass_denied,
    "phishing_rejected_and_failed": phishing_rejected_and_failed,
    "consent_expired": consent_expired,
    "malware_undone": malware_undone,
    "malware_dry_run": malware_dry_run,
    "travel_observed": travel_observed,
    "injected_title": injected_title,
    "stress": stress,
    "stress_all_pending": stress_all_pending,
}


@pytest.fixture(params=sorted(RECORDS))
def any_record(request: pytest.FixtureRequest) -> IncidentRecord:
    return RECORDS[request.param]()


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def executes(card: dict[str, Any], verb: str | None = None) -> list[dict[str, Any]]:
    """The card's Action.Execute buttons (not its refresh action), optionally of one verb."""
    body = {k: v for k, v in card.items() if k != "refresh"}
    found = [n for n in walk(body) if n.get("type") == "Action.Execute"]
    return [n for n in found if verb is None or n["verb"] == verb]


def shown_text(card: dict[str, Any]) -> str:
    """Everything a person reads on the card, in one string."""
    parts = []
    for node in walk(card):
        for key in ("text", "title", "value"):
            if isinstance(node.get(key), str):
                parts.append(node[key])
    return "\n".join(parts)
