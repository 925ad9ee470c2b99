"""The sandbox mounted the way app.py mounts it, driven over aiohttp's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sandbox import TENANT_KEY, Tenant, build_sandbox_app

AUTH = {"Authorization": "Bearer sandbox-test"}
SUB = "11111111-2222-4333-8444-555555555555"
NSG = (f"/subscriptions/{SUB}/resourceGroups/rg-network/providers/"
       "Microsoft.Network/networkSecurityGroups/nsg-perimeter")
WORKSPACE = (f"/subscriptions/{SUB}/resourceGroups/rg-soc/providers/"
             "Microsoft.OperationalInsights/workspaces/law-soc")
MALWARE_INCIDENT = (WORKSPACE + "/providers/Microsoft.SecurityInsights/Incidents/"
                    "6053e5ad-b09e-5184-9f08-7416e531a378")

DANA = "dana.rossi@fabrikam.example"
DANA_ID = "2a1dd265-08e6-501d-ba11-714c72faf66f"
LENA_LAPTOP = "fab-lt-0310.corp.fabrikam.example"
LENA_LAPTOP_ID = "48422845ebff57eb88a3fc68a75ac99e00000000"


class Sandbox:
    """A test client for the mounted sandbox: `get/post/...` take paths after `/sandbox`."""

    def __init__(self, client: TestClient, app: web.Application) -> None:
        self.client = client
        self.app = app

    @property
    def tenant(self) -> Tenant:
        return self.app[TENANT_KEY]

    def request(self, method: str, path: str, auth: bool = True, **kwargs):
        headers = {**(AUTH if auth else {}), **kwargs.pop("headers", {})}
        return self.client.request(method, "/sandbox" + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)

    async def json(self, method: str, path: str, status: int = 200, **kwargs):
        async with self.request(method, path, **kwargs) as response:
            body = await response.text()
            assert response.status == status, f"{method} {path}: {response.status} {body}"
            return await response.json() if body else None


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    root = web.Application()
    sub = build_sandbox_app()
    root.add_subapp("/sandbox", sub)
    client = TestClient(TestServer(root))
    await client.start_server()
    try:
        yield Sandbox(client, sub)
    finally:
        await client.close()
