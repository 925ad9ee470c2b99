"""ServiceNow tickets, the audit stream to Logs Ingestion, and watchlists from Log Analytics."""

from __future__ import annotations

import gzip
import json

TICKETS = "/servicenow/api/now/table/incident"
WORKSPACE_ID = "6c1f0a2e-9b3d-4e5f-8a7b-0c1d2e3f4a5b"
STREAM = "/ingest/dataCollectionRules/dcr-0001/streams/Custom-CordonAudit_CL"


async def test_created_tickets_are_listed_by_query(sandbox):
    first = await sandbox.json("POST", TICKETS, status=201, json={
        "short_description": "Cordon: Dana Rossi disabled", "urgency": 2,
        "correlation_id": "incident-4521"})
    assert first["result"]["number"] == "INC0010001"
    assert len(first["result"]["sys_id"]) == 32 and first["result"]["urgency"] == "2"
    await sandbox.json("POST", TICKETS, status=201, json={
        "short_description": "Cordon: fab-lt-0310 isolated", "correlation_id": "incident-4600"})

    one = await sandbox.json("GET", f"{TICKETS}?sysparm_query=correlation_id=incident-4521")
    assert [t["number"] for t in one["result"]] == ["INC0010001"]
    like = await sandbox.json(
        "GET", f"{TICKETS}?sysparm_query=short_descriptionLIKEisolated^ORDERBYDESCnumber")
    assert [t["number"] for t in like["result"]] == ["INC0010002"]
    got = await sandbox.json("GET", f"{TICKETS}/{first['result']['sys_id']}")
    assert got["result"]["correlation_id"] == "incident-4521"


async def test_ticket_errors_are_in_servicenow_shape(sandbox):
    body = await sandbox.json("POST", TICKETS, status=400, data=b"nope",
                              headers={"Content-Type": "application/json"})
    assert body["status"] == "failure" and body["error"]["detail"]
    missing = await sandbox.json("GET", f"{TICKETS}/0123", status=404)
    assert missing["error"]["message"] == "No Record found"


async def test_servicenow_accepts_basic_credentials(sandbox):
    async with sandbox.get(TICKETS, auth=False,
                           headers={"Authorization": "Basic Y29yZG9uOnNhbmRib3g="}) as r:
        assert r.status == 200


async def test_audit_records_arrive_plain_and_gzip_compressed(sandbox):
    version = "?api-version=2023-01-01"
    async with sandbox.post(STREAM + version, json=[{"Event": "approval granted"}]) as r:
        assert r.status == 204
    packed = gzip.compress(json.dumps([{"Event": "action executed"}]).encode())
    async with sandbox.post(STREAM + version, data=packed, headers={
            "Content-Encoding": "gzip", "Content-Type": "application/json"}) as r:
        assert r.status == 204

    records = await sandbox.json("GET", "/ingest/_records", auth=False)
    assert [r["record"]["Event"] for r in records["records"]] == [
        "approval granted", "action executed"]
    assert records["records"][0]["stream"] == "Custom-CordonAudit_CL"


async def test_ingestion_refuses_objects_and_missing_api_version(sandbox):
    body = await sandbox.json("POST", STREAM + "?api-version=2023-01-01", status=400,
                              json={"Event": "not in an array"})
    assert body["error"]["code"] == "InvalidPayload"
    await sandbox.json("POST", STREAM, status=400, json=[{}])
    assert (await sandbox.json("GET", "/ingest/_records", auth=False))["records"] == []


async def test_vip_watchlist_answers_in_log_analytics_table_shape(sandbox):
    path = f"/loganalytics/v1/workspaces/{WORKSPACE_ID}/query"
    answer = await sandbox.json("POST", path, json={"query": "_GetWatchlist('VIPUsers')"})
    table = answer["tables"][0]
    names = [c["name"] for c in table["columns"]]
    assert {"SearchKey", "UserPrincipalName", "Reason", "WatchlistItem"} <= set(names)
    keys = {row[names.index("SearchKey")] for row in table["rows"]}
    assert keys == {"olivia.grant@fabrikam.example", "priya.natarajan@fabrikam.example"}

    projected = await sandbox.json("POST", path, json={
        "query": "_GetWatchlist('CriticalAssets') | where Asset =~ 'FAB-SQL-01' | project Asset"})
    assert projected["tables"][0]["rows"] == [["fab-sql-01"]]


async def test_unknown_watchlist_or_query_is_refused(sandbox):
    path = f"/loganalytics/v1/workspaces/{WORKSPACE_ID}/query"
    unknown = await sandbox.json("POST", path, status=400,
                                 json={"query": "_GetWatchlist('Nope')"})
    assert unknown["error"]["code"] == "SemanticError"
    other = await sandbox.json("POST", path, status=400, json={"query": "SigninLogs | take 1"})
    assert other["error"]["code"] == "BadArgumentError"
    await sandbox.json("POST", "/loganalytics/v1/workspaces/other/query", status=404,
                       json={"query": "_GetWatchlist('VIPUsers')"})
