"""What a Sentinel automation rule, a Graph subscription or a careless script sees when posting
incidents: clear 4xx answers for bad input, and nothing half-written."""

from __future__ import annotations

import json

from tests.response.conftest import scenario

GRAPH_INCIDENT = {
    "id": "2972395",
    "displayName": "Multi-stage incident involving Initial access & Execution on one endpoint",
    "severity": "high",
    "status": "active",
    "incidentWebUrl": "https://security.microsoft.com/incidents/2972395?tid=f4b1c0de",
    "createdDateTime": "2026-11-30T10:00:00Z",
    "lastUpdateDateTime": "2026-11-30T10:05:00Z",
    "alerts": [{
        "id": "da637578995287051192_756343937",
        "title": "Ransomware behavior detected",
        "severity": "high",
        "category": "Impact",
        "serviceSource": "microsoftDefenderForEndpoint",
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.deviceEvidence",
             "deviceDnsName": "fab-lt-0310.corp.fabrikam.example",
             "mdeDeviceId": "48422845ebff57eb88a3fc68a75ac99e00000000"},
            {"@odata.type": "#microsoft.graph.security.userEvidence",
             "userAccount": {"accountName": "lena.fischer", "domainName": "fabrikam.example",
                             "userPrincipalName": "lena.fischer@fabrikam.example",
                             "azureAdUserId": "09321cfb-4e52-5cec-bc85-b3cde577679c",
                             "displayName": "Lena Fischer"}},
            {"@odata.type": "#microsoft.graph.security.fileEvidence",
             "fileDetails": {"fileName": "svch0st.exe", "sha256":
                             "9f2c4e1ab07d3c55e2b8f6a1d4c7e0b9a3f5d2c8e1b4a7f0c3d6e9b2a5f8c1d4"}},
            {"@odata.type": "#microsoft.graph.security.someFutureEvidence", "name": "x"},
        ],
    }, {
        "id": "da637578995287051192_756343938",
        "title": "Suspicious network share enumeration",
        "severity": "medium",
        "category": "LateralMovement",
        "serviceSource": "microsoftDefenderForEndpoint",
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.deviceEvidence",
             "deviceDnsName": "fab-lt-0310.corp.fabrikam.example",
             "mdeDeviceId": "48422845ebff57eb88a3fc68a75ac99e00000000"},
        ],
    }],
}


async def _audit_count(cordon) -> int:
    return len([e async for e in cordon.runtime.store.audit.export(None)])


async def test_missing_token_is_refused_and_nothing_is_written(cordon):
    status, body = await cordon.post(scenario("malware-workstation"), token=None)
    assert status == 401
    assert "Authorization" in body["message"]
    assert await _audit_count(cordon) == 0


async def test_wrong_token_is_refused(cordon):
    status, body = await cordon.post(scenario("malware-workstation"), token="guess")
    assert status == 401
    assert body["error"] == "unauthorized"
    status, _ = await cordon.get("anything", token="guess")
    assert status == 401


async def test_malformed_json_gets_400_saying_so(cordon):
    status, body = await cordon.post(None, raw=b'{"object": {"properties": ')
    assert status == 400
    assert body["error"] == "invalid_json"
    assert "not valid JSON" in body["message"]


async def test_wrong_shape_gets_422_naming_the_field(cordon):
    status, body = await cordon.post({"hello": "world"})
    assert status == 422
    assert "object.properties" in body["message"] or "object.properties" in json.dumps(body)

    payload = scenario("password-spray-ip")
    payload["object"]["properties"]["severity"] = "Apocalyptic"
    status, body = await cordon.post(payload)
    assert status == 422
    assert "severity" in body["message"] and "Informational" in body["message"]

    payload = scenario("password-spray-ip")
    payload["object"]["properties"]["relatedEntities"] = "not a list"
    status, body = await cordon.post(payload)
    assert status == 422
    assert "relatedEntities" in body["message"]
    assert await _audit_count(cordon) == 0


async def test_json_that_is_not_an_object_gets_422(cordon):
    status, body = await cordon.post([1, 2, 3])
    assert status == 422
    assert "JSON object" in body["message"]


async def test_five_megabytes_of_junk_gets_413(cordon):
    status, body = await cordon.post(None, raw=b"x" * (5 * 1024 * 1024))
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert await _audit_count(cordon) == 0


async def test_unknown_entity_kind_is_kept_not_refused(cordon):
    payload = scenario("password-spray-ip")
    payload["object"]["properties"]["relatedEntities"].append(
        {"id": "x", "kind": "SomethingNew", "properties": {"friendlyName": "thing-42"}})
    status, body = await cordon.post(payload)
    assert status == 201
    record = await cordon.engine.record(body["incident_id"])
    kept = [e for e in record.incident.entities if e.raw_kind == "SomethingNew"]
    assert kept and kept[0].key == "thing-42"
    assert any(a["action"] == "block_ip" for a in body["actions"])


async def test_other_media_type_gets_415(cordon):
    status, body = await cordon.post(scenario("password-spray-ip"),
                                     content_type="application/xml")
    assert status == 415


