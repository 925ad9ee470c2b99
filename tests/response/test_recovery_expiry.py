"""The recovery sweep expires every approval past its time, however many newer ones wait."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from core.models import Approval


def _approval(expires_at: datetime) -> Approval:
    return Approval(id=str(uuid.uuid4()), run_id=str(uuid.uuid4()), incident_id="inc-busy-day",
                    action_hash="0" * 64, approvers_required=1, status="pending",
                    expires_at=expires_at)


async def test_an_old_expired_approval_is_expired_behind_five_hundred_newer_ones(cordon):
    store = cordon.runtime.store
    now = datetime.now(UTC)
    stale = _approval(now - timedelta(hours=1))
    await store.approvals.add(stale)
    async with store.db.transaction() as session:
        for _ in range(500):
            await store.approvals.add(_approval(now + timedelta(hours=4)), session=session)

    await cordon.engine.recovery.sweep()

    assert (await store.approvals.get(stale.id)).status == "expired"
    assert len(await store.approvals.pending(limit=1000)) == 500
