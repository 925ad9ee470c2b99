"""Authentication, injected faults, reset and the record of calls, as tests rely on them."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.sandbox.conftest import DANA_ID, LENA_LAPTOP_ID, NSG


@pytest.mark.parametrize(("path", "code"), [
    (f"/graph/v1.0/users/{DANA_ID}", "InvalidAuthenticationToken"),
    (f"/defender/api/machines/{LENA_LAPTOP_ID}", "Unauthorized"),
    (f"/arm{NSG}?api-version=2023-09-01", "AuthenticationFailed"),
])
async def test_requests_without_a_bearer_token_are_refused_in_the_apis_shape(sandbox, path, code):
    body = await sandbox.json("GET", path, status=401, auth=False)
    assert body["error"]["code"] == code
    await sandbox.json("GET", path, status=401, auth=False,
                       headers={"Authorization": "Bearer "})


async def test_servicenow_refusal_uses_its_own_shape(sandbox):
    body = await sandbox.json("GET", "/servicenow/api/now/table/incident", status=401, auth=False)
    assert body == {"error": {"message": "User Not Authenticated",
                              "detail": "Required to provide Auth information"},
                    "status": "failure"}


async def test_throttled_twice_then_the_disable_goes_through(sandbox):
    armed = await sandbox.json("POST", "/_faults", auth=False, status=201, json=[
        {"method": "PATCH", "path": r"^/graph/v1\.0/users/", "status": 429, "retry_after": 2,
         "times": 2}])
    assert armed["faults"][0]["times"] == 2

    for _ in range(2):
        async with sandbox.patch(f"/graph/v1.0/users/{DANA_ID}",
                                 json={"accountEnabled": False}) as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "2"
            assert (await response.json())["error"]["code"] == "TooManyRequests"
    assert sandbox.tenant.users[DANA_ID]["accountEnabled"] is True

    async with sandbox.patch(f"/graph/v1.0/users/{DANA_ID}",
                             json={"accountEnabled": False}) as response:
        assert response.status == 204
    assert (await sandbox.json("GET", "/_faults", auth=False))["faults"] == []

    calls = (await sandbox.json("GET", "/_calls", auth=False))["calls"]
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("PATCH", f"/graph/v1.0/users/{DANA_ID}", 204)]


async def test_fault_only_hits_the_matching_method_and_path(sandbox):
    await sandbox.json("POST", "/_faults", auth=False, status=201, json={
        "method": "POST", "path": "/isolate$", "status": 503})
    machine = await sandbox.json("GET", f"/defender/api/machines/{LENA_LAPTOP_ID}")
    assert machine["isolationState"] == "NotIsolated"
    body = await sandbox.json("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/isolate",
                              status=503, json={"Comment": "x"})
    assert body["error"]["code"] == "ServiceUnavailable"

    async with sandbox.delete("/_faults", auth=False) as response:
        assert response.status == 204
    await sandbox.json("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/isolate", status=201,
                       json={"Comment": "x"})


async def test_latency_fault_delays_then_answers(sandbox):
    await sandbox.json("POST", "/_faults", auth=False, status=201, json={
        "path": "/machines", "latency_ms": 150, "times": 1})
    started = asyncio.get_running_loop().time()
    await sandbox.json("GET", f"/defender/api/machines/{LENA_LAPTOP_ID}")
    assert asyncio.get_running_loop().time() - started >= 0.15


async def test_timeout_fault_outlasts_the_client_and_clearing_ends_the_hang(sandbox):
    await sandbox.json("POST", "/_faults", auth=False, status=201, json={
        "path": "/reputation$", "timeout": True})
    path = "/graph/v1.0/security/threatIntelligence/hosts/203.0.113.77/reputation"
    with pytest.raises(asyncio.TimeoutError):
        async with sandbox.get(path, timeout=aiohttp.ClientTimeout(total=0.3)):
            pass

    hanging = asyncio.ensure_future(sandbox.json("GET", path, status=504))
    await asyncio.sleep(0)
    async with sandbox.delete("/_faults", auth=False):
        pass
    body = await asyncio.wait_for(hanging, timeout=5)
    assert body["error"]["code"] == "GatewayTimeout"


async def test_bad_fault_rules_are_refused(sandbox):
    for rule in ({"path": "(", "status": 500}, {"path": "x", "status": 200},
                 {"path": "x"}, {"path": "x", "status": 500, "times": 0}, [1]):
        body = await sandbox.json("POST", "/_faults", auth=False, status=400, json=rule)
        assert body["error"]["code"] == "InvalidFault"


async def test_calls_list_exactly_the_actions_taken_and_reset_restores_the_seed(sandbox):
    await sandbox.json("GET", f"/graph/v1.0/users/{DANA_ID}")
    async with sandbox.patch(f"/graph/v1.0/users/{DANA_ID}", json={"accountEnabled": False}):
        pass
    await sandbox.json("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/isolate", status=201,
                       json={"Comment": "Cordon", "IsolationType": "Selective"})
    await sandbox.json("POST", "/loganalytics/v1/workspaces/6c1f0a2e-9b3d-4e5f-8a7b-0c1d2e3f4a5b"
                               "/query", json={"query": "_GetWatchlist('VIPUsers')"})

    calls = (await sandbox.json("GET", "/_calls", auth=False))["calls"]
    assert [(c["method"], c["path"]) for c in calls] == [
        ("PATCH", f"/graph/v1.0/users/{DANA_ID}"),
        ("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/isolate"),
    ]
    assert calls[1]["json"] == {"Comment": "Cordon", "IsolationType": "Selective"}
    only_defender = await sandbox.json("GET", "/_calls?path=^/defender", auth=False)
    assert len(only_defender["calls"]) == 1

    await sandbox.json("POST", "/_reset", auth=False)
    assert sandbox.tenant.users[DANA_ID]["accountEnabled"] is True
    assert sandbox.tenant.machines[LENA_LAPTOP_ID]["isolationState"] == "NotIsolated"
    assert (await sandbox.json("GET", "/_calls", auth=False))["calls"] == []


async def test_unknown_paths_and_methods_get_the_apis_error_shape(sandbox):
    body = await sandbox.json("GET", "/graph/v1.0/nothingHere", status=404)
    assert body["error"]["code"] == "Request_ResourceNotFound"
    body = await sandbox.json("DELETE", f"/graph/v1.0/users/{DANA_ID}", status=405)
    assert "PATCH" in body["error"]["message"]
    body = await sandbox.json("GET", "/arm/subscriptions/x/whatever?api-version=1", status=404)
    assert body["error"]["code"] == "InvalidResourceType"
