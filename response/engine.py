"""The response engine: the one door through which incidents are triaged and actions approved,
executed and undone.

HTTP intake, the command line and the Teams bot all call this class; none of them writes a run,
an approval or an audit record itself. It composes the parts (triage, decisions, execution,
approvals, rollback, recovery) and tells listeners when an incident's record changed, so the
bot can update its card for everyone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog

from core.errors import CordonError, Forbidden, InvalidJson, NotFound
from core.models import Accepted, ActionRun, Incident, IncidentRecord, TriageResult
from policy import summary
from response.approvals import ApprovalOutcome, Approvals
from response.authorization import RunAuthorizer
from response.decisions import Decider
from response.execution import Executor
from response.intake import parse_incident, payload_hash
from response.recovery import Recovery
from response.rollback import Rollback
from response.triage import Triage, outcome_of
from response.verdict_recheck import VerdictRecheck
from skills.explain import answer_question

log = structlog.get_logger(__name__)

RecordListener = Callable[[IncidentRecord], Awaitable[None]]
ANSWER_WITHIN_S = 3.0


class ResponseEngine:
    def __init__(self, *, settings, store, skills, reasoner, policy, directory,
                 authorizer: RunAuthorizer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.skills = skills
        self.reasoner = reasoner
        self.directory = directory
        self._policy = policy
        self.authorizer = authorizer or RunAuthorizer(store.runs)
        self._record_listeners: list[RecordListener] = []
        self._triaged_listeners: list[RecordListener] = []

        self.decider = Decider(store=store, policy_source=self._policy_now)
        self.recheck = VerdictRecheck(store=store, decider=self.decider)
        self.executor = Executor(store=store, skills=skills, authorizer=self.authorizer,
                                 recheck=self.recheck, max_attempts=settings.action_max_attempts)
        self.executor.on_run_finished(self._run_changed)
        self.triage = Triage(store=store, enricher=skills.enricher, reasoner=reasoner,
                             decider=self.decider, executor=self.executor, settings=settings)
        self.triage.listeners.append(self._triaged)
        self.triage.refill = self.resume_untriaged
        self.approvals = Approvals(store=store, directory=directory, recheck=self.recheck,
                                   executor=self.executor, policy_source=self._policy_now)
        self.rollback = Rollback(store=store, directory=directory, executor=self.executor,
                                 policy_source=self._policy_now, decider=self.decider)
        self.recovery = Recovery(store=store, executor=self.executor, approvals=self.approvals,
                                 skills=skills, policy_source=self._policy_now,
                                 lease=timedelta(seconds=settings.execution_lease_s),
                                 on_change=self._run_changed,
                                 resume_untriaged=self.resume_untriaged)

    # -- policy ---------------------------------------------------------------------------

    def _policy_now(self):
        return self._policy

    @property
    def policy(self):
        return self._policy

    def policy_summary(self) -> list[str]:
        """A few lines saying what the loaded policy allows, for people asking in chat."""
        return summary(self._policy)

    # -- listeners --------------------------------------------------------------------------

    def on_triaged(self, listener: RecordListener) -> None:
        """Called with each newly triaged incident's record (not for duplicates)."""
        self._triaged_listeners.append(listener)

    def on_record_changed(self, listener: RecordListener) -> None:
        """Called with an incident's current record whenever one of its runs settles."""
        self._record_listeners.append(listener)

    async def _triaged(self, record: IncidentRecord) -> None:
        for listener in self._triaged_listeners:
            try:
                await listener(record)
            except Exception:
                log.exception("triaged listener failed", incident_id=record.incident.id)

    async def _run_changed(self, run: ActionRun) -> None:
        record = await self.record(run.incident_id)
        if record is None:
            return
        for listener in self._record_listeners:
            try:
                await listener(record)
            except Exception:
                log.exception("record listener failed", incident_id=run.incident_id)

    # -- intake ---------------------------------------------------------------------------

    async def intake(self, body: bytes) -> TriageResult | Accepted:
        """Triage a raw request body and answer once the verdicts are decided; raises
        InvalidJson or InvalidIncident when malformed. A redelivery whose first delivery is
        still being triaged elsewhere is answered with `Accepted`."""
        incident, text = _incident_of(body)
        record, duplicate = await self.triage.run(incident, payload_hash(body), text)
        if record is None:
            return _accepted(incident, duplicate)
        if duplicate:
            record = await self.record(incident.id) or record
        return self.result(record, duplicate=duplicate)

    async def accept(self, body: bytes) -> TriageResult | Accepted:
        """Store a raw request body and triage it in the background: `Accepted` at once, or
        the triage result for a redelivery of an incident already triaged."""
        incident, text = _incident_of(body)
        record, duplicate = await self.triage.accept(incident, payload_hash(body), text)
        if record is None:
            return _accepted(incident, duplicate)
        record = await self.record(incident.id) or record
        return self.result(record, duplicate=True)

    async def resume_untriaged(self, limit: int = 50) -> int:
        """Triage, in the background, up to `limit` deliveries nobody is triaging: left by a
        stopped process, or waiting in the database through a storm."""
        lease = timedelta(seconds=self.settings.execution_lease_s)
        taken = 0
        for delivery in await self.store.incidents.untriaged(limit):
            if not await self.store.incidents.take_over(delivery.incident_id, delivery.revision,
                                                        lease=lease):
                continue
            try:
                incident, _ = _incident_of(delivery.payload.encode())
            except CordonError as exc:  # accepted by an older Cordon, refused by this one
                log.error("untriaged incident cannot be read", incident_id=delivery.incident_id,
                          error=str(exc))
                continue
            log.info("untriaged incident resumed", incident_id=incident.id,
                     revision=incident.revision)
            self.triage.in_background(incident, delivery.payload_hash)
            taken += 1
        return taken

    async def triage_payload(self, payload: Any) -> TriageResult:
        return await self.intake(json.dumps(payload).encode())

    # -- reading ----------------------------------------------------------------------------

    async def record(self, incident_id: str) -> IncidentRecord | None:
        """The incident's record with its runs and approvals as they stand now."""
        record = await self.store.incidents.get_record(incident_id)
        if record is None:
            return None
        runs = await self.store.runs.for_incident(incident_id)
        order = {r.id: i for i, r in enumerate(record.runs)}
        runs.sort(key=lambda r: order.get(r.id, len(order)))
        approvals = await self.store.approvals.for_incident(incident_id)
        return record.model_copy(update={
            "runs": runs, "approvals": approvals,
            "outcome": outcome_of(record.recommendation, [r for r in runs if not r.inverse_of]),
        })

    async def find(self, reference: str) -> IncidentRecord | None:
        """An incident by id, by number (`4521` or `#4521`) or by an entity it names."""
        ref = reference.strip().lstrip("#")
        if ref.isdigit():
            record = await self.store.incidents.get_by_number(int(ref))
            return await self.record(record.incident.id) if record else None
        record = await self.record(ref)
        if record is not None:
            return record
        matches = await self.store.incidents.find_by_entity(ref.lower())
        return await self.record(matches[0].incident.id) if matches else None

    async def get(self, incident_id: str, revision: str | None = None) -> TriageResult | Accepted:
        """The incident's current result. `Accepted` while `revision` is still being triaged,
        or, without a revision, while the incident's first delivery is."""
        delivery = await self.store.incidents.delivery(incident_id, revision)
        if delivery is None and revision is not None:
            raise NotFound(f"no revision {revision!r} of incident {incident_id!r} has been "
                           "received")
        record = await self.record(incident_id)
        if delivery is not None and not delivery.triaged and (revision or record is None):
            number = record.incident.number if record else None
            return Accepted(incident_id=incident_id, incident_number=number,
                            revision=delivery.revision)
        if record is None:
            raise NotFound(f"no incident {incident_id!r} has been received")
        return self.result(record)

    @staticmethod
    def result(record: IncidentRecord, *, duplicate: bool = False) -> TriageResult:
        rec = record.recommendation
        return TriageResult(
            incident_id=record.incident.id, incident_number=record.incident.number,
            duplicate=duplicate, risk_score=record.risk_score, outcome=record.outcome,
            recommendation={"confidence": rec.confidence, "rationale": rec.rationale,
                            "reasoner": rec.reasoner, "error": rec.error,
                            "evidence": [e.model_dump() for e in rec.evidence]},
            actions=[{
                "id": r.id, "action": r.proposed.action, "target": r.proposed.target,
                "verdict": r.verdict.verdict, "reasons": r.verdict.reasons,
                "approvers_required": r.verdict.approvers_required, "status": r.status.value,
                "error": r.error, "inverse_of": r.inverse_of,
            } for r in record.runs],
        )

    # -- humans ---------------------------------------------------------------------------

    async def answer(self, question: str, record: IncidentRecord, *,
                     within: float = ANSWER_WITHIN_S):
        """The reasoner's answer to a question about an incident, never an action. A model that
        has not answered `within` seconds is replaced by the built-in explanation of the
        record, so a click or a chat message is never left hanging past Teams' patience."""
        try:
            return await asyncio.wait_for(self.reasoner.answer(question, record), within)
        except TimeoutError:
            log.warning("answer timed out", incident_id=record.incident.id, within_s=within)
            fallback = answer_question(question, record)
            return fallback.model_copy(update={
                "error": f"the model did not answer within {within:g} s"})

    async def decide(self, approval_id: str, action_hash: str, clicker_id: str,
                     decision: str) -> ApprovalOutcome:
        outcome = await self.approvals.decide(approval_id, action_hash, clicker_id, decision)
        await self._run_changed(outcome.run)
        return outcome

    async def undo(self, run_id: str, clicker_id: str) -> tuple[ActionRun, str]:
        return await self.rollback.undo(run_id, clicker_id)

    async def pending(self, limit: int = 20):
        return await self.store.approvals.pending(limit=limit)

    async def set_paused(self, paused: bool, clicker_id: str) -> str:
        person = await self.directory.person(clicker_id) if clicker_id else None
        admins = set(self._policy.approvals.admin_groups)
        if person is None or not admins.intersection(person.groups):
            who = person.display_name if person else "You"
            raise Forbidden(f"{who} cannot {'pause' if paused else 'resume'} automation: only "
                            f"members of {', '.join(sorted(admins)) or 'the admin groups'} can")
        if paused:
            await self.store.state.pause(person.display_name, "paused from Teams")
        else:
            await self.store.state.resume(person.display_name)
        await self.store.audit.append("automation paused" if paused else "automation resumed",
                                      person.display_name, None, {"actor_id": person.id})
        log.info("automation paused" if paused else "automation resumed",
                 actor=person.display_name)
        return (f"Automation paused by {person.display_name}: every action now needs approval."
                if paused else f"Automation resumed by {person.display_name}.")

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self.recovery.sweep()
        self.recovery.start(interval=self.settings.recovery_interval_s)

    async def stop(self) -> None:
        await self.recovery.stop()
        await self.triage.drain(timeout=10)
        await self.executor.drain(timeout=10)


def _incident_of(body: bytes) -> tuple[Incident, str]:
    """The incident in a raw body, and the body as text to keep; raises InvalidJson or
    InvalidIncident when malformed."""
    try:
        text = body.decode(json.detect_encoding(body))
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidJson("the body is not valid JSON Cordon can read: it is nested too "
                          "deeply") from exc
    return parse_incident(payload), text


def _accepted(incident: Incident, duplicate: bool) -> Accepted:
    return Accepted(incident_id=incident.id, incident_number=incident.number,
                    revision=incident.revision, duplicate=duplicate)
