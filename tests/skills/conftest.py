"""Skills tests run against the real sandbox, served in-process on a real port.

Each test gets a fresh sandbox (seeded from the Fabrikam tenant), settings pointing every API at
it, a kernel built by `build_kernel`, and an authorizer that accepts exactly the
(token, action, target) triples the test grants.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from core.errors import NotAuthorizedToAct
from core.models import Entity, EntityKind, Incident
from core.settings import Settings
from sandbox import TENANT_KEY, build_sandbox_app
from skills.kernel import CordonSkills, build_kernel

SCENARIOS = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"


class GrantedAuthorizations:
    """An authorizer that knows only the authorizations a test hands out."""

    def __init__(self) -> None:
        self.granted: set[tuple[str, str, str]] = set()
        self.checked: list[tuple[str, str, str]] = []

    def grant(self, action: str, target: str) -> str:
        token = f"auth-{action}-{len(self.granted)}"
        self.granted.add((token, action, target))
        return token

    async def check(self, token: str, action: str, target: str) -> None:
        self.checked.append((token, action, target))
        if (token, action, target) not in self.granted:
            raise NotAuthorizedToAct(f"{token!r} does not authorize {action} on {target}",
                                     action=action, target=target)


class Sandbox:
    """The running sandbox: its base URL, its tenant state, and its test routes."""

    def __init__(self, app: web.Application, base: str) -> None:
        self.app = app
        self.base = base
        self._session = aiohttp.ClientSession()

    @property
    def tenant(self) -> Any:
        return self.app[TENANT_KEY]

    async def fault(self, **rule: Any) -> None:
        async with self._session.post(f"{self.base}/_faults", json=rule) as response:
            assert response.status < 300, await response.text()

    async def calls(self) -> list[dict[str, Any]]:
        async with self._session.get(f"{self.base}/_calls") as response:
            return (await response.json())["calls"]

    async def get(self, path: str) -> Any:
        async with self._session.get(f"{self.base}{path}") as response:
            return await response.json()

    async def close(self) -> None:
        await self._session.close()


@pytest.fixture
async def sandbox():
    root = web.Application()
    sandbox_app = build_sandbox_app()
    root.add_subapp("/sandbox", sandbox_app)
    runner = web.AppRunner(root)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    running = Sandbox(sandbox_app, f"http://127.0.0.1:{port}/sandbox")
    yield running
    await running.close()
    await runner.cleanup()


@pytest.fixture
def settings(sandbox: Sandbox) -> Settings:
    return Settings(_env_file=None, sandbox_url=sandbox.base, client_id="", client_secret="",
                    tenant_id="", use_managed_identity=False, enrichment_timeout_s=2.0)


@pytest.fixture
def authorizer() -> GrantedAuthorizations:
    return GrantedAuthorizations()


@pytest.fixture
async def skills(settings: Settings, authorizer: GrantedAuthorizations):
    built = build_kernel(settings, authorizer)
    yield built
    await built.close()


def scenario_incident(name: str) -> Incident:
    """A shared scenario as an `Incident`, with entity keys as the BRIEF names them."""
    payload = json.loads((SCENARIOS / f"{name}.json").read_text())
    obj = payload["object"]
    props = obj["properties"]
    return Incident(id=obj["id"], number=props.get("incidentNumber"), title=props["title"],
                    severity=props.get("severity", "Informational"),
                    entities=[_entity(e) for e in props.get("relatedEntities", [])])


def _entity(raw: dict[str, Any]) -> Entity:
    p = raw["properties"]
    kind = {k.value: k for k in EntityKind}.get(raw["kind"], EntityKind.OTHER)
    keys = {
        EntityKind.ACCOUNT: lambda: f"{p['accountName']}@{p['upnSuffix']}".lower(),
        EntityKind.HOST: lambda: f"{p['hostName']}.{p['dnsDomain']}".lower(),
        EntityKind.IP: lambda: p["address"],
        EntityKind.URL: lambda: p["url"].split("/")[2].lower(),
        EntityKind.MAIL_MESSAGE: lambda: p["networkMessageId"].lower(),
        EntityKind.CLOUD_APPLICATION: lambda: p["appId"].lower(),
        EntityKind.FILE_HASH: lambda: p["hashValue"].lower(),
    }
    key = keys.get(kind, lambda: raw.get("id", ""))()
    return Entity(kind=kind, raw_kind=raw["kind"], key=key, properties=p)


__all__ = ["CordonSkills", "GrantedAuthorizations", "Sandbox", "scenario_incident"]
