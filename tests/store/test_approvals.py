"""Approvals: one decision per approver, none after the approval closes, rows that outlive
restarts. Megan Bowen and Alex Wilber approve in the Fabrikam tenant."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Conflict
from core.models import Approval, ApprovalDecision, RunStatus
from store import Store
from tests.store.conftest import proposed_run, scenario_incident

ALEX = "00000000-0000-0000-0000-0000000000020"
MEGAN = "00000000-0000-0000-0000-0000000000021"


def decision(approver_id: str, name: str, verdict: str = "approve") -> ApprovalDecision:
    return ApprovalDecision(approver_id=approver_id, approver_name=name, decision=verdict,
                            at=datetime.now(UTC))


async def finance_approval(store: Store, approvers: int = 2) -> Approval:
    incident = scenario_incident("finance-impossible-travel")
    run = proposed_run(incident, "disable_user", "priya.natarajan@fabrikam.example",
                       status=RunStatus.PENDING_APPROVAL, verdict="approval")
    await store.runs.add_many([run])
    approval = Approval(id=f"appr-{run.id[:8]}", run_id=run.id, incident_id=incident.id,
                        action_hash=run.proposed.canonical_hash(),
                        approvers_required=approvers, status="pending",
                        expires_at=datetime.now(UTC) + timedelta(hours=4))
    await store.approvals.add(approval)
    return approval


async def test_four_eyes_need_two_different_people(store: Store) -> None:
    approval = await finance_approval(store)

    after_alex = await store.approvals.record_decision(approval.id, decision(ALEX, "Alex Wilber"))
    with pytest.raises(Conflict, match="already decided"):
        await store.approvals.record_decision(approval.id, decision(ALEX, "Alex Wilber"))
    after_megan = await store.approvals.record_decision(approval.id,
                                                        decision(MEGAN, "Megan Bowen"))

    assert [d.approver_name for d in after_alex.decisions] == ["Alex Wilber"]
    assert [d.approver_name for d in after_megan.decisions] == ["Alex Wilber", "Megan Bowen"]


async def test_one_approver_double_clicking_on_two_replicas_counts_once(store: Store) -> None:
    approval = await finance_approval(store)

    outcomes = await asyncio.gather(*[
        store.approvals.record_decision(approval.id, decision(MEGAN, "Megan Bowen"))
        for _ in range(5)
    ], return_exceptions=True)

    assert sum(isinstance(o, Approval) for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if not isinstance(o, Approval))
    stored = await store.approvals.get(approval.id)
    assert stored is not None and len(stored.decisions) == 1


async def test_a_decision_on_a_granted_approval_is_refused_naming_its_status(
        store: Store) -> None:
    approval = await finance_approval(store, approvers=1)
    await store.approvals.record_decision(approval.id, decision(MEGAN, "Megan Bowen"))

    granted = await asyncio.gather(*[
        store.approvals.set_status(approval.id, "pending", "granted") for _ in range(4)
    ])
    assert granted.count(True) == 1

    with pytest.raises(Conflict, match="already granted"):
        await store.approvals.record_decision(approval.id,
                                              decision(ALEX, "Alex Wilber", "reject"))


async def test_pending_approvals_survive_a_restart_newest_first(db_url: str) -> None:
    first = await Store.open(db_url)
    older = await finance_approval(first)
    newer = await finance_approval(first)
    await first.approvals.set_card(newer.id, "19:general@thread.tacv2", "1733230000000")
    await first.close()

    restarted = await Store.open(db_url)
    try:
        pending = await restarted.approvals.pending()
        assert [a.id for a in pending] == [newer.id, older.id]
        assert pending[0].conversation_id == "19:general@thread.tacv2"
        assert pending[0].card_activity_id == "1733230000000"
        assert pending[0].expires_at.tzinfo is not None
        for_incident = await restarted.approvals.for_incident(older.incident_id)
        assert {a.id for a in for_incident} == {older.id, newer.id}
    finally:
        await restarted.close()


async def test_the_expiry_sweep_finds_pending_approvals_past_their_time(store: Store) -> None:
    approval = await finance_approval(store)

    assert await store.approvals.expired(datetime.now(UTC)) == []
    late = await store.approvals.expired(datetime.now(UTC) + timedelta(hours=5))
    assert [a.id for a in late] == [approval.id]
