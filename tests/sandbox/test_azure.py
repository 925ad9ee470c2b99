"""Azure responses through ARM: NSG rules, IP groups, VMs, Sentinel incidents and comments."""

from __future__ import annotations

import uuid

from yarl import URL

from tests.sandbox.conftest import AUTH, MALWARE_INCIDENT, NSG, SUB

NET = "?api-version=2023-09-01"
SENTINEL = "?api-version=2024-09-01"
VM = (f"/subscriptions/{SUB}/resourceGroups/rg-servers/providers/"
      "Microsoft.Compute/virtualMachines/fab-web-02")


def deny_rule(priority: int = 100, source: str = "203.0.113.45") -> dict:
    return {"properties": {
        "priority": priority, "direction": "Inbound", "access": "Deny", "protocol": "*",
        "sourceAddressPrefixes": [source], "sourcePortRange": "*",
        "destinationAddressPrefix": "*", "destinationPortRange": "*",
        "description": "Cordon: password spray source",
    }}


async def test_blocking_the_spray_ip_adds_one_deny_rule_and_unblock_removes_it(sandbox):
    rule = f"/arm{NSG}/securityRules/cordon-block-203-0-113-45{NET}"
    created = await sandbox.json("PUT", rule, status=201, json=deny_rule())
    assert created["properties"]["provisioningState"] == "Succeeded"

    nsg = await sandbox.json("GET", f"/arm{NSG}{NET}")
    rules = {r["name"]: r["properties"] for r in nsg["properties"]["securityRules"]}
    assert rules["cordon-block-203-0-113-45"]["sourceAddressPrefixes"] == ["203.0.113.45"]
    assert "allow-https-in" in rules

    await sandbox.json("PUT", rule, status=200, json=deny_rule())
    async with sandbox.delete(rule) as response:
        assert response.status == 202
        assert "Azure-AsyncOperation" in response.headers
    await sandbox.json("GET", rule, status=404)
    nsg = await sandbox.json("GET", f"/arm{NSG}{NET}")
    assert [r["name"] for r in nsg["properties"]["securityRules"]] == ["allow-https-in"]


async def test_rule_with_a_taken_priority_or_bad_prefix_is_refused(sandbox):
    taken = await sandbox.json("PUT", f"/arm{NSG}/securityRules/cordon-x{NET}", status=400,
                               json=deny_rule(priority=300))
    assert taken["error"]["code"] == "SecurityRuleConflict"

    bad = await sandbox.json("PUT", f"/arm{NSG}/securityRules/cordon-x{NET}", status=400,
                             json=deny_rule(source="203.0.113.999"))
    assert bad["error"]["code"] == "SecurityRuleInvalidAddressPrefix"


async def test_arm_requires_an_api_version(sandbox):
    body = await sandbox.json("GET", f"/arm{NSG}", status=400)
    assert body["error"]["code"] == "MissingApiVersionParameter"


async def test_ip_group_keeps_the_addresses_put(sandbox):
    group = (f"/arm/subscriptions/{SUB}/resourceGroups/rg-network/providers/"
             f"Microsoft.Network/ipGroups/ipg-blocked{NET}")
    current = await sandbox.json("GET", group)
    addresses = current["properties"]["ipAddresses"] + ["203.0.113.45"]
    await sandbox.json("PUT", group, json={"location": "westeurope",
                                           "properties": {"ipAddresses": addresses}})
    after = await sandbox.json("GET", group)
    assert after["properties"]["ipAddresses"] == ["198.51.100.66", "203.0.113.45"]


async def test_deallocated_vm_reads_deallocated_until_started(sandbox):
    version = "?api-version=2024-07-01"
    async with sandbox.post(f"/arm{VM}/deallocate{version}") as response:
        assert response.status == 202
        operation = response.headers["Azure-AsyncOperation"]
    view = await sandbox.json("GET", f"/arm{VM}/instanceView{version}")
    assert "PowerState/deallocated" in [s["code"] for s in view["statuses"]]
    async with sandbox.client.get(URL(operation).path_qs, headers=AUTH) as status:
        assert (await status.json())["status"] == "Succeeded"

    async with sandbox.post(f"/arm{VM}/start{version}") as response:
        assert response.status == 202
    vm = await sandbox.json("GET", f"/arm{VM}{version}&$expand=instanceView")
    codes = [s["code"] for s in vm["properties"]["instanceView"]["statuses"]]
    assert "PowerState/running" in codes


async def test_comments_on_a_scenario_incident_are_listed_in_order(sandbox):
    for text in ("Cordon isolated fab-lt-0310", "Approved by Megan Bowen"):
        comment = await sandbox.json("PUT", f"/arm{MALWARE_INCIDENT}/comments/{uuid.uuid4()}"
                                            f"{SENTINEL}", status=201,
                                     json={"properties": {"message": text}})
        assert comment["properties"]["message"] == text

    listed = await sandbox.json("GET", f"/arm{MALWARE_INCIDENT}/comments{SENTINEL}")
    assert [c["properties"]["message"] for c in listed["value"]] == [
        "Cordon isolated fab-lt-0310", "Approved by Megan Bowen"]

    empty = await sandbox.json("PUT", f"/arm{MALWARE_INCIDENT}/comments/x{SENTINEL}",
                               status=400, json={"properties": {"message": ""}})
    assert empty["error"]["code"] == "BadRequest"


async def test_closing_an_incident_needs_the_current_etag(sandbox):
    path = f"/arm{MALWARE_INCIDENT}{SENTINEL}"
    incident = await sandbox.json("GET", path)
    assert incident["properties"]["status"] == "New"
    stale = incident["etag"]

    closed = await sandbox.json("PUT", path, json={"etag": stale, "properties": {
        **incident["properties"], "status": "Closed", "classification": "TruePositive",
        "classificationReason": "SuspiciousActivity", "classificationComment": "Contained",
    }})
    assert closed["etag"] != stale

    refused = await sandbox.json("PUT", path, status=412, json={"etag": stale, "properties": {
        **incident["properties"], "status": "Active"}})
    assert refused["error"]["code"] == "PreconditionFailed"
    assert (await sandbox.json("GET", path))["properties"]["status"] == "Closed"

    reopened = await sandbox.json("PUT", path, json={"etag": closed["etag"], "properties": {
        **closed["properties"], "status": "Active"}})
    assert reopened["properties"]["status"] == "Active"
    assert "classification" not in reopened["properties"]


async def test_closing_without_classification_and_foreign_workspaces_are_refused(sandbox):
    path = f"/arm{MALWARE_INCIDENT}{SENTINEL}"
    body = await sandbox.json("PUT", path, status=400, json={"properties": {"status": "Closed"}})
    assert "classification" in body["error"]["message"]

    other = MALWARE_INCIDENT.replace("law-soc", "law-elsewhere")
    await sandbox.json("GET", f"/arm{other}{SENTINEL}", status=404)
