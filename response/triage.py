"""Triage: one incident from intake to decided verdicts, persisted and audited.

The pipeline: claim the incident (a redelivery of the same id and revision is answered with the
stored record, and nothing is done twice), enrich its entities, ask the reasoner, ask the policy
about each proposed action, then persist the runs, approvals and the record in one go and hand
the `auto` runs to the executor in the background. The answer is returned once the verdicts
are decided; automatic actions may still be executing then.

Runs are keyed by an idempotency key over (incident, action, target, parameters): a later
revision of the same incident that proposes the same action reuses the existing run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from core.models import (
    ActionRun,
    Approval,
    Enrichment,
    Incident,
    IncidentRecord,
    ProposedAction,
    Recommendation,
    RunStatus,
    Verdict,
)
from policy import Usage
from response.decisions import known_targets
from response.verdict_recheck import STATUS_FOR_VERDICT, approval_for

log = structlog.get_logger(__name__)

def idempotency_key(incident_id: str, proposed: ProposedAction) -> str:
    body = json.dumps([incident_id, proposed.action, proposed.target.lower(),
                       proposed.parameters], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def outcome_of(recommendation: Recommendation, runs: list[ActionRun]) -> str:
    """The incident's outcome, from the verdicts and where the runs stand."""
    if recommendation.error or any(r.verdict.escalate_incident or r.verdict.verdict == "escalated"
                                   for r in runs):
        return "escalated"
    if any(r.status == RunStatus.PENDING_APPROVAL for r in runs):
        return "awaiting_approval"
    if any(r.verdict.verdict == "auto" or r.status in (RunStatus.SUCCEEDED, RunStatus.EXECUTING)
           for r in runs):
        return "contained"
    if any(r.verdict.verdict == "observed" for r in runs):
        return "observed"
    return "no_action"


def risk_of(recommendation: Recommendation) -> int:
    return recommendation.risk_score


