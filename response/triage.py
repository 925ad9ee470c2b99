"""Triage: one incident from intake to decided verdicts, persisted and audited.

The pipeline: claim the delivery (a redelivery of the same id and revision is answered with the
stored record, and nothing is done twice), complete a Defender XDR incident that came without
its alerts or entities from Microsoft Graph, enrich its entities, ask the reasoner, ask the policy
about each proposed action, then persist the runs, approvals, the record and the delivery's
"triaged" mark in one transaction and hand the `auto` runs to the executor in the background.

`run` answers once the verdicts are decided; automatic actions may still be executing then.
`accept` answers as soon as the delivery is stored and triages it in the background, a few at
a time (`CORDON_TRIAGE_CONCURRENCY`); past a backlog of `CORDON_TRIAGE_BACKLOG` in memory, a
storm's deliveries wait in the database, unleased, and are taken back as the backlog drains.

Either way the delivery's body is stored with the claim: a process that dies before the triage
commits leaves it to a redelivery or to the recovery sweep (`in_background`), and only one
triage of a delivery can ever commit. A background triage that fails is recorded as escalated,
so a human sees it; one the database or network broke is left for the recovery sweep.

Runs are keyed by an idempotency key over (incident, action, target, parameters): a later
revision of the same incident that proposes the same action reuses the existing run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.exc import DBAPIError

from core.errors import InvalidIncident
from core.models import (
    ActionRun,
    Approval,
    Enrichment,
    Incident,
    IncidentRecord,
    LookupFailure,
    ProposedAction,
    Recommendation,
    RunStatus,
    Verdict,
)
from policy import Usage
from response.decisions import known_targets
from response.intake import completed_from_graph, wants_xdr_details
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


WAIT_FOR_OTHER_S = 10.0
# Failures worth trying again later rather than escalating: the database or the network.
TRANSIENT_ERRORS = (DBAPIError, OSError, TimeoutError)


class _AlreadyTriaged(Exception):
    """Another triage of the same delivery committed first; this one's writes are dropped."""


