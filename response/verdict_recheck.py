"""The policy asked again just before an action runs, because things change after triage.

A verdict is decided at triage with the breaker counts of that moment. By the time the action
runs, other incidents may have used up a limit, an admin may have paused automation, or the
policy may be in observe mode after a restart. `VerdictRecheck.now(run)` judges the run's action
again with the current counts; with the incident's record gone it fails closed (`denied`).

`hand_over(run, verdict)` moves an automatic run that is no longer `auto` to where its new
verdict puts it, in one transaction with its audit event: `approval` asks people (an approval
row is written, as at triage), `denied`, `escalated` and `observed` stop it. Only the caller that
moves the run from `pending` does this; any other finds it moved and does nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog

from core.models import ActionRun, Approval, IncidentRecord, RunStatus, Verdict
from response.decisions import known_targets

log = structlog.get_logger(__name__)

STATUS_FOR_VERDICT = {
    "auto": RunStatus.PENDING,
    "approval": RunStatus.PENDING_APPROVAL,
    "denied": RunStatus.DENIED,
    "escalated": RunStatus.ESCALATED,
    "observed": RunStatus.OBSERVED,
}


def approval_for(run: ActionRun, verdict: Verdict, now: datetime, policy) -> Approval:
    """The approval request a run with an `approval` verdict waits on."""
    return Approval(
        id=str(uuid.uuid4()), run_id=run.id, incident_id=run.incident_id,
        action_hash=run.proposed.canonical_hash(),
        approvers_required=max(1, verdict.approvers_required),
        status="pending", expires_at=now + policy.approvals.expires_after,
    )


class VerdictRecheck:
    def __init__(self, *, store, decider) -> None:
        self._store = store
        self._decider = decider

    async def now(self, run: ActionRun, record: IncidentRecord | None = None, *,
                  session=None) -> Verdict:
        """The verdict on the run's action with today's counts; `record` spares a read when
        the caller has the incident's record at hand (triage has just written it). With
        `session`, the counts are read in the caller's transaction."""
        if record is None:
            record = await self._store.incidents.get_record(run.incident_id)
        if record is None:
            return Verdict(verdict="denied", rules=["recheck"], reasons=[
                "the incident's record is missing, so the policy cannot judge the action again"])
        usage = await self._decider.usage(session)
        return self._decider.decide(record.incident, record.enrichment, record.recommendation,
                                    run.proposed, usage,
                                    known_targets(record.incident, record.enrichment))

    async def hand_over(self, run: ActionRun, verdict: Verdict, *,
                        session=None) -> ActionRun | None:
        """Move a `pending` automatic run to its new verdict's status; None if it had moved.
        In `session`'s transaction when given."""
        now = datetime.now(UTC)
        status = STATUS_FOR_VERDICT[verdict.verdict]
        async with self._store.db.writing(session) as session:
            moved = await self._store.runs.transition(
                run.id, {RunStatus.PENDING}, status, session=session, verdict=verdict,
                updated_at=now)
            if moved is None:
                return None
            if verdict.verdict == "approval":
                await self._store.approvals.add(
                    approval_for(moved, verdict, now, self._decider.policy), session=session)
            await self._store.audit.append("verdict changed", "policy", run.incident_id, {
                "run_id": run.id, "action": run.proposed.action, "target": run.proposed.target,
                "was": run.verdict.verdict, "verdict": verdict.verdict,
                "reasons": verdict.reasons, "rules": verdict.rules,
            }, session=session)
        log.info("verdict changed", run_id=run.id, action=run.proposed.action,
                 target=run.proposed.target, verdict=verdict.verdict)
        return moved