class Triage:
    def __init__(self, *, store, enricher, reasoner, decider, executor, settings) -> None:
        self._store = store
        self._enricher = enricher
        self._reasoner = reasoner
        self._decider = decider
        self._executor = executor
        self._settings = settings
        self.listeners: list = []

    async def run(self, incident: Incident, payload_digest: str) -> tuple[IncidentRecord, bool]:
        """Triage an incident; returns (record, duplicate)."""
        claimed = await self._store.incidents.claim(incident, payload_digest)
        if not claimed:
            record = await self._wait_for_record(incident.id)
            if record is not None:
                log.info("incident duplicate", incident_id=incident.id, number=incident.number)
                return record, True
            log.warning("incident claim stale, triaging again", incident_id=incident.id)

        received = datetime.now(UTC)
        audit: list[tuple[str, str, str | None, dict]] = [
            ("incident received", "sentinel", incident.id, {
                "number": incident.number, "title": incident.title,
                "severity": incident.severity, "revision": incident.revision,
                "payload_sha256": payload_digest,
                "entities": [{"kind": e.raw_kind, "key": e.key} for e in incident.entities[:200]],
            })]

        # The breaker counts and what an earlier revision left do not depend on the entities:
        # read them while the lookups are out.
        enrichment, state = await asyncio.gather(
            self._enricher.enrich(incident), self._state_before(incident))
        audit.append(("incident enriched", "cordon", incident.id, {
            "users": sorted(enrichment.users), "devices": sorted(enrichment.devices),
            "ips": sorted(enrichment.ips), "hosts": sorted(enrichment.hosts),
            "failures": [f.model_dump() for f in enrichment.failures],
        }))
        recommendation = await self._recommend(incident, enrichment, audit)
        record, new_runs = await self._decide(incident, enrichment, recommendation, received,
                                              audit, state)
        self._execute_auto(new_runs, record)
        for listener in self.listeners:
            try:
                await listener(record)
            except Exception:
                log.exception("triage listener failed", incident_id=incident.id)
        return record, False

    async def _wait_for_record(self, incident_id: str) -> IncidentRecord | None:
        """Another delivery (maybe on another replica) is triaging: wait for its record."""
        for _ in range(100):
            record = await self._store.incidents.get_record(incident_id)
            if record is not None:
                return record
            await asyncio.sleep(0.1)
        return None

    async def _recommend(self, incident: Incident, enrichment: Enrichment,
                         audit: list) -> Recommendation:
        try:
            recommendation = await self._reasoner.recommend(incident, enrichment)
        except Exception as exc:  # a reasoner that breaks escalates; it never acts
            log.exception("reasoner failed", incident_id=incident.id)
            recommendation = Recommendation(
                confidence=0.0, risk_score=0, reasoner=getattr(self._reasoner, "name", "?"),
                rationale="The reasoner failed; the incident is escalated to a human.",
                error=f"{type(exc).__name__}: {exc}")
        exchange = getattr(self._reasoner, "last_exchange", None)
        audit.append(("recommendation", recommendation.reasoner, incident.id, {
            "recommendation": recommendation.model_dump(mode="json"),
            "model_exchange": exchange if isinstance(exchange, dict) else None,
        }))
        return recommendation

    async def _state_before(self, incident: Incident) -> _StateBefore:
        usage, runs, approvals = await asyncio.gather(
            self._decider.usage(), self._store.runs.for_incident(incident.id),
            self._store.approvals.for_incident(incident.id))
        return _StateBefore(usage, {r.idempotency_key: r for r in runs}, approvals)

    async def _decide(self, incident: Incident, enrichment: Enrichment,
                      recommendation: Recommendation, received: datetime,
                      audit: list, state: _StateBefore) -> tuple[IncidentRecord, list[ActionRun]]:
        policy = self._decider.policy
        usage, existing = state.usage, state.runs
        targets = known_targets(incident, enrichment)

        runs: list[ActionRun] = []
        new_runs: list[ActionRun] = []
        approvals: list[Approval] = []
        now = datetime.now(UTC)
        for proposed in _unique(recommendation.actions):
            key = idempotency_key(incident.id, proposed)
            if key in existing:
                runs.append(existing[key])
                continue
            verdict = self._decider.decide(incident, enrichment, recommendation, proposed,
                                           usage, targets)
            run = ActionRun(
                id=str(uuid.uuid4()), incident_id=incident.id, proposed=proposed,
                verdict=verdict, status=STATUS_FOR_VERDICT[verdict.verdict],
                idempotency_key=key, updated_at=now,
            )
            runs.append(run)
            new_runs.append(run)
            audit.append(_verdict_entry(incident, run))
            if verdict.verdict == "approval":
                approvals.append(approval_for(run, verdict, now, policy))

        record = IncidentRecord(
            incident=incident, enrichment=enrichment, recommendation=recommendation,
            runs=runs, approvals=approvals + state.approvals,
            outcome=outcome_of(recommendation, runs), risk_score=risk_of(recommendation),
            mode=policy.mode, dry_run=policy.dry_run, received_at=received,
        )
        audit.append(("incident triaged", "cordon", incident.id, {
            "outcome": record.outcome, "risk_score": record.risk_score,
            "runs": [{"id": r.id, "action": r.proposed.action, "target": r.proposed.target,
                      "verdict": r.verdict.verdict} for r in runs],
        }))

        # Everything the triage decided is written at once: runs, approvals, the record and
        # its audit events stand or fall together.
        async with self._store.db.transaction() as session:
            await self._store.runs.add_many(new_runs, session=session)
            for approval in approvals:
                await self._store.approvals.add(approval, session=session)
            await self._store.incidents.save_record(record, session=session)
            await self._store.audit.append_many(audit, session=session)
        log.info("incident triaged", incident_id=incident.id, number=incident.number,
                 outcome=record.outcome, actions=len(runs))
        return record, new_runs

    def _execute_auto(self, runs: list[ActionRun], record: IncidentRecord) -> None:
        dry_run = self._decider.policy.dry_run
        for run in runs:
            if run.status == RunStatus.PENDING:
                self._executor.spawn(self._executor.execute(
                    run.id, from_statuses={RunStatus.PENDING}, actor="cordon (auto)",
                    dry_run=dry_run, record=record))


@dataclass
class _StateBefore:
    """What the store said before this triage decided anything."""

    usage: Usage
    runs: dict[str, ActionRun]
    approvals: list[Approval]


def _verdict_entry(incident: Incident, run: ActionRun) -> tuple[str, str, str | None, dict]:
    verdict: Verdict = run.verdict
    return ("verdict", "policy", incident.id, {
        "run_id": run.id, "action": run.proposed.action, "target": run.proposed.target,
        "verdict": verdict.verdict, "reasons": verdict.reasons, "rules": verdict.rules,
        "approvers_required": verdict.approvers_required,
        "action_hash": run.proposed.canonical_hash(),
    })


def _unique(actions: list[ProposedAction]) -> list[ProposedAction]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for action in actions:
        ident = (action.action, action.target.lower())
        if ident in seen:
            continue
        seen.add(ident)
        kept.append(action)
    return kept