class Triage:
    def __init__(self, *, store, enricher, reasoner, decider, executor, settings) -> None:
        self._store = store
        self._enricher = enricher
        self._reasoner = reasoner
        self._decider = decider
        self._executor = executor
        self._settings = settings
        self._lease = timedelta(seconds=settings.execution_lease_s)
        self._slots = asyncio.Semaphore(settings.triage_concurrency)
        self._background: set[asyncio.Task] = set()
        self._backlog_limit = settings.triage_backlog
        self._held = 0  # accepted deliveries this process holds: queued or being triaged
        self._overflowed = False
        self._refilling = False
        # Called with the room left when deliveries were left in the database; answers how
        # many it took (the engine's `resume_untriaged`).
        self.refill: Callable[[int], Awaitable[int]] | None = None
        self.listeners: list = []

    async def run(self, incident: Incident, payload_digest: str,
                  payload: str | None = None) -> tuple[IncidentRecord | None, bool]:
        """Triage an incident and answer once its verdicts are decided: (record, duplicate).

        A redelivery is answered with the record of the first delivery once that one is
        triaged. If it is still being triaged elsewhere after WAIT_FOR_OTHER_S, the answer is
        (None, True): the caller reads the result later."""
        if await self._store.incidents.claim(incident, payload_digest, payload=payload,
                                             lease=self._lease):
            return await self._triage_claimed(incident, payload_digest), False
        deadline = time.monotonic() + WAIT_FOR_OTHER_S
        while True:
            record = await self.triaged_record(incident.id, incident.revision)
            if record is not None:
                log.info("incident duplicate", incident_id=incident.id, number=incident.number)
                return record, True
            if await self._store.incidents.take_over(incident.id, incident.revision,
                                                     lease=self._lease):
                log.warning("incident left untriaged by its claimer, triaging it",
                            incident_id=incident.id)
                return await self._triage_claimed(incident, payload_digest), False
            if time.monotonic() > deadline:
                return None, True
            await asyncio.sleep(0.1)

    async def accept(self, incident: Incident, payload_digest: str,
                     payload: str) -> tuple[IncidentRecord | None, bool]:
        """Take an incident and triage it in the background: (record, duplicate). A first
        delivery answers (None, False) as soon as it is stored; a redelivery answers with the
        record when its triage is done, else (None, True)."""
        keep = self._held < self._backlog_limit
        self._held += keep  # its place is taken before the insert, so a burst cannot overfill
        try:
            claimed = await self._store.incidents.claim(
                incident, payload_digest, payload=payload,
                lease=self._lease if keep else timedelta(0))
        except BaseException:
            self._held -= keep
            raise
        if not claimed:
            self._held -= keep
            return await self.triaged_record(incident.id, incident.revision), True
        if keep:
            self.in_background(incident, payload_digest, held=True)
        else:  # left in the database, unleased, for `refill` (or another replica)
            self._overflowed = True
            log.info("incident waits in the database", incident_id=incident.id,
                     backlog=self._held)
        return None, False

    def in_background(self, incident: Incident, payload_digest: str, *,
                      held: bool = False) -> None:
        """Triage a claimed (or taken over) delivery in the background, a few at a time.
        `held`: its place in the backlog was already counted."""
        if not held:
            self._held += 1
        task = asyncio.ensure_future(self._background_triage(incident, payload_digest))
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        self._held -= 1

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` s for background triages; the rest are left to recovery."""
        if not self._background:
            return
        _, pending = await asyncio.wait(set(self._background), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1)

    async def triaged_record(self, incident_id: str, revision: str) -> IncidentRecord | None:
        """The incident's record once that revision's triage is done, else None."""
        delivery = await self._store.incidents.delivery(incident_id, revision)
        if delivery is None or not delivery.triaged:
            return None
        return await self._store.incidents.get_record(incident_id)

    async def _background_triage(self, incident: Incident, payload_digest: str) -> None:
        try:
            await self._slots.acquire()
        except asyncio.CancelledError:  # stopping before its turn came: give it back now
            with contextlib.suppress(Exception):
                await self._store.incidents.release(incident.id, incident.revision)
            raise
        try:
            await self._triage_claimed(incident, payload_digest)
        except TRANSIENT_ERRORS:
            log.exception("triage failed, left for the recovery sweep", incident_id=incident.id)
        except Exception as exc:
            log.exception("triage failed", incident_id=incident.id)
            await self._escalate_failure(incident, payload_digest, exc)
        finally:
            self._slots.release()
            if self._overflowed and not self._refilling \
                    and self._held <= self._backlog_limit // 2:
                self._refilling = True
                asyncio.ensure_future(self._refill())

    async def _refill(self) -> None:
        """Take back from the database what `accept` left there while the backlog was full."""
        room = self._backlog_limit - self._held
        self._overflowed = False  # `accept` sets it again if it leaves more behind meanwhile
        try:
            if self.refill is not None and await self.refill(room) >= room:
                self._overflowed = True  # there may be more
        except Exception:
            self._overflowed = True
            log.exception("triage refill failed")
        finally:
            self._refilling = False

    async def _triage_claimed(self, incident: Incident, payload_digest: str) -> IncidentRecord:
        """The pipeline, for a delivery this process holds. On failure the delivery is given
        back at once, so a redelivery or the recovery sweep can take it."""
        try:
            return await self._pipeline(incident, payload_digest)
        except _AlreadyTriaged:
            log.info("incident triaged elsewhere first", incident_id=incident.id)
            return await self._store.incidents.get_record(incident.id)
        except BaseException:
            with contextlib.suppress(Exception):
                await self._store.incidents.release(incident.id, incident.revision)
            raise

    async def _escalate_failure(self, incident: Incident, payload_digest: str,
                                exc: Exception) -> None:
        """A background triage that broke is recorded as escalated, so it reaches a human and
        the poller gets an answer. If even that cannot be written (the database is down), the
        delivery stays untriaged and the recovery sweep tries again."""
        recommendation = Recommendation(
            confidence=0.0, risk_score=0, reasoner="cordon",
            rationale="Cordon could not triage this incident; it is escalated to a human.",
            error=f"{type(exc).__name__}: {exc}")
        record = IncidentRecord(
            incident=incident, enrichment=Enrichment(), recommendation=recommendation, runs=[],
            outcome="escalated", risk_score=0, mode=self._decider.policy.mode,
            dry_run=self._decider.policy.dry_run, received_at=datetime.now(UTC))
        try:
            async with self._store.db.transaction() as session:
                if not await self._store.incidents.mark_triaged(incident.id, incident.revision,
                                                                session=session):
                    return
                await self._store.incidents.save_record(record, session=session)
                await self._store.audit.append_many([("incident triage failed", "cordon",
                                                      incident.id, {
                    "number": incident.number, "revision": incident.revision,
                    "payload_sha256": payload_digest, "error": recommendation.error})],
                    session=session)
        except Exception:
            log.exception("triage failure could not be recorded", incident_id=incident.id)
            return
        await self._tell_listeners(record)

    async def _pipeline(self, incident: Incident, payload_digest: str) -> IncidentRecord:
        received = datetime.now(UTC)
        audit: list[tuple[str, str, str | None, dict]] = [
            ("incident received", "sentinel", incident.id, {
                "number": incident.number, "title": incident.title,
                "severity": incident.severity, "revision": incident.revision,
                "payload_sha256": payload_digest,
                "entities": [{"kind": e.raw_kind, "key": e.key} for e in incident.entities[:200]],
            })]

        incident, failures = await self._with_xdr_details(incident, audit)

        # The breaker counts and what an earlier revision left do not depend on the entities:
        # read them while the lookups are out.
        enrichment, state = await asyncio.gather(
            self._enricher.enrich(incident), self._state_before(incident))
        enrichment.failures[:0] = failures
        audit.append(("incident enriched", "cordon", incident.id, {
            "users": sorted(enrichment.users), "devices": sorted(enrichment.devices),
            "ips": sorted(enrichment.ips), "hosts": sorted(enrichment.hosts),
            "failures": [f.model_dump() for f in enrichment.failures],
        }))
        recommendation = await self._recommend(incident, enrichment, audit)
        record, new_runs = await self._decide(incident, enrichment, recommendation, received,
                                              audit, state)
        self._execute_auto(new_runs, record)
        await self._tell_listeners(record)
        return record

    async def _with_xdr_details(self, incident: Incident,
                                audit: list) -> tuple[Incident, list[LookupFailure]]:
        """The incident completed from its Defender XDR incident when it arrived without alerts
        or entities (see `response.intake.wants_xdr_details`), and any failure doing so."""
        failures: list[LookupFailure] = []
        if not wants_xdr_details(incident):
            return incident, failures
        xdr_id = incident.provider_incident_id
        payload = await self._enricher.security_incident(xdr_id, failures)
        if payload is None:
            return incident, failures
        try:
            completed = completed_from_graph(incident, payload)
        except InvalidIncident as exc:
            failures.append(LookupFailure(lookup="Incidents.security_incident", entity=xdr_id,
                                          error=f"unexpected answer: {exc}"))
            return incident, failures
        known = {(e.raw_kind, e.key) for e in incident.entities}
        added = [e for e in completed.entities if (e.raw_kind, e.key) not in known]
        audit.append(("incident completed", "graph", incident.id, {
            "xdr_incident": xdr_id, "alerts": len(completed.alerts) - len(incident.alerts),
            "entities": [{"kind": e.raw_kind, "key": e.key} for e in added[:200]],
        }))
        log.info("incident completed from Defender XDR", incident_id=incident.id,
                 xdr_incident=xdr_id, entities=len(added))
        return completed, failures

    async def _tell_listeners(self, record: IncidentRecord) -> None:
        for listener in self.listeners:
            try:
                await listener(record)
            except Exception:
                log.exception("triage listener failed", incident_id=record.incident.id)

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
            if not await self._store.incidents.mark_triaged(incident.id, incident.revision,
                                                            session=session):
                raise _AlreadyTriaged
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
