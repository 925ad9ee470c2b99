"""Approvals: a human's click that lets one waiting action run, or stops it.

A decision counts only after every check below passes, in this order; each refusal is an
`ApprovalRefused` that says what was wrong and what would be accepted:

1. the approval exists;
2. the action hash the card carried is the hash of the action the approval is bound to (a card
   holds only the approval id and that hash; everything else is looked up here);
3. the approval is still pending (not granted, rejected or expired);
4. it has not expired; an expired approval is marked so and fails closed;
5. the clicker is a member of one of the policy's `approver_groups`, looked up in Entra ID from
   their object id (never from anything the card or the message says);
6. the clicker is not the person the action is aimed at;
7. the run still holds exactly the action the approval was asked for;
8. the clicker has not decided on this approval before (N approvals need N different people).

A rejection settles the approval at once. On an approving click the policy is asked again: the
number of distinct approvers is the larger of what the approval asked for and what the policy
asks now, and anything but `auto` or `approval` (a target forbidden since, observe mode) stops
the run. An approval with enough approvers is granted by a conditional update (two replicas,
one grant) and the run executes in the background: the caller gets its answer first.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog

from core.errors import ApprovalRefused, Conflict
from core.models import ActionRun, Approval, ApprovalDecision, RunStatus, Verdict

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Person:
    """Someone who clicked, as Entra ID knows them."""

    id: str
    display_name: str
    upn: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class ApprovalOutcome:
    approval: Approval
    run: ActionRun
    message: str
    executing: bool = False


class Approvals:
    def __init__(self, *, store, directory, recheck, executor, policy_source) -> None:
        self._store = store
        self._directory = directory
        self._recheck_verdict = recheck
        self._executor = executor
        self._policy_source = policy_source

    async def decide(self, approval_id: str, action_hash: str, clicker_id: str,
                     decision: Literal["approve", "reject"]) -> ApprovalOutcome:
        approval = await self._existing(approval_id)
        self._hash_matches(approval, action_hash)
        self._still_pending(approval)
        approval = await self._not_expired(approval)
        person = await self._approver(clicker_id)
        run = await self._store.runs.get(approval.run_id)
        self._not_own_account(run, person)
        self._run_is_the_approved_action(run, approval)

        try:
            approval = await self._store.approvals.record_decision(approval.id, ApprovalDecision(
                approver_id=person.id, approver_name=person.display_name, decision=decision,
                at=datetime.now(UTC)))
        except Conflict as exc:
            raise ApprovalRefused(_conflict_message(exc, person), approval_id=approval_id) from exc

        await self._store.audit.append(f"approval {decision}", person.display_name,
                                       approval.incident_id, {
            "approval_id": approval.id, "run_id": run.id, "approver_id": person.id,
            "action": run.proposed.action, "target": run.proposed.target,
        })
        log.info("approval decision", approval_id=approval.id, actor=person.display_name,
                 decision=decision, action=run.proposed.action, target=run.proposed.target)

        if decision == "reject":
            return await self._reject(approval, run, person)

        # The policy as it stands now decides how many people it takes: a rule raised to
        # `approvers: 2` after the card went out still needs two.
        verdict = await self._recheck_verdict.now(run)
        required = approval.approvers_required
        if verdict.verdict == "approval" and verdict.approvers_required > required:
            required = verdict.approvers_required
            await self._store.approvals.raise_required(approval.id, required)
            approval = await self._store.approvals.get(approval.id) or approval
        approvals = [d for d in approval.decisions if d.decision == "approve"]
        if len(approvals) < required:
            names = ", ".join(d.approver_name for d in approvals)
            return ApprovalOutcome(approval, run, (
                f"approved by {names}; {len(approvals)} of {required} "
                "approvals, waiting for another approver"))
        return await self._grant(approval, run, verdict)

    async def _existing(self, approval_id: str) -> Approval:
        approval = await self._store.approvals.get(approval_id) if approval_id else None
        if approval is None:
            raise ApprovalRefused(f"there is no approval {approval_id!r}; the card may be from "
                                  "another Cordon or was tampered with")
        return approval

    @staticmethod
    def _hash_matches(approval: Approval, action_hash: str) -> None:
        if not hmac.compare_digest(str(action_hash or ""), approval.action_hash):
            raise ApprovalRefused(
                "the card's action does not match the action waiting for approval; refusing. "
                "Use the latest card for this incident", approval_id=approval.id)

    @staticmethod
    def _still_pending(approval: Approval) -> None:
        if approval.status == "pending":
            return
        decided = ", ".join(f"{d.decision}d by {d.approver_name}" for d in approval.decisions)
        raise ApprovalRefused(
            f"this approval is already {approval.status}"
            + (f" ({decided})" if decided else "") + "; nothing more to decide",
            approval_id=approval.id, status=approval.status)

    async def _not_expired(self, approval: Approval) -> Approval:
        if datetime.now(UTC) < approval.expires_at:
            return approval
        await self.expire(approval)
        raise ApprovalRefused(
            f"this approval expired at {approval.expires_at:%Y-%m-%d %H:%M} UTC and can no "
            "longer be granted; the action was not executed", approval_id=approval.id)

    async def expire(self, approval: Approval) -> bool:
        """Mark a pending approval expired (and its run); True if this call did it."""
        if not await self._store.approvals.set_status(approval.id, "pending", "expired"):
            return False
        await self._store.runs.transition(approval.run_id, {RunStatus.PENDING_APPROVAL},
                                          RunStatus.EXPIRED, updated_at=datetime.now(UTC))
        await self._store.audit.append("approval expired", "cordon", approval.incident_id, {
            "approval_id": approval.id, "run_id": approval.run_id,
            "expires_at": approval.expires_at.isoformat()})
        return True

    async def _approver(self, clicker_id: str) -> Person:
        person = await self._directory.person(clicker_id) if clicker_id else None
        if person is None:
            raise ApprovalRefused(
                "Cordon could not find you in Entra ID, so it cannot check that you may approve",
                clicker=clicker_id)
        groups = set(self._policy_source().approvals.approver_groups)
        if not groups.intersection(person.groups):
            raise ApprovalRefused(
                f"{person.display_name} is not a member of an approver group "
                f"({', '.join(sorted(groups)) or 'none configured'}); only members may approve "
                "or reject", clicker=clicker_id)
        return person

    @staticmethod
    def _run_is_the_approved_action(run: ActionRun, approval: Approval) -> None:
        if not hmac.compare_digest(run.proposed.canonical_hash(), approval.action_hash):
            raise ApprovalRefused(
                "the action waiting for approval is no longer the one that was asked about; "
                "refusing", approval_id=approval.id)

    @staticmethod
    def _not_own_account(run: ActionRun | None, person: Person) -> None:
        if run is None:
            raise ApprovalRefused("the action behind this approval no longer exists")
        target = run.proposed.target.lower()
        mine = {person.id.lower(), person.upn.lower()} - {""}
        if target in mine:
            raise ApprovalRefused(
                f"{person.display_name} cannot decide on an action aimed at their own account "
                f"({run.proposed.action} on {run.proposed.target}); another approver must")

    async def _reject(self, approval: Approval, run: ActionRun, person: Person) -> ApprovalOutcome:
        if not await self._store.approvals.set_status(approval.id, "pending", "rejected"):
            # Another approver's grant (or the expiry sweep) settled it first.
            current = await self._store.approvals.get(approval.id) or approval
            return ApprovalOutcome(current, run, f"this approval is already {current.status}; "
                                                 "your rejection came too late to count")
        updated = await self._store.runs.transition(
            run.id, {RunStatus.PENDING_APPROVAL}, RunStatus.REJECTED,
            error=f"rejected by {person.display_name}", updated_at=datetime.now(UTC))
        approval = await self._store.approvals.get(approval.id) or approval
        return ApprovalOutcome(approval, updated or run,
                               f"rejected by {person.display_name}; nothing will be done")

    async def _grant(self, approval: Approval, run: ActionRun,
                     verdict: Verdict) -> ApprovalOutcome:
        if not await self._store.approvals.set_status(approval.id, "pending", "granted"):
            current = await self._store.approvals.get(approval.id) or approval
            return ApprovalOutcome(current, run, f"this approval is already {current.status}")
        approval = await self._store.approvals.get(approval.id) or approval
        names = ", ".join(d.approver_name for d in approval.decisions if d.decision == "approve")

        recheck = None if verdict.verdict in ("auto", "approval") else "; ".join(verdict.reasons)
        if recheck is not None:
            await self._store.runs.transition(run.id, {RunStatus.PENDING_APPROVAL},
                                              RunStatus.DENIED, error=recheck,
                                              updated_at=datetime.now(UTC))
            await self._store.audit.append("approval overruled", "policy", run.incident_id, {
                "approval_id": approval.id, "run_id": run.id, "reason": recheck})
            run = await self._store.runs.get(run.id) or run
            return ApprovalOutcome(approval, run,
                                   f"approved by {names}, but not executed: {recheck}")

        policy = self._policy_source()
        self._executor.spawn(self._executor.execute(
            run.id, from_statuses={RunStatus.PENDING_APPROVAL},
            actor=f"approved by {names}", dry_run=policy.dry_run))
        return ApprovalOutcome(approval, run, f"approved by {names}, executing", executing=True)



def _conflict_message(exc: Conflict, person: Person) -> str:
    status = exc.facts.get("status") if exc.facts else None
    if status and status != "pending":
        return f"this approval is already {status}; nothing more to decide"
    return (f"{person.display_name} has already decided on this action; it needs a different "
            "approver")
