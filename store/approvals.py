"""Approvals and their decisions, kept as rows so pending approvals survive a restart.

An approval is bound to one action run by the run id and the action's canonical hash. Its
decisions are rows keyed by (approval, approver): `record_decision` adds one atomically and
refuses, with `Conflict`, a second decision by the same approver and any decision on an
approval that is no longer pending (the message names its status). It locks the approval row
while it checks (`SELECT … FOR UPDATE` on PostgreSQL; SQLite has one writer), and the primary
key stops a duplicate even if the check were raced.

This module keeps records; it does not decide. Whether a clicker may approve, whether enough
distinct approvers have decided and whether the approval has expired is the response engine's
judgement, which it writes back with `set_status`, a conditional update that only one of two
racing replicas wins.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, NotFound
from core.models import Approval, ApprovalDecision
from store.database import Database
from store.tables import approval_decisions, approvals
from store.timestamps import utc_now


def _approval_of(row: Row[Any], decisions: list[ApprovalDecision]) -> Approval:
    return Approval(
        id=row.id,
        run_id=row.run_id,
        incident_id=row.incident_id,
        action_hash=row.action_hash,
        approvers_required=row.approvers_required,
        status=row.status,
        expires_at=row.expires_at,
        decisions=decisions,
        card_activity_id=row.card_activity_id,
        conversation_id=row.conversation_id,
    )


def _decision_of(row: Row[Any]) -> ApprovalDecision:
    return ApprovalDecision(approver_id=row.approver_id, approver_name=row.approver_name,
                            decision=row.decision, at=row.at)


class ApprovalRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, approval: Approval, *, session: AsyncSession | None = None) -> None:
        """Store a new approval; in `session`'s transaction when given."""
        if session is not None:
            await self._insert(session, approval)
            return
        async with self._db.transaction() as own:
            await self._insert(own, approval)

    async def _insert(self, session: AsyncSession, approval: Approval) -> None:
        await session.execute(approvals.insert().values(
            id=approval.id, run_id=approval.run_id, incident_id=approval.incident_id,
            action_hash=approval.action_hash, approvers_required=approval.approvers_required,
            status=approval.status, expires_at=approval.expires_at, created_at=utc_now(),
            card_activity_id=approval.card_activity_id,
            conversation_id=approval.conversation_id,
        ))
        if approval.decisions:
            await session.execute(approval_decisions.insert(), [
                {"approval_id": approval.id, **d.model_dump()} for d in approval.decisions
            ])

    async def get(self, approval_id: str) -> Approval | None:
        found = await self._select(approvals.c.id == approval_id)
        return found[0] if found else None

    async def pending(self, limit: int = 50) -> list[Approval]:
        """Approvals whose status is still pending, newest first (expired or not by time)."""
        return await self._select(approvals.c.status == "pending", newest_first=True,
                                  limit=limit)

    async def expired(self, now: datetime) -> list[Approval]:
        """Pending approvals whose `expires_at` has passed: for the expiry sweep."""
        return await self._select(approvals.c.status == "pending",
                                  approvals.c.expires_at <= now)

    async def for_incident(self, incident_id: str) -> list[Approval]:
        return await self._select(approvals.c.incident_id == incident_id)

    async def for_incidents(self, incident_ids: Collection[str]) -> list[Approval]:
        if not incident_ids:
            return []
        return await self._select(approvals.c.incident_id.in_(list(incident_ids)))

    async def for_run(self, run_id: str) -> list[Approval]:
        return await self._select(approvals.c.run_id == run_id)

    async def record_decision(self, approval_id: str, decision: ApprovalDecision) -> Approval:
        """Append one approver's decision; Conflict if they decided already or it is closed."""
        try:
            async with self._db.transaction() as session:
                await self._check_open(session, approval_id, decision.approver_id)
                await session.execute(approval_decisions.insert().values(
                    approval_id=approval_id, **decision.model_dump()
                ))
        except IntegrityError as error:
            raise Conflict(f"{decision.approver_name} has already decided on this approval",
                           approval_id=approval_id, approver_id=decision.approver_id) from error

        approval = await self.get(approval_id)
        if approval is None:
            raise NotFound("approval not found", approval_id=approval_id)
        return approval

    async def _check_open(self, session: AsyncSession, approval_id: str,
                          approver_id: str) -> None:
        status = await session.scalar(
            select(approvals.c.status).where(approvals.c.id == approval_id).with_for_update()
        )
        if status is None:
            raise NotFound("approval not found", approval_id=approval_id)
        if status != "pending":
            raise Conflict(f"this approval is already {status}", approval_id=approval_id,
                           status=status)

        earlier = await session.scalar(
            select(approval_decisions.c.decision).where(
                approval_decisions.c.approval_id == approval_id,
                approval_decisions.c.approver_id == approver_id,
            )
        )
        if earlier is not None:
            raise Conflict(f"this approver has already decided ({earlier})",
                           approval_id=approval_id, approver_id=approver_id, decision=earlier)

    async def set_status(self, approval_id: str, from_status: str | Collection[str],
                         to_status: str) -> bool:
        """Move the approval to `to_status` if it is in `from_status`; True if this call did."""
        allowed = [from_status] if isinstance(from_status, str) else list(from_status)
        statement = update(approvals).where(
            approvals.c.id == approval_id, approvals.c.status.in_(allowed)
        ).values(status=to_status)
        async with self._db.transaction() as session:
            result = await session.execute(statement)
        return result.rowcount == 1

    async def raise_required(self, approval_id: str, approvers_required: int) -> None:
        """Ask a pending approval for more distinct approvers (never fewer)."""
        statement = update(approvals).where(
            approvals.c.id == approval_id, approvals.c.status == "pending",
            approvals.c.approvers_required < approvers_required,
        ).values(approvers_required=approvers_required)
        async with self._db.transaction() as session:
            await session.execute(statement)

    async def set_card(self, approval_id: str, conversation_id: str | None,
                       activity_id: str | None) -> None:
        async with self._db.transaction() as session:
            await session.execute(update(approvals).where(approvals.c.id == approval_id).values(
                conversation_id=conversation_id, card_activity_id=activity_id,
            ))

    async def _select(self, *where: Any, newest_first: bool = False,
                      limit: int | None = None) -> list[Approval]:
        order = approvals.c.created_at.desc() if newest_first else approvals.c.created_at
        query = select(approvals).where(*where).order_by(order, approvals.c.id)
        if limit is not None:
            query = query.limit(limit)

        async with self._db.read() as session:
            rows = (await session.execute(query)).all()
            if not rows:
                return []
            decision_rows = (await session.execute(
                select(approval_decisions)
                .where(approval_decisions.c.approval_id.in_([r.id for r in rows]))
                .order_by(approval_decisions.c.at, approval_decisions.c.approver_id)
            )).all()

        decisions: dict[str, list[ApprovalDecision]] = {r.id: [] for r in rows}
        for row in decision_rows:
            decisions[row.approval_id].append(_decision_of(row))
        return [_approval_of(row, decisions[row.id]) for row in rows]
