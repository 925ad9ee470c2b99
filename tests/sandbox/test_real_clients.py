"""The real SDK clients against the sandbox on a TCP port: msgraph-sdk and azure-monitor-ingestion.

These are what Cordon's skills use in production, so the sandbox must accept exactly what they
send and answer what they parse.
"""

from __future__ import annotations

import time

import pytest
from azure.core.credentials import AccessToken
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

from sandbox.static_token import sandbox_graph_auth
from tests.sandbox.conftest import DANA, DANA_ID


@pytest.fixture
def graph(sandbox) -> GraphServiceClient:
    adapter = GraphRequestAdapter(sandbox_graph_auth())
    adapter.base_url = str(sandbox.client.make_url("/sandbox/graph/v1.0"))
    return GraphServiceClient(request_adapter=adapter)


def select(*fields: str) -> RequestConfiguration:
    params = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=list(fields))
    return RequestConfiguration(query_parameters=params)


async def test_graph_sdk_disables_revokes_and_reads_back(graph, sandbox):
    user = await graph.users.by_user_id(DANA).get(
        request_configuration=select("id", "accountEnabled", "department"))
    assert (user.id, user.account_enabled, user.department) == (DANA_ID, True, "Sales")

    await graph.users.by_user_id(DANA_ID).patch(User(account_enabled=False))
    revoked = await graph.users.by_user_id(DANA_ID).revoke_sign_in_sessions.post()
    assert revoked.value is True

    user = await graph.users.by_user_id(DANA_ID).get(
        request_configuration=select("accountEnabled", "signInSessionsValidFromDateTime"))
    assert user.account_enabled is False
    assert user.sign_in_sessions_valid_from_date_time is not None

    calls = sandbox.tenant.calls
    assert [(c.method, c.path) for c in calls] == [
        ("PATCH", f"/graph/v1.0/users/{DANA_ID}"),
        ("POST", f"/graph/v1.0/users/{DANA_ID}/revokeSignInSessions"),
    ]
    assert calls[0].json.get("accountEnabled") is False


async def test_graph_sdk_filters_sign_ins_and_reads_groups(graph):
    from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import (
        SignInsRequestBuilder,
    )

    params = SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(
        filter=f"userId eq '{DANA_ID}'", top=50)
    sign_ins = await graph.audit_logs.sign_ins.get(
        request_configuration=RequestConfiguration(query_parameters=params))
    assert sign_ins.value and {s.user_principal_name for s in sign_ins.value} == {DANA}
    assert any(s.location.country_or_region == "BR" for s in sign_ins.value)

    groups = await graph.users.by_user_id("priya.natarajan@fabrikam.example") \
        .transitive_member_of.get()
    assert "Finance" in {g.display_name for g in groups.value}

    risky = await graph.identity_protection.risky_users.by_risky_user_id(DANA_ID).get()
    assert risky.risk_level.value == "high"


async def test_graph_sdk_retries_a_throttled_call_after_retry_after(graph, sandbox):
    await sandbox.json("POST", "/_faults", auth=False, status=201, json={
        "method": "PATCH", "path": "/users/", "status": 429, "retry_after": 0, "times": 1})

    await graph.users.by_user_id(DANA_ID).patch(User(account_enabled=False))

    assert sandbox.tenant.users[DANA_ID]["accountEnabled"] is False
    assert [c.status for c in sandbox.tenant.calls] == [204]


async def test_graph_sdk_sees_not_found_as_odata_error(graph):
    with pytest.raises(ODataError) as raised:
        await graph.users.by_user_id("nobody@fabrikam.example").get()
    assert raised.value.response_status_code == 404
    assert raised.value.error.code == "Request_ResourceNotFound"


class SandboxCredential:
    """An async azure-core credential with a fixed token, for the sandbox only."""

    async def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        return AccessToken("sandbox-token", int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        return None


async def test_logs_ingestion_client_uploads_gzip_records(sandbox):
    from azure.monitor.ingestion.aio import LogsIngestionClient

    endpoint = str(sandbox.client.make_url("/sandbox/ingest"))
    async with LogsIngestionClient(endpoint, SandboxCredential()) as client:
        await client.upload("dcr-0001", "Custom-CordonAudit_CL",
                            [{"Event": "action executed", "Target": DANA}],
                            enforce_https=False)

    records = await sandbox.json("GET", "/ingest/_records", auth=False)
    assert [r["record"]["Target"] for r in records["records"]] == [DANA]
