"""An approval granted after the policy changed: the policy in force when the last approver
clicks is asked again, and an action it would no longer let run is not executed."""

from __future__ import annotations

import aiohttp
import pytest

from tests.response.conftest import Cordon, scenario, start_cordon
from tests.response.test_policy_in_force import MEGAN, variant

ALEX = "00000000-0000-0000-0000-0000000000020"


@pytest.fixture
async def open_cordon(tmp_path, database_url):
    runners = []

    async def start(policy, data: str) -> Cordon:
        runner, base, app = await start_cordon(tmp_path / data, database_url, policy=policy)
        session = aiohttp.ClientSession()
        runners.append((runner, session))
        return Cordon(base, session, app)

    yield start
    for runner, session in runners:
        await session.close()
        await runner.cleanup()


async def _pending_disable(cordon: Cordon):
    _, result = await cordon.post(scenario("impossible-travel-powershell"))
    disable = next(a for a in result["actions"] if a["action"] == "disable_user")
    assert disable["status"] == "pending_approval", disable
    approval = (await cordon.runtime.store.approvals.for_run(disable["id"]))[0]
    return result["incident_id"], disable["id"], approval


async def _approve_by_all(cordon: Cordon, approval):
    outcome = None
    for clicker in (ALEX, MEGAN)[:approval.approvers_required]:
        outcome = await cordon.engine.decide(approval.id, approval.action_hash, clicker,
                                             "approve")
    return outcome


async def _dana_enabled(cordon: Cordon) -> bool:
    await cordon.engine.executor.drain(timeout=5)
    user = await cordon.sandbox(
        "GET", "/graph/v1.0/users/dana.rossi@fabrikam.example?$select=accountEnabled")
    return user["accountEnabled"]


async def test_an_approval_granted_after_a_switch_to_observe_executes_nothing(
        tmp_path, open_cordon):
    orchestrate = await open_cordon(
        variant(tmp_path, "mode: automate", "mode: orchestrate"), "a")
    incident_id, run_id, approval = await _pending_disable(orchestrate)

    # The SOC turns automation down to observe and restarts; the approval survives.
    (tmp_path / "observe").mkdir()
    observe = await open_cordon(
        variant(tmp_path / "observe", "mode: automate", "mode: observe"), "b")
    outcome = await _approve_by_all(observe, approval)

    assert not outcome.executing
    assert "not executed" in outcome.message and "observe" in outcome.message
    run = await observe.runtime.store.runs.get(run_id)
    assert run.status.value == "denied", run.status
    assert await _dana_enabled(observe) is True


async def test_an_approval_whose_incident_record_is_gone_executes_nothing(
        tmp_path, open_cordon):
    from sqlalchemy import delete

    from store.tables import incidents

    cordon = await open_cordon(variant(tmp_path, "mode: automate", "mode: orchestrate"), "a")
    incident_id, run_id, approval = await _pending_disable(cordon)
    async with cordon.runtime.store.db.transaction() as session:
        await session.execute(delete(incidents).where(incidents.c.id == incident_id))

    outcome = await _approve_by_all(cordon, approval)

    assert not outcome.executing
    assert "record is missing" in outcome.message
    run = await cordon.runtime.store.runs.get(run_id)
    assert run.status.value == "denied", run.status
    assert await _dana_enabled(cordon) is True
