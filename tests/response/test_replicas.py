"""Cordon as separate processes: replicas sharing one PostgreSQL, and a process killed in the
middle of an action. One sandbox tenant process outlives them, so its state is the witness."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.pg import drop_postgres_database, fresh_postgres_url
from tests.response.conftest import POLICY, TOKEN, free_port, scenario

ROOT = Path(__file__).resolve().parents[2]
DANA = "dana.rossi@fabrikam.example"


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._fh,
                                     stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._fh.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._fh.close()


async def wait_up(session: aiohttp.ClientSession, url: str, process: Process) -> None:
    for _ in range(300):
        if process.proc.poll() is not None:
            raise AssertionError(f"{url} exited:\n{process.log.read_text()[-3000:]}")
        try:
            async with session.get(url) as resp:
                if resp.status < 500:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not come up:\n{process.log.read_text()[-3000:]}")


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def sandbox(tmp_path, session):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = Process([sys.executable, "-m", "sandbox", "--port", str(port)], env,
                      tmp_path / "sandbox.log")
    base = f"http://127.0.0.1:{port}/sandbox"
    await wait_up(session, f"{base}/_calls", process)
    yield base
    process.stop()


def app_env(tmp_path: Path, name: str, port: int, database_url: str, sandbox: str,
            **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CORDON_", "AZURE_"))}
    env.update({
        "PORT": str(port), "DATABASE_URL": database_url, "CORDON_SANDBOX_URL": sandbox,
        "CORDON_POLICY": str(POLICY), "CORDON_INTAKE_TOKEN": TOKEN,
        "CORDON_DATA_DIR": str(tmp_path / name), "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


async def start_app(tmp_path, session, name, database_url, sandbox, **extra) -> tuple:
    port = free_port()
    process = Process([sys.executable, "app.py"],
                      app_env(tmp_path, name, port, database_url, sandbox, **extra),
                      tmp_path / f"{name}.log")
    base = f"http://127.0.0.1:{port}"
    await wait_up(session, f"{base}/readyz", process)
    return process, base


async def post(session, base: str, payload: dict) -> tuple[int, dict]:
    async with session.post(f"{base}/api/incidents", json=payload,
                            headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        return resp.status, await resp.json()


async def record(session, base: str, incident_id: str) -> dict:
    async with session.get(f"{base}/api/incidents/{incident_id}",
                           headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert resp.status == 200
        return await resp.json()


async def calls(session, sandbox: str) -> list[dict]:
    async with session.get(f"{sandbox}/_calls") as resp:
        return [c for c in (await resp.json())["calls"]
                if "/comments/" not in c["path"] and not c["path"].startswith("/ingest/")]


async def settled(session, base: str, incident_id: str, timeout: float = 30) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = await record(session, base, incident_id)
        if all(a["status"] not in ("pending", "executing") for a in body["actions"]):
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not settled: {json.dumps(body['actions'], indent=1)}")
        await asyncio.sleep(0.1)


@pytest.fixture
async def postgres_url():
    url = await fresh_postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
    yield url
    await drop_postgres_database(url)


async def test_two_replicas_sent_the_same_incident_at_once_act_once(
        tmp_path, session, sandbox, postgres_url):
    one, base_one = await start_app(tmp_path, session, "one", postgres_url, sandbox)
    two, base_two = await start_app(tmp_path, session, "two", postgres_url, sandbox)
    try:
        payload = scenario("impossible-travel-powershell")
        answers = await asyncio.gather(post(session, base_one, payload),
                                       post(session, base_two, payload))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 201], answers
        incident_id = answers[0][1]["incident_id"]
        body = await settled(session, base_one, incident_id)

        executed = [a for a in body["actions"] if a["status"] == "succeeded"]
        assert {a["action"] for a in executed} >= {"disable_user", "revoke_sessions"}
        made = await calls(session, sandbox)
        patches = [c for c in made if c["method"] == "PATCH" and "/users/" in c["path"]]
        revokes = [c for c in made if c["path"].endswith("/revokeSignInSessions")]
        assert len(patches) == 1 and len(revokes) == 1, made
        assert len(made) == len(executed)
    finally:
        one.stop()
        two.stop()


async def test_a_process_killed_mid_action_neither_repeats_nor_forgets_it(
        tmp_path, session, sandbox, database_url):
    lease = {"CORDON_EXECUTION_LEASE": "1", "CORDON_RECOVERY_INTERVAL": "0.5"}
    first, base = await start_app(tmp_path, session, "first", database_url, sandbox, **lease)
    async with session.post(f"{sandbox}/_faults", json={
            "method": "PATCH", "path": "^/graph/v1.0/users/", "latency_ms": 2500, "times": 1}):
        pass

    status, answer = await post(session, base, scenario("impossible-travel-powershell"))
    assert status == 201
    incident_id = answer["incident_id"]
    for _ in range(100):
        body = await record(session, base, incident_id)
        disable = next(a for a in body["actions"] if a["action"] == "disable_user")
        if disable["status"] == "executing":
            break
        await asyncio.sleep(0.02)
    assert disable["status"] == "executing"
    first.kill()

    await asyncio.sleep(3)  # the in-flight PATCH lands in the tenant after its latency
    second, base = await start_app(tmp_path, session, "second", database_url, sandbox, **lease)
    try:
        body = await settled(session, base, incident_id)
        by_action = {a["action"]: a for a in body["actions"]}
        assert by_action["disable_user"]["status"] == "succeeded"
        assert by_action["revoke_sessions"]["status"] == "succeeded"

        made = await calls(session, sandbox)
        patches = [c for c in made if c["method"] == "PATCH" and "/users/" in c["path"]]
        assert len(patches) == 1, made
        async with session.get(f"{sandbox}/graph/v1.0/users/{DANA}?$select=accountEnabled",
                               headers={"Authorization": "Bearer t"}) as resp:
            assert (await resp.json())["accountEnabled"] is False
    finally:
        second.stop()


async def test_an_incident_accepted_by_a_process_killed_before_triage_is_triaged_after(
        tmp_path, session, sandbox, database_url):
    lease = {"CORDON_EXECUTION_LEASE": "1", "CORDON_RECOVERY_INTERVAL": "0.5"}
    first, base = await start_app(tmp_path, session, "first", database_url, sandbox, **lease)
    async with session.post(f"{sandbox}/_faults", json={
            "method": "GET", "path": "^/graph/v1.0/users/", "latency_ms": 3000, "times": 3}):
        pass

    async with session.post(f"{base}/api/incidents", json=scenario("impossible-travel-powershell"),
                            headers={"Authorization": f"Bearer {TOKEN}",
                                     "Prefer": "respond-async"}) as resp:
        assert resp.status == 202
        location = resp.headers["Location"]
    await asyncio.sleep(0.3)  # its triage is waiting on the directory
    first.kill()

    second, base = await start_app(tmp_path, session, "second", database_url, sandbox, **lease)
    try:
        second_location = f"{base}/api/{location.split('/api/', 1)[1]}"
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            async with session.get(second_location,
                                   headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                if resp.status == 200:
                    answer = await resp.json()
                    break
                assert resp.status == 202
            assert asyncio.get_running_loop().time() < deadline, "never triaged"
            await asyncio.sleep(0.1)

        body = await settled(session, base, answer["incident_id"])
        assert body["outcome"] == "contained"
        by_action = {a["action"]: a for a in body["actions"]}
        assert by_action["disable_user"]["status"] == "succeeded"
        patches = [c for c in await calls(session, sandbox)
                   if c["method"] == "PATCH" and "/users/" in c["path"]]
        assert len(patches) == 1
    finally:
        second.stop()
