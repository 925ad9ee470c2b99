"""The audit trail: a hash chain that verify() checks, where any edit made behind Cordon's back
in the database is found and named by its seq."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from store import AuditLog, Database, Store
from store.audit import GENESIS_HASH, chain_hash
from tests.store.conftest import scenario_incident

ROOT = Path(__file__).resolve().parents[2]


async def record_disable_of_dana(store: Store) -> str:
    incident = scenario_incident("impossible-travel-powershell")
    await store.audit.append("incident_received", "sentinel", incident.id,
                             {"number": 4521, "title": incident.title})
    await store.audit.append("verdict", "policy", incident.id,
                             {"action": "disable_user", "target": "dana.rossi@fabrikam.example",
                              "verdict": "auto", "reasons": ["allowed_actions: Disable-MgUser"]})
    await store.audit.append("action_succeeded", "cordon", incident.id,
                             {"action": "disable_user", "status": 204, "note": "Zürich → Łódź"})
    await store.audit.append("automation_paused", "Megan Bowen", None, {"reason": "change freeze"})
    return incident.id


async def test_events_are_chained_in_seq_order_from_the_genesis(store: Store) -> None:
    incident_id = await record_disable_of_dana(store)

    events = await store.audit.for_incident(incident_id)
    exported = [line async for line in store.audit.export()]

    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert events[2].data["note"] == "Zürich → Łódź"
    assert [line["seq"] for line in exported] == [1, 2, 3, 4]
    assert exported[3]["actor"] == "Megan Bowen"
    result = await store.audit.verify()
    assert result.ok and result.checked == 4 and result.first_broken_seq is None


async def test_an_exported_line_can_be_checked_without_the_database(store: Store) -> None:
    await record_disable_of_dana(store)
    from store.audit import canonical_json

    for line in [line async for line in store.audit.export()]:
        assert line["hash"] == chain_hash(line["seq"], line["at"], line["kind"], line["actor"],
                                          line["incident_id"], canonical_json(line["data"]),
                                          line["prev_hash"])


async def test_export_since_a_time_leaves_out_older_events(store: Store) -> None:
    await record_disable_of_dana(store)
    assert [line async for line in store.audit.export(datetime.now(UTC) + timedelta(1))] == []
    everything = [line async for line in store.audit.export(datetime.now(UTC) - timedelta(1))]
    assert len(everything) == 4


@pytest.mark.parametrize(("column", "edit"), [
    ("data_text", "replace(data_text, '204', '205')"),
    ("data_text", "replace(data_text, '\"status\":', '\"status\" :')"),
    ("actor", "'cordom'"),
    ("kind", "'action_failed'"),
    ("at_text", "replace(at_text, '+00:00', '+01:00')"),
    ("incident_id", "NULL"),
])
async def test_changing_one_field_of_one_event_in_the_database_is_named_by_seq(
        store: Store, column: str, edit: str) -> None:
    await record_disable_of_dana(store)

    async with store.db.transaction() as session:
        changed = await session.execute(
            text(f"UPDATE audit_events SET {column} = {edit} WHERE seq = 3")  # noqa: S608
        )
        assert changed.rowcount == 1

    result = await store.audit.verify()
    assert not result.ok
    assert result.first_broken_seq == 3
    assert "no longer matches its hash" in result.reason
    assert result.checked == 2


async def test_a_stored_hash_recomputed_by_a_forger_breaks_the_next_link(store: Store) -> None:
    await record_disable_of_dana(store)
    async with store.db.transaction() as session:
        row = (await session.execute(text(
            "SELECT seq, at_text, kind, actor, incident_id, data_text, prev_hash "
            "FROM audit_events WHERE seq = 2"))).one()
        forged = row.data_text.replace("auto", "approval")
        new_hash = chain_hash(row.seq, row.at_text, row.kind, row.actor, row.incident_id,
                              forged, row.prev_hash)
        await session.execute(
            text("UPDATE audit_events SET data_text = :d, hash = :h WHERE seq = 2"),
            {"d": forged, "h": new_hash},
        )

    result = await store.audit.verify()
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "prev_hash" in result.reason


async def test_a_deleted_event_is_named_as_missing(store: Store) -> None:
    await record_disable_of_dana(store)
    async with store.db.transaction() as session:
        await session.execute(text("DELETE FROM audit_events WHERE seq = 2"))

    result = await store.audit.verify()
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert "missing" in result.reason


async def test_a_cut_off_tail_is_noticed_through_the_chain_head(store: Store) -> None:
    await record_disable_of_dana(store)
    async with store.db.transaction() as session:
        await session.execute(text("DELETE FROM audit_events WHERE seq = 4"))

    result = await store.audit.verify()
    assert (result.ok, result.first_broken_seq) == (False, 4)


async def test_concurrent_appends_from_two_replicas_keep_one_unbroken_chain(
        db_url: str) -> None:
    replicas = await asyncio.gather(Database.open(db_url), Database.open(db_url))
    logs = [AuditLog(db) for db in replicas]
    try:
        await asyncio.gather(*[
            log.append("enrichment_lookup", f"replica-{n}", None, {"lookup": i})
            for n, log in enumerate(logs) for i in range(25)
        ])
        result = await logs[0].verify()
        seqs = [line["seq"] async for line in logs[1].export()]
    finally:
        for db in replicas:
            await db.close()

    assert result.ok, result.reason
    assert result.checked == 50
    assert seqs == list(range(1, 51))


APPENDER = textwrap.dedent("""
    import asyncio, sys
    from store import Store

    async def main(url):
        store = await Store.open(url)
        for i in range(40):
            await store.audit.append("enrichment_lookup", "replica-process", None, {"i": i})
        await store.close()

    asyncio.run(main(sys.argv[1]))
""")


async def test_a_second_process_appending_at_the_same_time_keeps_the_chain_valid(
        store: Store, db_url: str) -> None:
    await store.audit.append("service_started", "cordon", None, {})
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", APPENDER, db_url,
                                                   cwd=ROOT)
    for i in range(40):
        await store.audit.append("enrichment_lookup", "replica-test", None, {"i": i})
    assert await process.wait() == 0

    result = await store.audit.verify()
    assert result.ok, result.reason
    assert result.checked == 81
    actors = [line["actor"] async for line in store.audit.export()]
    assert actors.count("replica-process") == actors.count("replica-test") == 40


async def test_events_go_to_the_outbox_in_the_same_transaction(db_url: str) -> None:
    store = await Store.open(db_url, outbox_destinations=("log_analytics", "incident_comment"),
                             comment_kinds={"action_succeeded"})
    try:
        await record_disable_of_dana(store)
        logs = await store.outbox.claim("log_analytics", 10, 60)
        comments = await store.outbox.claim("incident_comment", 10, 60)
    finally:
        await store.close()

    assert [item.payload["seq"] for item in logs] == [1, 2, 3, 4]
    assert [item.payload["kind"] for item in comments] == ["action_succeeded"]
    assert comments[0].payload["data"]["status"] == 204


def test_no_code_path_updates_or_deletes_an_audit_event() -> None:
    source = (ROOT / "store" / "audit.py").read_text()
    assert "update(audit_events" not in source
    assert "delete(audit_events" not in source