async def test_unknown_incident_gets_404(cordon):
    status, body = await cordon.get("no-such-incident")
    assert status == 404
    assert "no-such-incident" in body["message"]


async def test_graph_security_incident_is_triaged_like_a_sentinel_one(cordon):
    status, body = await cordon.post(GRAPH_INCIDENT)
    assert status == 201, body
    assert body["incident_id"] == "2972395"
    record = await cordon.settled(body["incident_id"])
    isolate = [a for a in record["actions"] if a["action"] == "isolate_device"]
    assert isolate and isolate[0]["target"] == "fab-lt-0310.corp.fabrikam.example"
    assert isolate[0]["status"] == "succeeded"


async def test_alerts_key_is_read_whatever_its_case(cordon):
    payload = scenario("malware-workstation")
    props = payload["object"]["properties"]
    props["Alerts"] = props.pop("alerts")
    status, body = await cordon.post(payload)
    assert status == 201
    record = await cordon.engine.record(body["incident_id"])
    assert record.incident.alerts and record.incident.alert_count >= 1


async def test_an_incident_number_that_is_no_number_gets_422_not_500(cordon):
    for number in (1e400, 10**30, -1):  # JSON allows 1e400 (infinity) and any length of digits
        payload = scenario("malware-workstation")
        payload["object"]["properties"]["incidentNumber"] = number
        status, body = await cordon.post(payload)
        assert status == 422, (number, body)
        assert "incidentNumber" in body["message"]
    assert await _audit_count(cordon) == 0


async def test_a_graph_id_of_odd_digits_is_triaged_without_a_number(cordon):
    for incident_id in ("\u00b2", "9" * 5000):  # a superscript two; more digits than int() takes
        status, body = await cordon.post({**GRAPH_INCIDENT, "id": incident_id})
        assert status == 201, body
        assert body["incident_number"] is None


async def test_json_nested_too_deeply_gets_400_not_500(cordon):
    status, body = await cordon.post(None, raw=b"[" * 200_000)
    assert status == 400, body
    assert body["error"] == "invalid_json"
    assert "nested too deeply" in body["message"]


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_a_body_nested_hundreds_deep_gets_422_and_leaves_no_claim(cordon):
    payload = scenario("malware-workstation")
    payload["object"]["properties"]["relatedEntities"][0]["properties"]["x"] = "NESTED"
    raw = json.dumps(payload).replace('"NESTED"', _nested(300)).encode()
    status, body = await cordon.post(None, raw=raw)
    assert status == 422, body
    assert "deep" in body["message"]

    status, body = await cordon.post(scenario("malware-workstation"))
    assert status == 201, body
    assert body["duplicate"] is False


async def test_custom_details_nested_hundreds_deep_are_dropped_not_a_500(cordon):
    payload = scenario("malware-workstation")
    alert = payload["object"]["properties"]["alerts"][0]
    props = alert.get("properties", alert)
    props.setdefault("additionalData", {})["Custom Details"] = (
        '{"x": ' + _nested(300) + "}")
    status, body = await cordon.post(payload)
    assert status == 201, body
    record = await cordon.engine.record(body["incident_id"])
    assert record.incident.alerts[0].custom_details == {}


def test_the_sandbox_is_never_served_once_microsoft_credentials_are_set(tmp_path):
    from app import build_web_app
    from core.settings import Settings

    def sandbox_routes(**credentials) -> list[str]:
        settings = Settings(CORDON_DATA_DIR=str(tmp_path), CORDON_INTAKE_TOKEN="t",
                            **credentials)
        app = build_web_app(settings, with_bot=False)
        return [r.canonical for r in app.router.resources() if "/sandbox" in r.canonical]

    assert sandbox_routes(), "the offline default serves the sandbox tenant"
    assert sandbox_routes(AZURE_CLIENT_ID="11111111-1111-1111-1111-111111111111",
                          AZURE_TENANT_ID="f4b1c0de-5a1e-4c3b-9e7d-2b8a6c4d0e11",
                          AZURE_CLIENT_SECRET="s") == []
    assert sandbox_routes(CORDON_USE_MANAGED_IDENTITY="true") == []


async def test_nul_characters_anywhere_are_kept_as_marks_not_a_500(cordon):
    payload = scenario("malware-workstation")
    payload["object"]["id"] += "\u0000"
    payload["object"]["properties"]["title"] = "Ransomware\u0000 on FAB-LT-0310"
    payload["object"]["properties"]["relatedEntities"].append(
        {"kind": "Process", "properties": {"commandLine": "cmd.exe /c \u0000del", "x\u0000": 1}})

    status, body = await cordon.post(payload)

    assert status == 201, body
    assert body["incident_id"].endswith("\ufffd")
    assert body["outcome"] == "contained"  # the laptop is still isolated
    status, record = await cordon.get(body["incident_id"])
    assert status == 200, record
    stored = await cordon.engine.record(body["incident_id"])
    assert stored.incident.title == "Ransomware\ufffd on FAB-LT-0310"
