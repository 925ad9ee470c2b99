"""Every shared scenario, posted as Sentinel would post it, gets what expected.yaml says, and the
sandbox tenant afterwards shows exactly the actions that were executed, no others."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.response.conftest import SCENARIOS, scenario

EXPECTED = yaml.safe_load((SCENARIOS / "expected.yaml").read_text())

# The API call each action makes in the sandbox (method, path pattern after /sandbox).
ACTION_CALLS = {
    "disable_user": ("PATCH", r"^/graph/v1\.0/users/[^/]+$"),
    "revoke_sessions": ("POST", r"/revokeSignInSessions$"),
    "confirm_compromised": ("POST", r"/riskyUsers/confirmCompromised$"),
    "isolate_device": ("POST", r"^/defender/api/machines/[^/]+/isolate$"),
    "stop_and_quarantine_file": ("POST", r"/StopAndQuarantineFile$"),
    "block_ip": ("PUT", r"/securityRules/"),
    "block_indicator": ("POST", r"^/defender/api/indicators$"),
    "purge_email": ("POST", r"/analyzedEmails/remediate$"),
    "revoke_app_consent": ("DELETE", r"/oauth2PermissionGrants/"),
    "create_ticket": ("POST", r"^/servicenow/api/now/table/incident$"),
}
NOT_ACTIONS = re.compile(r"/comments/|^/ingest/")


def _matches(action: dict, expectation: dict) -> bool:
    if action["action"] != expectation["action"]:
        return False
    target = expectation.get("target")
    return target is None or action["target"].lower() == str(target).lower()


def action_calls(calls: list[dict]) -> list[dict]:
    return [c for c in calls if not NOT_ACTIONS.search(c["path"])]


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_scenario_gets_its_expected_outcome(cordon, name):
    expected = EXPECTED[name]
    status, result = await cordon.post(scenario(name))
    assert status == 201, result
    assert result["duplicate"] is False

    record = await cordon.settled(result["incident_id"])
    actions = record["actions"]

    for want in expected.get("propose", []):
        found = [a for a in actions if _matches(a, want)]
        proposed = [(a["action"], a["target"]) for a in actions]
        assert found, f"{name}: expected {want} among {proposed}"
        if "verdict" in want:
            assert found[0]["verdict"] == want["verdict"], (name, found[0])
            assert found[0]["reasons"], "every verdict carries its reasons"

    for never in expected.get("never", []):
        for action in actions:
            if _matches(action, never):
                assert action["status"] not in ("succeeded", "executing", "pending_approval"), (
                    f"{name}: {never} must never run nor wait for approval, got {action}")

    if "incident_outcome" in expected:
        assert record["outcome"] == expected["incident_outcome"]

    executed = [a for a in actions if a["status"] == "succeeded"]
    made = action_calls(await cordon.calls())
    assert len(made) == len(executed), (
        f"{name}: the sandbox saw {[(c['method'], c['path']) for c in made]} for executed "
        f"{[(a['action'], a['target']) for a in executed]}")
    for action in executed:
        method, pattern = ACTION_CALLS[action["action"]]
        assert any(c["method"] == method and re.search(pattern, c["path"]) for c in made), (
            action, made)


async def test_disabled_account_shows_disabled_in_the_tenant(cordon):
    status, result = await cordon.post(scenario("impossible-travel-powershell"))
    assert status == 201
    await cordon.settled(result["incident_id"])

    user = await cordon.sandbox(
        "GET", "/graph/v1.0/users/dana.rossi@fabrikam.example?$select=accountEnabled,"
               "signInSessionsValidFromDateTime")
    assert user["accountEnabled"] is False
    assert user.get("signInSessionsValidFromDateTime")

    untouched = await cordon.sandbox(
        "GET", "/graph/v1.0/users/breakglass01@fabrikam.example?$select=accountEnabled")
    assert untouched["accountEnabled"] is True


async def test_ransomware_laptop_is_isolated(cordon):
    status, result = await cordon.post(scenario("malware-workstation"))
    assert status == 201
    await cordon.settled(result["incident_id"])
    machine = await cordon.sandbox("GET", "/defender/api/machines/"
                                          "48422845ebff57eb88a3fc68a75ac99e00000000")
    assert machine["isolationState"] == "Isolated"


async def test_redelivered_incident_is_not_acted_on_twice(cordon):
    payload = scenario("password-spray-ip")
    first_status, first = await cordon.post(payload)
    await cordon.settled(first["incident_id"])
    second_status, second = await cordon.post(payload)

    assert (first_status, second_status) == (201, 200)
    assert second["duplicate"] is True
    assert [a["id"] for a in second["actions"]] == [a["id"] for a in first["actions"]]
    rules = [c for c in action_calls(await cordon.calls()) if c["method"] == "PUT"]
    assert len(rules) == 1


async def test_injected_instructions_in_the_title_change_nothing(cordon):
    status, result = await cordon.post(scenario("prompt-injection-in-title"))
    assert status == 201
    record = await cordon.settled(result["incident_id"])
    targets = {(a["action"], a["target"]) for a in record["actions"]}
    assert ("disable_user", "breakglass01@fabrikam.example") not in targets
    assert all(a["target"] not in ("10.0.1.5", "fab-dc-01.corp.fabrikam.example")
               for a in record["actions"])
