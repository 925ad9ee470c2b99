"""The domain models every part of Cordon speaks.

These are plain pydantic models with no behaviour beyond validation and a few derived keys.
They promise a stable shape between parts: intake produces an `Incident`, skills produce an
`Enrichment` and a `Recommendation`, the policy's verdict is carried by `ProposedAction`,
the store keeps `ActionRun`, `Approval` and `AuditEvent`. They never talk to a database, an API
or the policy; that is left to `store`, `skills` and `policy`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EntityKind(StrEnum):
    """Sentinel entity kinds Cordon understands; any other kind is kept as `other`."""

    ACCOUNT = "Account"
    HOST = "Host"
    IP = "Ip"
    URL = "Url"
    FILE_HASH = "FileHash"
    FILE = "File"
    PROCESS = "Process"
    MAILBOX = "Mailbox"
    MAIL_MESSAGE = "MailMessage"
    CLOUD_APPLICATION = "CloudApplication"
    DNS = "DNS"
    OTHER = "Other"


class Entity(BaseModel):
    """One entity of an incident, as Sentinel or Graph described it.

    `key` is the string a target is named by: a user principal name, a device's DNS name, an IP
    address, a URL, a hash, a network message id or an app id. `raw_kind` keeps the kind as it
    arrived, so an unknown kind survives a round trip.
    """

    model_config = ConfigDict(frozen=True)

    kind: EntityKind
    raw_kind: str
    key: str
    name: str = ""
    properties: dict[str, Any] = Field(default_factory=dict)


class Alert(BaseModel):
    id: str
    name: str
    severity: str = "Informational"
    product: str = ""
    tactics: list[str] = Field(default_factory=list)
    start_time: datetime | None = None
    custom_details: dict[str, Any] = Field(default_factory=dict)


class Incident(BaseModel):
    """An incident in Cordon's own words, whatever shape it arrived in.

    `id` is the incident's ARM id for Sentinel payloads (what comments and status updates are
    addressed to) and the Graph incident id for Graph payloads. `revision` is the provider's
    last-modified time: an incident is processed once per (id, revision).
    """

    id: str
    number: int | None = None
    title: str
    description: str = ""
    severity: Literal["Informational", "Low", "Medium", "High"] = "Informational"
    status: str = "New"
    provider: str = ""
    provider_incident_id: str = ""
    url: str = ""
    source: Literal["sentinel", "graph"] = "sentinel"
    created: datetime | None = None
    revision: str = ""
    labels: list[str] = Field(default_factory=list)
    tactics: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    alert_count: int = 0
    alerts: list[Alert] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)

    def entities_of(self, kind: EntityKind) -> list[Entity]:
        return [e for e in self.entities if e.kind == kind]


class Evidence(BaseModel):
    """A fact the reasoner rests a sentence on, with the lookup it came from.

    `id` is short and stable within one recommendation (`E1`, `E2`, ...) so rationales and
    answers can cite it; `source` names the lookup (`graph.riskyUsers`, `defender.machines`,
    `watchlist.VIPUsers`, `incident.alerts`, ...).
    """

    id: str
    source: str
    fact: str
    entity: str = ""


class LookupFailure(BaseModel):
    """An enrichment lookup that did not answer; the rest of the enrichment went on."""

    lookup: str
    entity: str
    error: str


class UserFacts(BaseModel):
    """What enrichment learned about one account. `user` is the Graph user as returned."""

    upn: str
    id: str = ""
    found: bool = False
    conflict: str = ""  # how the incident's ids for the account disagree, if they do
    user: dict[str, Any] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list)
    manager: dict[str, Any] | None = None
    sign_ins: list[dict[str, Any]] = Field(default_factory=list)
    risk_level: str = "none"
    risk_state: str = "none"
    is_vip: bool = False
    is_admin: bool = False
    app_consents: list[dict[str, Any]] = Field(default_factory=list)


class DeviceFacts(BaseModel):
    """What enrichment learned about one machine. `machine` is the Defender machine."""

    name: str
    id: str = ""
    found: bool = False
    conflict: str = ""  # how the incident's ids for the machine disagree, if they do
    machine: dict[str, Any] = Field(default_factory=dict)
    machine_tags: list[str] = Field(default_factory=list)
    is_critical: bool = False


class IpFacts(BaseModel):
    address: str
    internal: bool = False
    reputation: str = "unknown"
    score: int = 0
    rules: list[str] = Field(default_factory=list)
    watchlists: list[str] = Field(default_factory=list)
    is_critical: bool = False


class HostReputation(BaseModel):
    """Threat intelligence for a domain or URL host."""

    host: str
    reputation: str = "unknown"
    score: int = 0
    rules: list[str] = Field(default_factory=list)


class MailFacts(BaseModel):
    network_message_id: str
    recipient: str
    found: bool = False
    message: dict[str, Any] = Field(default_factory=dict)


class AppFacts(BaseModel):
    app_id: str
    found: bool = False
    service_principal: dict[str, Any] = Field(default_factory=dict)
    grants: list[dict[str, Any]] = Field(default_factory=list)


class Enrichment(BaseModel):
    """Everything the skills learned about an incident's entities, keyed by entity key."""

    users: dict[str, UserFacts] = Field(default_factory=dict)
    devices: dict[str, DeviceFacts] = Field(default_factory=dict)
    ips: dict[str, IpFacts] = Field(default_factory=dict)
    hosts: dict[str, HostReputation] = Field(default_factory=dict)
    mails: dict[str, MailFacts] = Field(default_factory=dict)
    apps: dict[str, AppFacts] = Field(default_factory=dict)
    watchlists: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    failures: list[LookupFailure] = Field(default_factory=list)


