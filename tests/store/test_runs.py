"""Action runs: one execution however many replicas race, and the counts circuit breakers use."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Conflict
from core.models import RunStatus
from store import Database, RunRepository, Store
from tests.store.conftest import proposed_run, scenario_incident


async def test_twenty_concurrent_attempts_to_execute_one_block_end_in_one_execution(
        store: Store) -> None:
    incident = scenario_incident("password-spray-ip")
    block = proposed_run(incident, "block_ip", "203.0.113.45")
    await store.runs.add_many([block])

    results = await asyncio.gather(*[
        store.runs.transition(block.id, {RunStatus.PENDING}, RunStatus.EXECUTING)
        for _ in range(20)
    ])

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].status is RunStatus.EXECUTING
    assert winners[0].attempts == 1
    assert winners[0].executed_at is not None
    stored = await store.runs.get(block.id)
    assert stored is not None and stored.attempts == 1


async def test_two_replicas_racing_on_one_isolation_execute_it_once(db_url: str) -> None:
    incident = scenario_incident("malware-workstation")
    isolate = proposed_run(incident, "isolate_device", "fab-lt-0310.corp.fabrikam.example")
    replicas = await asyncio.gather(Database.open(db_url), Database.open(db_url))
    try:
        await RunRepository(replicas[0]).add_many([isolate])
        results = await asyncio.gather(*[
            RunRepository(db).transition(isolate.id, {RunStatus.PENDING}, RunStatus.EXECUTING)
            for db in replicas for _ in range(10)
        ])
    finally:
        for db in replicas:
            await db.close()
    assert sum(r is not None for r in results) == 1


async def test_a_finished_run_is_never_executed_again(store: Store) -> None:
    incident = scenario_incident("impossible-travel-powershell")
    disable = proposed_run(incident, "disable_user", "dana.rossi@fabrikam.example")
    await store.runs.add_many([disable])
    await store.runs.transition(disable.id, {RunStatus.PENDING}, RunStatus.EXECUTING,
                                request={"accountEnabled": False})
    done = await store.runs.transition(disable.id, {RunStatus.EXECUTING}, RunStatus.SUCCEEDED,
                                       result={"status": 204})

    again = await store.runs.transition(disable.id, {RunStatus.PENDING, RunStatus.FAILED},
                                        RunStatus.EXECUTING)
    one_status = await store.runs.transition(disable.id, RunStatus.PENDING, RunStatus.EXECUTING)

    assert done is not None and done.result == {"status": 204}
    assert done.request == {"accountEnabled": False}
    assert again is None and one_status is None


async def test_only_known_fields_can_be_set_by_a_transition(store: Store) -> None:
    incident = scenario_incident("password-spray-ip")
    block = proposed_run(incident, "block_ip", "203.0.113.45")
    await store.runs.add_many([block])
    with pytest.raises(ValueError, match="settable"):
        await store.runs.transition(block.id, {RunStatus.PENDING}, RunStatus.EXECUTING,
                                    incident_id="elsewhere")


async def test_an_idempotency_key_names_one_run_only(store: Store) -> None:
    incident = scenario_incident("password-spray-ip")
    block = proposed_run(incident, "block_ip", "203.0.113.45")
    await store.runs.add_many([block])
    twin = block.model_copy(update={"id": "another-run"})

    with pytest.raises(Conflict):
        await store.runs.add_many([twin])
    found = await store.runs.by_idempotency_key(block.idempotency_key)
    assert found is not None and found.id == block.id
    assert await store.runs.by_idempotency_key("never-issued") is None


async def test_circuit_breaker_counts_only_executions_inside_the_window(store: Store) -> None:
    incident = scenario_incident("password-spray-ip")
    now = datetime.now(UTC)
    blocks = [proposed_run(incident, "block_ip", f"203.0.113.{n}") for n in range(1, 6)]
    disable = proposed_run(incident, "disable_user", "marcus.lee@fabrikam.example")
    await store.runs.add_many([*blocks, disable])

    executed_at = [now - timedelta(minutes=5), now - timedelta(minutes=30),
                   now - timedelta(hours=2), now - timedelta(minutes=1)]
    for run, at in zip(blocks, executed_at, strict=False):
        await store.runs.transition(run.id, {RunStatus.PENDING}, RunStatus.EXECUTING,
                                    executed_at=at)
    await store.runs.transition(blocks[3].id, {RunStatus.EXECUTING}, RunStatus.FAILED,
                                error="429 after 4 attempts")
    await store.runs.transition(blocks[0].id, {RunStatus.EXECUTING}, RunStatus.SUCCEEDED)
    await store.runs.transition(disable.id, {RunStatus.PENDING}, RunStatus.EXECUTING)

    hour_ago = now - timedelta(hours=1)
    assert await store.runs.count_executed("block_ip", hour_ago) == 2
    assert await store.runs.count_executed("block_ip", now - timedelta(hours=3)) == 3
    assert await store.runs.count_executed(None, hour_ago) == 3
    assert await store.runs.count_executed("isolate_device", hour_ago) == 0
    # A window given in another time zone is the same instant.
    in_berlin = hour_ago.astimezone(datetime.now().astimezone().tzinfo)
    assert await store.runs.count_executed("block_ip", in_berlin) == 2


async def test_runs_a_crashed_replica_left_behind_are_found_at_start(store: Store) -> None:
    incident = scenario_incident("malware-workstation")
    isolate = proposed_run(incident, "isolate_device", "fab-lt-0310.corp.fabrikam.example")
    waiting = proposed_run(incident, "stop_and_quarantine_file", "a1b2c3",
                           status=RunStatus.PENDING_APPROVAL)
    fresh = proposed_run(incident, "notify", "soc@fabrikam.example")
    await store.runs.add_many([isolate, waiting, fresh])
    long_ago = datetime.now(UTC) - timedelta(minutes=20)
    await store.runs.transition(isolate.id, {RunStatus.PENDING}, RunStatus.EXECUTING,
                                updated_at=long_ago)

    stuck = await store.runs.stuck(datetime.now(UTC) - timedelta(minutes=10))

    assert [run.id for run in stuck] == [isolate.id]
    everything_older = await store.runs.stuck(datetime.now(UTC) + timedelta(seconds=1))
    assert {run.id for run in everything_older} == {isolate.id, fresh.id}


async def test_an_incidents_runs_come_back_in_the_order_they_were_proposed(
        store: Store) -> None:
    incident = scenario_incident("phishing-campaign")
    runs = [proposed_run(incident, action, target) for action, target in [
        ("purge_email", "billing@contoso-pay.example"),
        ("block_indicator", "contoso-pay.example"),
        ("notify", "soc@fabrikam.example"),
    ]]
    await store.runs.add_many(runs)

    assert [r.id for r in await store.runs.for_incident(incident.id)] == [r.id for r in runs]
