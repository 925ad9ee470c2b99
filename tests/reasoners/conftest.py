"""Fixtures for the reasoner tests: the shared scenarios as incidents, the tenant as enrichment.

The intake parser and the enricher are other parts' work; these fixtures stand in for them with
the smallest faithful reading of the same inputs. Incidents come from
`../shared/scenarios/*.json` (Sentinel playbook payloads) with entity keys as the brief defines
them; enrichment comes from `../shared/tenant/fabrikam.json` the way the enrichment plugins
read the sandbox: Graph users, group names, sign-ins, risky users, host reputations, Defender
machines, Sentinel watchlists, analyzed emails, service principals and their grants.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from core.models import (
    ActionRun,
    Alert,
    AppFacts,
    Approval,
    ApprovalDecision,
    DeviceFacts,
    Enrichment,
    Entity,
    EntityKind,
    HostReputation,
    Incident,
    IncidentRecord,
    IpFacts,
    MailFacts,
    RunStatus,
    UserFacts,
    Verdict,
)
from skills.builtin_reasoner import BuiltinReasoner

SHARED = Path(__file__).resolve().parents[3] / "shared"
if not SHARED.exists():
    SHARED = Path("/work/shared")
SCENARIOS = SHARED / "scenarios"
TENANT = SHARED / "tenant" / "fabrikam.json"
ADMIN_GROUPS = {"domain admins", "enterprise admins", "global administrator"}
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _entity(raw: dict[str, Any]) -> Entity:
    kind_name = raw.get("kind", "")
    props = raw.get("properties", {})
    kind = next((k for k in EntityKind if k.value.lower() == kind_name.lower()), EntityKind.OTHER)
    if kind == EntityKind.ACCOUNT:
        key = f"{props['accountName']}@{props['upnSuffix']}".lower()
    elif kind == EntityKind.HOST:
        key = ".".join(p for p in (props.get("hostName"), props.get("dnsDomain")) if p).lower()
    elif kind == EntityKind.IP:
        key = props["address"]
    elif kind == EntityKind.URL:
        key = (urlsplit(props["url"]).hostname or props["url"]).lower()
    elif kind == EntityKind.FILE_HASH:
        key = props["hashValue"].lower()
    elif kind == EntityKind.MAIL_MESSAGE:
        key = props["networkMessageId"].lower()
    elif kind == EntityKind.CLOUD_APPLICATION:
        key = props["appId"].lower()
    else:
        key = str(props.get("friendlyName", ""))
    name = props.get("displayName") or props.get("hostName") or props.get("appName") or key
    return Entity(kind=kind, raw_kind=kind_name, key=key, name=name, properties=props)


def parse_sentinel(payload: dict[str, Any]) -> Incident:
    """A Sentinel playbook payload as a core Incident (a stand-in for response's intake)."""
    obj = payload["object"]
    props = obj["properties"]
    extra = props.get("additionalData", {})
    raw_alerts = next((v for k, v in props.items() if k.lower() == "alerts"), [])
    alerts = []
    for raw in raw_alerts:
        p = raw["properties"]
        details = (p.get("additionalData") or {}).get("Custom Details")
        alerts.append(Alert(
            id=p["systemAlertId"], name=p.get("alertDisplayName", ""),
            severity=p.get("severity", "Informational"), product=p.get("productName", ""),
            tactics=p.get("tactics", []), start_time=_time(p.get("startTimeUtc")),
            custom_details=json.loads(details) if details else {},
        ))
    return Incident(
        id=obj["id"], number=props.get("incidentNumber"), title=props["title"],
        description=props.get("description", ""), severity=props.get("severity", "Low"),
        status=props.get("status", "New"), provider=props.get("providerName", ""),
        provider_incident_id=props.get("providerIncidentId", ""),
        url=props.get("incidentUrl", ""), created=_time(props.get("createdTimeUtc")),
        revision=props.get("lastModifiedTimeUtc", ""),
        labels=[label["labelName"] for label in props.get("labels", [])],
        tactics=extra.get("tactics", []), products=extra.get("alertProductNames", []),
        alert_count=extra.get("alertsCount", len(alerts)), alerts=alerts,
        entities=[_entity(e) for e in props.get("relatedEntities", [])],
    )


class FabrikamEnricher:
    """Enrichment of an incident's entities from the tenant file (a stand-in for skills')."""

    def __init__(self, tenant: dict[str, Any]) -> None:
        self.graph = tenant["graph"]
        self.machines = tenant["defender"]["machines"]
        self.watchlists = tenant["sentinel"]["watchlists"]

    def enrich(self, incident: Incident) -> Enrichment:
        enrichment = Enrichment()
        for entity in incident.entities:
            if entity.kind == EntityKind.ACCOUNT:
                enrichment.users[entity.key] = self.user(entity)
            elif entity.kind == EntityKind.HOST:
                enrichment.devices[entity.key] = self.device(entity)
            elif entity.kind == EntityKind.IP:
                enrichment.ips[entity.key] = self.ip(entity.key)
            elif entity.kind == EntityKind.URL:
                enrichment.hosts[entity.key] = self.host(entity.key)
            elif entity.kind == EntityKind.MAIL_MESSAGE:
                enrichment.mails[entity.key] = self.mail(entity)
            elif entity.kind == EntityKind.CLOUD_APPLICATION:
                enrichment.apps[entity.key] = self.app(entity.key)
        enrichment.watchlists = {name: list(rows) for name, rows in self.watchlists.items()}
        return enrichment

    def user(self, entity: Entity) -> UserFacts:
        user = next((u for u in self.graph["users"]
                     if u["userPrincipalName"].lower() == entity.key
                     or u["id"] == entity.properties.get("aadUserId")), None)
        if user is None:
            return UserFacts(upn=entity.key)
        memberships = [g for g in self.graph["groups"] if user["id"] in g["members"]]
        groups = [g["displayName"] for g in memberships]
        risky = next((r for r in self.graph["riskyUsers"] if r["id"] == user["id"]), {})
        sign_ins = sorted((s for s in self.graph["signIns"] if s["userId"] == user["id"]),
                          key=lambda s: s["createdDateTime"], reverse=True)
        manager = next((u for u in self.graph["users"] if u["id"] == user.get("managerId")), None)
        vips = {r["UserPrincipalName"].lower() for r in self.watchlists["VIPUsers"]}
        return UserFacts(
            upn=entity.key, id=user["id"], found=True, user=user, groups=groups,
            manager=manager, sign_ins=sign_ins, risk_level=risky.get("riskLevel", "none"),
            risk_state=risky.get("riskState", "none"), is_vip=entity.key in vips,
            is_admin=any(g["displayName"].lower() in ADMIN_GROUPS or g.get("isAssignableToRole")
                         for g in memberships),
            app_consents=[g for g in self.graph["oauth2PermissionGrants"]
                          if g.get("principalId") == user["id"]],
        )

    def device(self, entity: Entity) -> DeviceFacts:
        device_id = (entity.properties.get("additionalData") or {}).get("MdatpDeviceId")
        machine = next((m for m in self.machines
                        if m["id"] == device_id or m["computerDnsName"] == entity.key), None)
        if machine is None:
            return DeviceFacts(name=entity.key)
        critical = {r["Asset"].lower() for r in self.watchlists["CriticalAssets"]}
        return DeviceFacts(
            name=entity.key, id=machine["id"], found=True, machine=machine,
            machine_tags=machine["machineTags"],
            is_critical="Tier0" in machine["machineTags"]
            or entity.key.split(".")[0] in critical,
        )

    def ip(self, address: str) -> IpFacts:
        parsed = ipaddress.ip_address(address)
        reputation = next((h for h in self.graph["hostReputations"] if h["host"] == address), {})
        lists = [name for name, rows in self.watchlists.items()
                 if any(self._row_matches(row, address, parsed) for row in rows)]
        return IpFacts(
            address=address, internal=any(parsed in net for net in PRIVATE),
            reputation=reputation.get("classification", "unknown"),
            score=reputation.get("score", 0),
            rules=[rule["name"] for rule in reputation.get("rules", [])],
            watchlists=lists, is_critical="CriticalAssets" in lists,
        )

    def host(self, host: str) -> HostReputation:
        reputation = next((h for h in self.graph["hostReputations"] if h["host"] == host), {})
        return HostReputation(
            host=host, reputation=reputation.get("classification", "unknown"),
            score=reputation.get("score", 0),
            rules=[rule["name"] for rule in reputation.get("rules", [])],
        )

    def mail(self, entity: Entity) -> MailFacts:
        recipient = entity.properties.get("recipient", "").lower()
        message = next((m for m in self.graph["analyzedEmails"]
                        if m["networkMessageId"] == entity.key
                        and m["recipientEmailAddress"].lower() == recipient), None)
        return MailFacts(network_message_id=entity.key, recipient=recipient,
                         found=message is not None, message=message or {})

    def app(self, app_id: str) -> AppFacts:
        principal = next((sp for sp in self.graph["servicePrincipals"]
                          if sp["appId"] == app_id), None)
        if principal is None:
            return AppFacts(app_id=app_id)
        grants = [g for g in self.graph["oauth2PermissionGrants"]
                  if g["clientId"] == principal["id"]]
        return AppFacts(app_id=app_id, found=True, service_principal=principal, grants=grants)

    @staticmethod
    def _row_matches(row: dict[str, Any], address: str, parsed: Any) -> bool:
        for value in row.values():
            try:
                if parsed in ipaddress.ip_network(str(value), strict=False):
                    return True
            except ValueError:
                continue
        return False



@pytest.fixture(scope="session")
def tenant() -> dict[str, Any]:
    return json.loads(TENANT.read_text())


@pytest.fixture(scope="session")
def expected() -> dict[str, Any]:
    return yaml.safe_load((SCENARIOS / "expected.yaml").read_text())


@pytest.fixture(scope="session")
def enricher(tenant: dict[str, Any]) -> FabrikamEnricher:
    return FabrikamEnricher(tenant)


@pytest.fixture(scope="session")
def scenario():
    def load(name: str) -> Incident:
        return parse_sentinel(json.loads((SCENARIOS / f"{name}.json").read_text()))
    return load


@pytest.fixture(scope="session")
def scenario_names() -> list[str]:
    return sorted(path.stem for path in SCENARIOS.glob("*.json"))


VERDICT_STATUS = {"auto": "succeeded", "approval": "pending_approval", "denied": "denied",
                  "escalated": "escalated", "observed": "observed"}
VERDICT_REASONS = {
    "auto": "allowed: no requires_approval rule matched and confidence is above min_confidence",
    "approval": "requires_approval rule matched",
    "denied": "target is in forbidden_entities",
    "escalated": "confidence below escalate_below",
    "observed": "mode observe",
}


@pytest.fixture
def record_for(scenario, enricher, expected):
    """An incident record as the response engine would keep it: the built-in recommendation,
    runs with the verdicts expected.yaml gives (auto otherwise), and, when `approved_by` is
    given, that person's approval of every run that needed one."""
    async def build(name: str, approved_by: str | None = None) -> IncidentRecord:
        incident = scenario(name)
        enrichment = enricher.enrich(incident)
        recommendation = await BuiltinReasoner().recommend(incident, enrichment)
        wanted = {(i["action"], i.get("target")): i.get("verdict", "auto")
                  for i in expected[name].get("propose", [])}
        decided_at = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
        runs, approvals = [], []
        for index, action in enumerate(recommendation.actions):
            verdict = wanted.get((action.action, action.target),
                                 wanted.get((action.action, None), "auto"))
            status = RunStatus(VERDICT_STATUS[verdict])
            run_id = f"run-{index + 1}"
            if verdict == "approval" and approved_by:
                status = RunStatus.SUCCEEDED
                approvals.append(Approval(
                    id=f"approval-{index + 1}", run_id=run_id, incident_id=incident.id,
                    action_hash=action.canonical_hash(), approvers_required=1,
                    status="granted", expires_at=decided_at,
                    decisions=[ApprovalDecision(approver_id="00000000-0000-0000-0000-0000000000021",
                                                approver_name=approved_by, decision="approve",
                                                at=decided_at)]))
            elif verdict == "approval":
                approvals.append(Approval(
                    id=f"approval-{index + 1}", run_id=run_id, incident_id=incident.id,
                    action_hash=action.canonical_hash(), approvers_required=1,
                    status="pending", expires_at=decided_at))
            runs.append(ActionRun(
                id=run_id, incident_id=incident.id, proposed=action,
                verdict=Verdict(verdict=verdict, reasons=[VERDICT_REASONS[verdict]],
                                approvers_required=1 if verdict == "approval" else 0),
                status=status, idempotency_key=f"{incident.id}:{index}"))
        outcome = ("awaiting_approval" if any(r.status == RunStatus.PENDING_APPROVAL for r in runs)
                   else "contained" if runs else "no_action")
        return IncidentRecord(incident=incident, enrichment=enrichment,
                              recommendation=recommendation, runs=runs, approvals=approvals,
                              outcome=outcome, risk_score=recommendation.risk_score)

    return build