class ProposedAction(BaseModel):
    """One response action the reasoner proposes, before or after the policy's verdict.

    `action` is a canonical catalog id (`disable_user`, `block_ip`, ...). `target` is the entity
    key it is aimed at. `parameters` are what the action plugin needs beyond the target (a
    device id, message ids, an app's grant ids); `count` is how many objects it touches.
    """

    action: str
    target: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    count: int = 1
    rationale: str = ""
    evidence: list[str] = Field(default_factory=list)

    def canonical_hash(self) -> str:
        """A hash of what the action does, independent of prose: binds approvals to it."""
        body = json.dumps(
            {"action": self.action, "target": self.target, "parameters": self.parameters,
             "count": self.count},
            sort_keys=True, separators=(",", ":"), default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()


class Recommendation(BaseModel):
    """A reasoner's answer. `error` is set, and `actions` empty, when the answer was unusable."""

    actions: list[ProposedAction] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0)
    risk_score: int = Field(ge=0, le=100)
    rationale: str
    evidence: list[Evidence] = Field(default_factory=list)
    reasoner: str = "builtin"
    error: str | None = None


VerdictKind = Literal["auto", "approval", "denied", "escalated", "observed"]


class Verdict(BaseModel):
    """The policy's decision on one proposed action, with the reasons that produced it."""

    verdict: VerdictKind
    reasons: list[str]
    approvers_required: int = 0
    rules: list[str] = Field(default_factory=list)
    escalate_incident: bool = False


class RunStatus(StrEnum):
    PENDING = "pending"
    PENDING_APPROVAL = "pending_approval"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DENIED = "denied"
    ESCALATED = "escalated"
    OBSERVED = "observed"
    DRY_RUN = "dry_run"
    ROLLED_BACK = "rolled_back"


TERMINAL_STATUSES = frozenset({
    RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.REJECTED, RunStatus.EXPIRED,
    RunStatus.DENIED, RunStatus.ESCALATED, RunStatus.OBSERVED, RunStatus.DRY_RUN,
    RunStatus.ROLLED_BACK,
})


class ActionRun(BaseModel):
    """One proposed action of one incident, its verdict and where its execution stands."""

    id: str
    incident_id: str
    proposed: ProposedAction
    verdict: Verdict
    status: RunStatus
    idempotency_key: str
    attempts: int = 0
    request: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    inverse_of: str | None = None
    executed_at: datetime | None = None
    updated_at: datetime | None = None


class ApprovalDecision(BaseModel):
    approver_id: str
    approver_name: str
    decision: Literal["approve", "reject"]
    at: datetime


class Approval(BaseModel):
    """A request for N distinct approvers to let one action run."""

    id: str
    run_id: str
    incident_id: str
    action_hash: str
    approvers_required: int
    status: Literal["pending", "granted", "rejected", "expired"]
    expires_at: datetime
    decisions: list[ApprovalDecision] = Field(default_factory=list)
    card_activity_id: str | None = None
    conversation_id: str | None = None


class AuditEvent(BaseModel):
    """One record of the append-only, hash-chained audit trail."""

    seq: int
    at: datetime
    kind: str
    actor: str
    incident_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str


Outcome = Literal["contained", "awaiting_approval", "escalated", "observed", "no_action"]


class TriageResult(BaseModel):
    """What `POST /api/incidents` answers and `GET /api/incidents/{id}` shows."""

    incident_id: str
    incident_number: int | None
    duplicate: bool = False
    risk_score: int
    outcome: Outcome
    recommendation: dict[str, Any]
    actions: list[dict[str, Any]]


class Accepted(BaseModel):
    """What intake answers for an incident it has taken but not yet triaged (HTTP 202): the
    triage result is then read at `GET /api/incidents/{id}?revision=…`."""

    incident_id: str
    incident_number: int | None
    revision: str
    duplicate: bool = False
    status: Literal["triaging"] = "triaging"


class IncidentRecord(BaseModel):
    """Everything Cordon knows about one incident: what cards, questions and `GET` show.

    `mode` and `dry_run` are the policy's at triage time, so a card can say plainly that
    nothing was (or will be) executed for real.
    """

    incident: Incident
    enrichment: Enrichment
    recommendation: Recommendation
    runs: list[ActionRun]
    approvals: list[Approval] = Field(default_factory=list)
    outcome: Outcome
    risk_score: int
    mode: Literal["observe", "orchestrate", "automate"] = "automate"
    dry_run: bool = False
    received_at: datetime | None = None
