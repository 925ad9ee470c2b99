"""Rollback: undoing an executed action through its inverse, by the same path as any action.

An undo is allowed only for a run that succeeded, whose action the catalog marks reversible,
inside the policy's `undo_window`, asked for by a member of the approver groups. The inverse
becomes a run of its own (`inverse_of` names the original), is judged by the policy like any
action: refused unless the verdict is `auto` or `approval`, and when a rule asks N people for
the inverse, it waits for an approval on which the requester counts as the first. It executes
exactly once through its plugin with the parameters the forward action recorded, and is
audited. When it succeeds the original run moves to `rolled_back`. Nobody undoes an action
aimed at their own account, nor an undo.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import structlog

from core.errors import ApprovalRefused, Conflict
from core.models import ActionRun, ApprovalDecision, ProposedAction, RunStatus, Verdict
from policy import resolve_action
from response.decisions import known_targets
from response.verdict_recheck import approval_for

log = structlog.get_logger(__name__)


class Rollback:
    def __init__(self, *, store, directory, executor, policy_source, decider) -> None:
        self._decider = decider
        self._store = store
        self._directory = directory
        self._executor = executor
        self._policy_source = policy_source

    async def undo(self, run_id: str, clicker_id: str) -> tuple[ActionRun, str]:
        """Start the inverse of a run; returns (the inverse run, a message for the clicker)."""
        run = await self._store.runs.get(run_id) if run_id else None
        if run is None:
            raise ApprovalRefused(f"there is no action {run_id!r} to undo")
        if run.inverse_of:
            raise ApprovalRefused("this is itself an undo; Cordon does not undo an undo, redo "
                                  "the action by hand if it is needed again")
        spec = resolve_action(run.proposed.action)
        if spec is None or not spec.reversible or not spec.inverse:
            raise ApprovalRefused(f"{run.proposed.action} cannot be undone by Cordon")
        if run.status != RunStatus.SUCCEEDED:
            raise ApprovalRefused(
                f"only an executed action can be undone; this one is {run.status.value}")
        policy = self._policy_source()
        executed_at = run.executed_at or run.updated_at or datetime.now(UTC)
        if datetime.now(UTC) - executed_at > policy.approvals.undo_window:
            raise ApprovalRefused(
                f"the undo window ({policy.approvals.undo_window}) has passed; undo it by hand")

        person = await self._directory.person(clicker_id) if clicker_id else None
        groups = set(policy.approvals.approver_groups)
        if person is None or not groups.intersection(person.groups):
            raise ApprovalRefused("only members of an approver group may undo an action "
                                  f"({', '.join(sorted(groups))})")
        if run.proposed.target.lower() in {person.id.lower(), person.upn} - {""}:
            raise ApprovalRefused(
                f"{person.display_name} cannot undo an action aimed at their own account; "
                "another approver must")

        parameters = dict((run.result or {}).get("inverse_parameters") or {})
        inverse = ProposedAction(
            action=spec.inverse, target=run.proposed.target, parameters=parameters,
            count=run.proposed.count,
            rationale=f"undo of {run.proposed.action} requested by {person.display_name}",
        )
        verdict = await self._judge(run, inverse)
        if verdict.verdict not in ("auto", "approval"):
            raise ApprovalRefused(f"the policy does not allow {inverse.action}: "
                                  f"{'; '.join(verdict.reasons)}")
        more_people = verdict.verdict == "approval" and verdict.approvers_required > 1

        key = hashlib.sha256(f"undo:{run.id}".encode()).hexdigest()
        existing = await self._store.runs.by_idempotency_key(key)
        if existing is not None:
            return existing, f"undo already {existing.status.value}"

        now = datetime.now(UTC)
        undo_run = ActionRun(
            id=str(uuid.uuid4()), incident_id=run.incident_id, proposed=inverse,
            verdict=verdict if more_people else Verdict(verdict="auto", reasons=[
                f"undo requested by {person.display_name} within the undo window"],
                rules=["approvals.undo_window"]),
            status=RunStatus.PENDING_APPROVAL if more_people else RunStatus.PENDING,
            idempotency_key=key, inverse_of=run.id, updated_at=now,
        )
        approval = approval_for(undo_run, verdict, now, policy) if more_people else None
        try:
            async with self._store.db.transaction() as session:
                await self._store.runs.add_many([undo_run], session=session)
                if approval is not None:
                    await self._store.approvals.add(approval.model_copy(update={
                        "decisions": [ApprovalDecision(
                            approver_id=person.id, approver_name=person.display_name,
                            decision="approve", at=now)]}), session=session)
                await self._store.audit.append("undo requested", person.display_name,
                                               run.incident_id, {
                    "run_id": run.id, "undo_run_id": undo_run.id, "action": inverse.action,
                    "target": inverse.target,
                    "approvers_required": approval.approvers_required if approval else 1,
                }, session=session)
        except Conflict:
            existing = await self._store.runs.by_idempotency_key(key)
            if existing is not None:
                return existing, f"undo already {existing.status.value}"
            raise

        if approval is not None:
            return undo_run, (f"undo requested by {person.display_name}; the policy asks "
                              f"{approval.approvers_required} approvers for {inverse.action}, "
                              f"1 of {approval.approvers_required} so far")
        self._executor.spawn(self._execute(undo_run, person.display_name, policy.dry_run))
        return undo_run, f"undo requested by {person.display_name}, executing {inverse.action}"

    async def _judge(self, run: ActionRun, inverse: ProposedAction) -> Verdict:
        """The policy judges the inverse like any action; the click is the first approval."""
        record = await self._store.incidents.get_record(run.incident_id)
        if record is None:
            return Verdict(verdict="denied", rules=["recheck"],
                           reasons=["the incident's record is missing"])
        return self._decider.decide(
            record.incident, record.enrichment, record.recommendation, inverse,
            await self._decider.usage(), known_targets(record.incident, record.enrichment))

    async def _execute(self, undo_run: ActionRun, actor: str, dry_run: bool) -> None:
        """Run the inverse; the executor rolls the original back when it succeeds."""
        await self._executor.execute(undo_run.id, from_statuses={RunStatus.PENDING},
                                     actor=actor, dry_run=dry_run)
