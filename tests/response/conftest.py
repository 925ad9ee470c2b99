"""A whole Cordon served in-process on a real port, with its embedded sandbox tenant.

`cordon` is the app as a Sentinel automation rule and a test see it: `post(payload)` posts an
incident with the intake token, `get(id)` reads the record, `sandbox(...)` calls the sandbox's
test routes (calls made, faults, state), `engine` is the running response engine.

The database is a fresh SQLite file, or a fresh PostgreSQL database when CORDON_TEST_DB is
`postgres` (the CI runs these tests on both).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.pg import drop_postgres_database, fresh_postgres_url

SHARED = Path(__file__).resolve().parents[3] / "shared"
SCENARIOS = SHARED / "scenarios"
POLICY = SCENARIOS / "policy.yaml"
TOKEN = "test-intake-token"


def scenario(name: str) -> dict[str, Any]:
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def database_url(tmp_path):
    if os.environ.get("CORDON_TEST_DB") == "postgres":
        url = await fresh_postgres_url()
        if url is None:
            pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
        yield url
        await drop_postgres_database(url)
        return
    yield f"sqlite+aiosqlite:///{tmp_path / 'cordon.db'}"


class Cordon:
    def __init__(self, base: str, session: aiohttp.ClientSession, app: web.Application) -> None:
        self.base = base
        self.session = session
        self.app = app

    @property
    def runtime(self):
        from app import RUNTIME_KEY

        return self.app[RUNTIME_KEY]

    @property
    def engine(self):
        return self.runtime.engine

    async def post(self, payload: Any, *, token: str | None = TOKEN,
                   raw: bytes | None = None, content_type: str = "application/json"):
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else json.dumps(payload).encode()
        async with self.session.post(f"{self.base}/api/incidents", data=body,
                                     headers=headers) as resp:
            return resp.status, await resp.json()

    async def get(self, incident_id: str, *, token: str | None = TOKEN):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.get(f"{self.base}/api/incidents/{incident_id}",
                                    headers=headers) as resp:
            return resp.status, await resp.json()

    async def sandbox(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": "Bearer sandbox-test"}
        async with self.session.request(method, f"{self.base}/sandbox{path}", json=body,
                                        headers=headers) as resp:
            text = await resp.text()
            return json.loads(text) if text else None

    async def calls(self) -> list[dict[str, Any]]:
        answer = await self.sandbox("GET", "/_calls")
        return answer["calls"]

    async def settled(self, incident_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """The record once no action is still pending or executing."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status, body = await self.get(incident_id)
            assert status == 200, body
            busy = [a for a in body["actions"] if a["status"] in ("pending", "executing")]
            if not busy:
                return body
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"actions still running after {timeout}s: {busy}")
            await asyncio.sleep(0.05)


class Held:
    """Keeps the executor's background work until the test lets it run."""

    def __init__(self, executor) -> None:
        self.coroutines = []
        executor.spawn = self.coroutines.append

    async def run_all(self) -> None:
        for coroutine in self.coroutines:
            await coroutine
        self.coroutines.clear()


async def start_cordon(tmp_path: Path, database_url: str, *, policy: Path = POLICY,
                       **overrides: Any):
    from app import build_web_app
    from core.settings import Settings

    port = free_port()
    settings = Settings(
        PORT=port, DATABASE_URL=database_url, CORDON_POLICY=str(policy),
        CORDON_INTAKE_TOKEN=TOKEN, CORDON_DATA_DIR=str(tmp_path / "data"),
        **overrides,
    )
    app = build_web_app(settings, with_bot=False)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}", app


@pytest.fixture
async def cordon(tmp_path, database_url):
    runner, base, app = await start_cordon(tmp_path, database_url)
    async with aiohttp.ClientSession() as session:
        yield Cordon(base, session, app)
    await runner.cleanup()
