"""Device responses in Defender for Endpoint: isolation, quarantine, indicators."""

from __future__ import annotations

from tests.sandbox.conftest import LENA_LAPTOP, LENA_LAPTOP_ID

SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"


async def test_isolating_the_malware_workstation_shows_it_isolated_until_released(sandbox):
    action = await sandbox.json("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/isolate",
                                status=201,
                                json={"Comment": "Cordon: malware", "IsolationType": "Full"})
    assert (action["type"], action["scope"], action["status"]) == ("Isolate", "Full", "Pending")

    machine = await sandbox.json("GET", f"/defender/api/machines/{LENA_LAPTOP_ID}")
    assert machine["isolationState"] == "Isolated"
    done = await sandbox.json("GET", f"/defender/api/machineactions/{action['id']}")
    assert done["status"] == "Succeeded"

    await sandbox.json("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/unisolate", status=201,
                       json={"Comment": "Cordon: undo"})
    machine = await sandbox.json("GET", f"/defender/api/machines/{LENA_LAPTOP_ID}")
    assert machine["isolationState"] == "NotIsolated"


async def test_machine_found_by_dns_name_when_the_device_id_is_missing(sandbox):
    found = await sandbox.json(
        "GET", f"/defender/api/machines?$filter=computerDnsName eq '{LENA_LAPTOP.upper()}'")
    assert [m["id"] for m in found["value"]] == [LENA_LAPTOP_ID]
    assert found["@odata.context"].endswith("$metadata#Machines")


async def test_stop_and_quarantine_records_the_file_on_the_machine(sandbox):
    action = await sandbox.json("POST",
                                f"/defender/api/machines/{LENA_LAPTOP_ID}/StopAndQuarantineFile",
                                status=201, json={"Comment": "Cordon", "Sha1": SHA1})
    assert action["type"] == "StopAndQuarantineFile"
    machine = await sandbox.json("GET", f"/defender/api/machines/{LENA_LAPTOP_ID}")
    assert SHA1 in machine["quarantinedFiles"]


async def test_bad_isolation_requests_get_defender_errors(sandbox):
    no_comment = await sandbox.json("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/isolate",
                                    status=400, json={"IsolationType": "Full"})
    assert no_comment["error"]["code"] == "InvalidRequestBody"

    bad_type = await sandbox.json("POST", f"/defender/api/machines/{LENA_LAPTOP_ID}/isolate",
                                  status=400, json={"Comment": "x", "IsolationType": "Partial"})
    assert "IsolationType" in bad_type["error"]["message"]

    missing = await sandbox.json("POST", "/defender/api/machines/does-not-exist/isolate",
                                 status=404, json={"Comment": "x"})
    assert missing["error"]["code"] == "ResourceNotFound"
    machine = await sandbox.json("GET", f"/defender/api/machines/{LENA_LAPTOP_ID}")
    assert machine["isolationState"] == "NotIsolated"


async def test_blocked_domain_indicator_is_listed_until_deleted(sandbox):
    indicator = await sandbox.json("POST", "/defender/api/indicators", json={
        "indicatorValue": "contoso-pay.example", "indicatorType": "DomainName",
        "action": "Block", "title": "Cordon: phishing kit host",
        "description": "Phishing campaign", "severity": "High",
    })
    assert indicator["id"]

    again = await sandbox.json("POST", "/defender/api/indicators", json={
        "indicatorValue": "contoso-pay.example", "indicatorType": "DomainName",
        "action": "AlertAndBlock", "title": "Cordon", "description": "again",
    })
    assert again["id"] == indicator["id"]

    listed = await sandbox.json(
        "GET", "/defender/api/indicators?$filter=indicatorValue eq 'contoso-pay.example'")
    assert [i["action"] for i in listed["value"]] == ["AlertAndBlock"]

    async with sandbox.delete(f"/defender/api/indicators/{indicator['id']}") as response:
        assert response.status == 204
    assert (await sandbox.json("GET", "/defender/api/indicators"))["value"] == []
    await sandbox.json("DELETE", f"/defender/api/indicators/{indicator['id']}", status=404)


async def test_indicator_with_a_malformed_value_is_refused(sandbox):
    body = await sandbox.json("POST", "/defender/api/indicators", status=400, json={
        "indicatorValue": "not-an-ip", "indicatorType": "IpAddress", "action": "Block",
        "title": "t", "description": "d",
    })
    assert body["error"]["code"] == "InvalidRequestBody"
