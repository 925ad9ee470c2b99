"""Execution as a SOC engineer sees it: retries that honour throttling, failures with the API's
reason, dry runs that change nothing, undo, refusals without authorization, the audit trail
and what reaches Log Analytics and the Sentinel incident."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from core.errors import ApprovalRefused, NotAuthorizedToAct
from tests.response.conftest import POLICY, Cordon, scenario, start_cordon

ROOT = Path(__file__).resolve().parents[2]
ALEX = "00000000-0000-0000-0000-0000000000020"
ADELE = "00000000-0000-0000-0000-0000000000022"
LAPTOP = "48422845ebff57eb88a3fc68a75ac99e00000000"
DANA = "dana.rossi@fabrikam.example"


def policy_variant(tmp_path: Path, **replace: str) -> Path:
    text_ = POLICY.read_text()
    for old, new in replace.items():
        assert old in text_, old
        text_ = text_.replace(old, new)
    path = tmp_path / "policy.yaml"
    path.write_text(text_)
    return path


@pytest.fixture
async def dry_cordon(tmp_path, database_url):
    policy = policy_variant(tmp_path, **{"dry_run: false": "dry_run: true"})
    runner, base, app = await start_cordon(tmp_path, database_url, policy=policy)
    async with aiohttp.ClientSession() as session:
        yield Cordon(base, session, app)
    await runner.cleanup()


async def _isolate_run(cordon) -> dict:
    status, result = await cordon.post(scenario("malware-workstation"))
    assert status == 201
    record = await cordon.settled(result["incident_id"], timeout=20)
    return next(a for a in record["actions"] if a["action"] == "isolate_device")


async def _audit(cordon, kind: str) -> list:
    return [e async for e in cordon.runtime.store.audit.export(None) if e["kind"] == kind]


async def test_throttled_isolation_is_retried_after_retry_after(cordon):
    await cordon.sandbox("POST", "/_faults", {"method": "POST", "path": "/isolate$",
                                              "status": 429, "retry_after": 1, "times": 1})
    run = await _isolate_run(cordon)

    assert run["status"] == "succeeded"
    retries = await _audit(cordon, "action retry")
    assert len(retries) == 1 and retries[0]["data"]["delay_s"] == 1
    machine = await cordon.sandbox("GET", f"/defender/api/machines/{LAPTOP}")
    assert machine["isolationState"] == "Isolated"
    isolations = [c for c in await cordon.calls() if c["path"].endswith("/isolate")]
    assert len(isolations) == 1


async def test_a_failing_api_fails_the_run_with_its_reason(cordon):
    await cordon.sandbox("POST", "/_faults", {"method": "POST", "path": "/isolate$",
                                              "status": 500})
    cordon.runtime.engine.executor._base_backoff_s = 0.01
    run = await _isolate_run(cordon)

    assert run["status"] == "failed"
    assert "500" in run["error"]
    machine = await cordon.sandbox("GET", f"/defender/api/machines/{LAPTOP}")
    assert machine["isolationState"] == "NotIsolated"


async def test_dry_run_records_the_request_and_changes_nothing(dry_cordon):
    run = await _isolate_run(dry_cordon)

    assert run["verdict"] == "auto" and run["status"] == "dry_run"
    assert [c for c in await dry_cordon.calls() if "/comments/" not in c["path"]] == []
    machine = await dry_cordon.sandbox("GET", f"/defender/api/machines/{LAPTOP}")
    assert machine["isolationState"] == "NotIsolated"
    stored = await dry_cordon.runtime.store.runs.get(run["id"])
    assert stored.request["method"] == "POST"
    assert stored.request["url"].endswith(f"/machines/{LAPTOP}/isolate")


async def test_undo_unisolates_and_marks_the_run_rolled_back(cordon):
    run = await _isolate_run(cordon)
    with pytest.raises(ApprovalRefused, match="approver group"):
        await cordon.engine.undo(run["id"], ADELE)

    undo_run, message = await cordon.engine.undo(run["id"], ALEX)
    assert "Alex Wilber" in message
    await cordon.engine.executor.drain(timeout=10)

    machine = await cordon.sandbox("GET", f"/defender/api/machines/{LAPTOP}")
    assert machine["isolationState"] == "NotIsolated"
    original = await cordon.runtime.store.runs.get(run["id"])
    assert original.status.value == "rolled_back"
    assert undo_run.inverse_of == run["id"]
    with pytest.raises(ApprovalRefused, match="rolled_back"):
        await cordon.engine.undo(run["id"], ALEX)


async def test_a_direct_plugin_call_without_authorization_acts_on_nothing(cordon):
    skills = cordon.runtime.skills
    with pytest.raises(NotAuthorizedToAct):
        await skills.execute("disable_user", "olivia.grant@fabrikam.example", {},
                             authorization="forged.token", dry_run=False)
    user = await cordon.sandbox("GET", "/graph/v1.0/users/olivia.grant@fabrikam.example"
                                       "?$select=accountEnabled")
    assert user["accountEnabled"] is True
    assert await cordon.calls() == []


async def test_audit_chain_verifies_and_names_a_changed_byte(cordon, database_url, tmp_path):
    run = await _isolate_run(cordon)
    assert run["status"] == "succeeded"
    audit = cordon.runtime.store.audit
    result = await audit.verify()
    assert result.ok and result.checked >= 5

    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin",
           "CORDON_DATA_DIR": str(tmp_path / "cli")}
    cli = await asyncio.to_thread(subprocess.run, [sys.executable, "app.py", "audit", "verify"],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "intact" in cli.stdout

    async with cordon.runtime.store.db.session() as session:
        row = (await session.execute(text(
            "SELECT seq, data_text FROM audit_events WHERE kind = 'action succeeded' "
            "ORDER BY seq"))).first()
        changed = row.data_text.replace('"run_id"', '"run_iD"', 1)
        assert changed != row.data_text and len(changed) == len(row.data_text)
        await session.execute(text("UPDATE audit_events SET data_text = :d WHERE seq = :s"),
                              {"d": changed, "s": row.seq})
        await session.commit()

    result = await audit.verify()
    assert not result.ok and result.first_broken_seq == row.seq
    cli = await asyncio.to_thread(subprocess.run, [sys.executable, "app.py", "audit", "verify"],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 1
    assert f"record {row.seq}" in cli.stdout


async def test_audit_reaches_log_analytics_and_the_sentinel_incident(cordon):
    status, result = await cordon.post(scenario("password-spray-ip"))
    await cordon.settled(result["incident_id"])
    incident_path = result["incident_id"]
    cordon.runtime.dispatcher.wake()

    async def delivered():
        while True:
            records = (await cordon.sandbox("GET", "/ingest/_records"))["records"]
            comments = await cordon.sandbox(
                "GET", f"/arm{incident_path}/comments?api-version=2024-09-01")
            texts = [c["properties"]["message"] for c in comments.get("value", [])]
            if any("executed block_ip" in t for t in texts) and len(records) >= 5:
                return records, texts
            await asyncio.sleep(0.1)

    records, texts = await asyncio.wait_for(delivered(), timeout=15)
    kinds = {r["record"]["kind"] for r in records}
    assert {"incident received", "verdict", "action succeeded"} <= kinds
    assert any(t.startswith("Cordon triaged this incident") for t in texts)


async def test_the_next_incident_reads_what_cordon_changed(cordon):
    status, first = await cordon.post(scenario("impossible-travel-powershell"))
    before = await cordon.engine.record(first["incident_id"])
    assert before.enrichment.users[DANA].user["accountEnabled"] is True
    await cordon.settled(first["incident_id"])

    status, second = await cordon.post(scenario("prompt-injection-in-title"))
    after = await cordon.engine.record(second["incident_id"])
    assert after.enrichment.users[DANA].user["accountEnabled"] is False, (
        "recent lookups are shared by a storm of incidents, but never past Cordon's own change")
