"""Bad input gets a 4xx in the API's own shape, never a 500, and changes nothing."""

from __future__ import annotations

import copy

import pytest

from tests.sandbox.conftest import DANA_ID, LENA_LAPTOP_ID, MALWARE_INCIDENT, NSG, SUB

WRITES = [
    ("PATCH", f"/graph/v1.0/users/{DANA_ID}"),
    ("POST", f"/graph/v1.0/users/{DANA_ID}/revokeSignInSessions"),
    ("POST", "/graph/v1.0/identityProtection/riskyUsers/confirmCompromised"),
    ("POST", "/graph/v1.0/identityProtection/riskyUsers/dismiss"),
    ("POST", "/graph/v1.0/security/collaboration/analyzedEmails/remediate"),
    ("POST", "/graph/v1.0/oauth2PermissionGrants"),
    ("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/isolate"),
    ("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/unisolate"),
    ("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/StopAndQuarantineFile"),
    ("POST", "/defender/api/indicators"),
    ("PUT", f"/arm{NSG}/securityRules/cordon-x?api-version=2023-09-01"),
    ("PUT", f"/arm/subscriptions/{SUB}/resourceGroups/rg-network/providers/"
            "Microsoft.Network/ipGroups/ipg-blocked?api-version=2023-09-01"),
    ("PUT", f"/arm{MALWARE_INCIDENT}?api-version=2024-09-01"),
    ("PUT", f"/arm{MALWARE_INCIDENT}/comments/c1?api-version=2024-09-01"),
    ("POST", "/servicenow/api/now/table/incident"),
    ("POST", "/ingest/dataCollectionRules/dcr/streams/Custom-X?api-version=2023-01-01"),
    ("POST", "/loganalytics/v1/workspaces/6c1f0a2e-9b3d-4e5f-8a7b-0c1d2e3f4a5b/query"),
]

BODIES = [
    b"", b"{", b"null", b"[]", b"42", b'"text"', b"[1, 2]",
    b'{"accountEnabled": [], "userIds": {"a": 1}, "analyzedEmails": [1], "action": []}',
    b'{"userIds": [[1]], "principalId": ["x"], "clientId": {"a": 1}, "consentType": 5}',
    b'{"clientId": "901e47fd-8539-5df8-b309-3bb0b09e8fb0", "consentType": "Principal",'
    b' "resourceId": "r", "scope": "s", "principalId": ["list"]}',
    b'{"Comment": 7, "IsolationType": ["Full"], "Sha1": null}',
    b'{"indicatorValue": 1, "indicatorType": "IpAddress", "action": "Block"}',
    b'{"properties": {"priority": "100", "direction": 1, "sourceAddressPrefixes": [1]}}',
    b'{"properties": {"ipAddresses": "1.2.3.4"}}',
    b'{"etag": 5, "properties": {"status": ["Closed"], "severity": {}}}',
    b'{"properties": {"message": ["x"]}}',
    b'{"query": 5}',
    b'{"userPrincipalName": 5}',
]


@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_malformed_bodies_never_fail_the_sandbox(sandbox, method, path):
    before = copy.deepcopy(sandbox.tenant.users[DANA_ID])
    for body in BODIES:
        async with sandbox.request(method, path, data=body,
                                   headers={"Content-Type": "application/json"}) as response:
            text = await response.text()
            assert response.status < 500, f"{body!r}: {response.status} {text}"
            if response.status >= 400:
                payload = await response.json()
                assert "error" in payload, text
    if method == "PATCH":
        assert sandbox.tenant.users[DANA_ID]["userPrincipalName"] == before["userPrincipalName"]
    await sandbox.json("GET", f"/graph/v1.0/users/{DANA_ID}")


@pytest.mark.parametrize("query", ["$top=abc", "$top=0", "$skiptoken=-1", "$orderby=x sideways",
                                   "$filter=", "$filter=(userId eq 'a')",
                                   "$filter=a eq 'x' and b eq 'y' or c eq 'z'"])
async def test_malformed_query_options_are_graph_bad_requests(sandbox, query):
    body = await sandbox.json("GET", f"/graph/v1.0/auditLogs/signIns?{query}", status=400)
    assert body["error"]["code"] == "BadRequest"
