"""Incidents: Sentinel's redeliveries are recognised once, records are found by what they name."""

from __future__ import annotations

import asyncio

from core.models import RunStatus
from store import Database, IncidentRepository, Store
from tests.store.conftest import incident_record, proposed_run, scenario_incident


async def test_a_redelivered_incident_is_claimed_by_exactly_one_of_two_concurrent_calls(
        store: Store) -> None:
    incident = scenario_incident("password-spray-ip")

    claims = await asyncio.gather(*[store.incidents.claim(incident, "sha256-of-body")
                                    for _ in range(2)])

    assert sorted(claims) == [False, True]
    assert await store.incidents.claim(incident, "sha256-of-body") is False


async def test_two_replicas_receiving_the_same_delivery_process_it_once(db_url: str) -> None:
    replicas = await asyncio.gather(Database.open(db_url), Database.open(db_url))
    incident = scenario_incident("impossible-travel-powershell")
    try:
        claims = await asyncio.gather(*[
            IncidentRepository(db).claim(incident, "body") for db in replicas for _ in range(5)
        ])
    finally:
        for db in replicas:
            await db.close()
    assert claims.count(True) == 1


async def test_a_modified_incident_is_a_new_delivery(store: Store) -> None:
    incident = scenario_incident("finance-impossible-travel")
    modified = incident.model_copy(update={"revision": "2026-11-30T09:15:00Z"})

    assert await store.incidents.claim(incident, "first") is True
    assert await store.incidents.claim(modified, "second") is True


async def test_a_saved_record_is_found_by_id_number_and_entity_with_current_run_status(
        store: Store) -> None:
    incident = scenario_incident("impossible-travel-powershell")
    disable = proposed_run(incident, "disable_user", "dana.rossi@fabrikam.example")
    revoke = proposed_run(incident, "revoke_sessions", "dana.rossi@fabrikam.example")
    await store.runs.add_many([disable, revoke])
    await store.incidents.save_record(incident_record(incident, [disable, revoke]))

    await store.runs.transition(disable.id, {RunStatus.PENDING}, RunStatus.EXECUTING)
    await store.runs.transition(disable.id, {RunStatus.EXECUTING}, RunStatus.SUCCEEDED,
                                result={"accountEnabled": False})

    by_id = await store.incidents.get_record(incident.id)
    assert by_id is not None
    assert [run.status for run in by_id.runs] == [RunStatus.SUCCEEDED, RunStatus.PENDING]
    assert by_id.runs[0].result == {"accountEnabled": False}

    by_number = await store.incidents.get_by_number(4521)
    assert by_number is not None and by_number.incident.id == incident.id

    for key in ("203.0.113.77", "DANA.ROSSI@fabrikam.example", "fab-lt-0193.corp.fabrikam.example"):
        found = await store.incidents.find_by_entity(key)
        assert [r.incident.number for r in found] == [4521], key
    assert await store.incidents.get_record("/subscriptions/none/incidents/0") is None


async def test_records_are_listed_newest_first_and_an_entity_shared_by_two_finds_both(
        store: Store) -> None:
    for name in ("impossible-travel-powershell", "password-spray-ip",
                 "prompt-injection-in-title"):
        incident = scenario_incident(name)
        await store.incidents.save_record(incident_record(incident, []))

    recent = await store.incidents.recent(limit=2)
    assert [r.incident.number for r in recent] == [4530, 4524]

    shared_ip = await store.incidents.find_by_entity("203.0.113.77")
    assert [r.incident.number for r in shared_ip] == [4530, 4521]


async def test_saving_a_record_again_replaces_it(store: Store) -> None:
    incident = scenario_incident("breakglass-signin")
    await store.incidents.save_record(incident_record(incident, [], outcome="no_action"))
    await store.incidents.save_record(incident_record(incident, [], outcome="escalated"))

    record = await store.incidents.get_record(incident.id)
    assert record is not None and record.outcome == "escalated"
    assert len(await store.incidents.recent()) == 1


async def test_intake_writes_record_runs_and_audit_in_one_transaction(store: Store) -> None:
    incident = scenario_incident("password-spray-ip")
    block = proposed_run(incident, "block_ip", "203.0.113.45")

    async with store.db.transaction() as session:
        await store.incidents.save_record(incident_record(incident, [block]), session=session)
        await store.runs.add_many([block], session=session)
        await store.audit.append_many([
            ("incident_received", "sentinel", incident.id, {"number": 4524}),
            ("verdict", "policy", incident.id, {"action": "block_ip", "verdict": "auto"}),
        ], session=session)

    assert (await store.incidents.get_record(incident.id)) is not None
    assert (await store.runs.get(block.id)) is not None
    assert [e.kind for e in await store.audit.for_incident(incident.id)] == [
        "incident_received", "verdict"]
