"""Each response action, and its inverse, changes the sandboxed tenant as the real API would."""

from __future__ import annotations

from typing import Any

import pytest

from skills.kernel import CordonSkills
from tests.skills.conftest import GrantedAuthorizations, Sandbox

DANA = "dana.rossi@fabrikam.example"
DANA_ID = "2a1dd265-08e6-501d-ba11-714c72faf66f"
LAPTOP = "fab-lt-0310.corp.fabrikam.example"
LAPTOP_ID = "48422845ebff57eb88a3fc68a75ac99e00000000"
NSG = ("/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-network/providers/"
       "Microsoft.Network/networkSecurityGroups/nsg-perimeter")
WEB_VM = ("/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-servers/"
          "providers/Microsoft.Compute/virtualMachines/fab-web-02")
INCIDENT = ("/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-soc/providers/"
            "Microsoft.OperationalInsights/workspaces/law-soc/providers/"
            "Microsoft.SecurityInsights/Incidents/05eeac84-2c92-5c18-a3dc-09d9dd517098")
MAILSYNC = "7ffa898c-6815-5e8f-80d9-dee7b7308fe3"
PHISH_COPIES = [
    {"networkMessageId": "aafd294e-fce8-51d9-b452-250fb756a312",
     "recipientEmailAddress": "sara.kim@fabrikam.example"},
    {"networkMessageId": "ee14cba1-5d4b-58d5-8166-551d63af8e41",
     "recipientEmailAddress": "tomas.silva@fabrikam.example"},
]


async def act(skills: CordonSkills, authorizer: GrantedAuthorizations, action: str, target: str,
              dry_run: bool = False, **parameters: Any) -> dict[str, Any]:
    token = authorizer.grant(action, target)
    return await skills.execute(action, target, parameters, authorization=token,
                                dry_run=dry_run)


def _rules(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    nsg = sandbox.tenant.nsgs[NSG.lower()]
    return {r["name"]: r for r in nsg["properties"]["securityRules"]}


async def test_disable_then_enable_dana(skills, authorizer, sandbox) -> None:
    done = await act(skills, authorizer, "disable_user", DANA)

    assert sandbox.tenant.user(DANA)["accountEnabled"] is False
    assert done["request"]["method"] == "PATCH"
    assert done["request"]["url"].endswith("/users/dana.rossi%40fabrikam.example")
    assert done["request"]["body"]["accountEnabled"] is False

    await act(skills, authorizer, "enable_user", DANA)
    assert sandbox.tenant.user(DANA)["accountEnabled"] is True


async def test_revoking_sessions_moves_the_valid_from_time(skills, authorizer, sandbox) -> None:
    before = sandbox.tenant.user(DANA).get("signInSessionsValidFromDateTime")

    done = await act(skills, authorizer, "revoke_sessions", DANA)

    assert done["response"]["revoked"] is True
    assert sandbox.tenant.user(DANA)["signInSessionsValidFromDateTime"] != before


async def test_confirm_compromised_then_dismiss(skills, authorizer, sandbox) -> None:
    done = await act(skills, authorizer, "confirm_compromised", DANA)

    assert done["request"]["body"]["userIds"] == [DANA_ID]
    assert sandbox.tenant.risky_users[DANA_ID]["riskState"] == "confirmedCompromised"

    await act(skills, authorizer, "dismiss_risk", DANA, **done["inverse_parameters"])
    assert sandbox.tenant.risky_users[DANA_ID]["riskState"] == "dismissed"


async def test_isolate_by_dns_name_then_release(skills, authorizer, sandbox) -> None:
    done = await act(skills, authorizer, "isolate_device", LAPTOP)

    assert done["inverse_parameters"] == {"device_id": LAPTOP_ID}
    assert sandbox.tenant.machines[LAPTOP_ID]["isolationState"] == "Isolated"

    await act(skills, authorizer, "unisolate_device", LAPTOP, **done["inverse_parameters"])
    assert sandbox.tenant.machines[LAPTOP_ID]["isolationState"] == "NotIsolated"


async def test_stop_and_quarantine_a_file_on_the_laptop(skills, authorizer, sandbox) -> None:
    sha1 = "3395856ce81f2b7382dee72602f798b642f14140"

    done = await act(skills, authorizer, "stop_and_quarantine_file", sha1, device_id=LAPTOP_ID)

    assert done["response"]["type"] == "StopAndQuarantineFile"
    [call] = await sandbox.calls()
    assert call["path"].endswith(f"/machines/{LAPTOP_ID}/StopAndQuarantineFile")
    assert call["json"]["Sha1"] == sha1


async def test_block_ip_puts_one_deny_rule_at_a_free_priority_and_unblock_removes_it(
        skills, authorizer, sandbox) -> None:
    done = await act(skills, authorizer, "block_ip", "203.0.113.45")

    rule = _rules(sandbox)["cordon-block-203-0-113-45"]["properties"]
    assert rule["access"] == "Deny" and rule["direction"] == "Inbound"
    assert rule["sourceAddressPrefixes"] == ["203.0.113.45"]
    assert rule["priority"] == 100
    assert "allow-https-in" in _rules(sandbox)
    assert [c["method"] for c in await sandbox.calls()] == ["PUT"]

    second = await act(skills, authorizer, "block_ip", "198.51.100.23")
    assert second["request"]["body"]["properties"]["priority"] == 101

    await act(skills, authorizer, "unblock_ip", "203.0.113.45", **done["inverse_parameters"])
    assert "cordon-block-203-0-113-45" not in _rules(sandbox)


async def test_block_then_delete_a_domain_indicator(skills, authorizer, sandbox) -> None:
    done = await act(skills, authorizer, "block_indicator", "contoso-pay.example")

    [indicator] = sandbox.tenant.indicators.values()
    assert indicator["indicatorType"] == "DomainName"
    assert indicator["action"] == "AlertAndBlock"

    await act(skills, authorizer, "delete_indicator", "contoso-pay.example",
              **done["inverse_parameters"])
    assert sandbox.tenant.indicators == {}


async def test_purge_a_campaign_then_restore_it(skills, authorizer, sandbox) -> None:
    def locations() -> set[str]:
        wanted = {c["networkMessageId"] for c in PHISH_COPIES}
        return {m["latestDelivery"]["location"] for m in sandbox.tenant.analyzed_emails.values()
                if m["networkMessageId"] in wanted}

    done = await act(skills, authorizer, "purge_email", "billing@contoso-pay.example",
                     messages=PHISH_COPIES)

    assert done["request"]["url"].endswith("/security/collaboration/analyzedEmails/remediate")
    assert done["request"]["body"]["action"] == "softDelete"
    assert locations() == {"deletedFolder"}

    await act(skills, authorizer, "restore_email", "billing@contoso-pay.example",
              **done["inverse_parameters"])
    assert locations() == {"inbox_folder"}


async def test_purge_one_message_finds_its_recipient(skills, authorizer, sandbox) -> None:
    message_id = PHISH_COPIES[0]["networkMessageId"]

    done = await act(skills, authorizer, "purge_email", message_id)

    assert done["inverse_parameters"]["messages"] == [PHISH_COPIES[0]]
    [copy] = [m for m in sandbox.tenant.analyzed_emails.values()
              if m["networkMessageId"] == message_id]
    assert copy["latestDelivery"]["location"] == "deletedFolder"


async def test_revoke_app_consent_keeps_the_grants_so_they_can_be_restored(
        skills, authorizer, sandbox) -> None:
    done = await act(skills, authorizer, "revoke_app_consent", MAILSYNC)

    assert set(done["response"]["deleted"]) == {"grant-mailsync-sara", "grant-mailsync-tomas"}
    assert set(sandbox.tenant.grants) == {"grant-teamsconnector-all"}
    kept = done["inverse_parameters"]["grants"]
    assert {g["scope"] for g in kept} == {"Mail.ReadWrite Mail.Send offline_access User.Read",
                                          "Mail.ReadWrite offline_access User.Read"}

    await act(skills, authorizer, "restore_app_consent", MAILSYNC, **done["inverse_parameters"])
    restored = [g for g in sandbox.tenant.grants.values()
                if g["clientId"] == "901e47fd-8539-5df8-b309-3bb0b09e8fb0"]
    assert {g["principalId"] for g in restored} == {"4d33e692-4d05-580a-90ea-90c73259246b",
                                                    "26092ff7-3545-5965-866f-14a938edcc25"}


async def test_deallocate_then_start_a_vm(skills, authorizer, sandbox) -> None:
    done = await act(skills, authorizer, "deallocate_vm", "fab-web-02.corp.fabrikam.example",
                     vm_id=WEB_VM)

    assert sandbox.tenant.vms[WEB_VM.lower()]["powerState"] == "deallocated"

    await act(skills, authorizer, "start_vm", "fab-web-02.corp.fabrikam.example",
              **done["inverse_parameters"])
    assert sandbox.tenant.vms[WEB_VM.lower()]["powerState"] == "running"


async def test_close_then_reopen_the_incident(skills, authorizer, sandbox) -> None:
    await act(skills, authorizer, "close_incident", INCIDENT)

    incident = await skills.api.call("arm", "GET", INCIDENT, params={"api-version": "2024-09-01"})
    assert incident["properties"]["status"] == "Closed"
    assert incident["properties"]["classification"] == "TruePositive"

    await act(skills, authorizer, "reopen_incident", INCIDENT)
    incident = await skills.api.call("arm", "GET", INCIDENT, params={"api-version": "2024-09-01"})
    assert incident["properties"]["status"] == "Active"


async def test_create_a_servicenow_ticket(skills, authorizer, sandbox) -> None:
    done = await act(skills, authorizer, "create_ticket", DANA,
                     short_description="Dana Rossi account compromised")

    assert done["response"]["number"].startswith("INC")
    [ticket] = sandbox.tenant.tickets
    assert ticket["short_description"] == "Dana Rossi account compromised"


async def test_notify_calls_nothing_and_says_what_it_would_say(skills, authorizer,
                                                               sandbox) -> None:
    done = await act(skills, authorizer, "notify", DANA, message="Dana's account was disabled")

    assert done["response"]["message"] == "Dana's account was disabled"
    assert done["request"] is None
    assert await sandbox.calls() == []


DRY_RUNS = [
    ("disable_user", DANA, {}),
    ("enable_user", DANA, {}),
    ("revoke_sessions", DANA, {}),
    ("confirm_compromised", DANA, {}),
    ("dismiss_risk", DANA, {"user_id": DANA_ID}),
    ("isolate_device", LAPTOP, {}),
    ("unisolate_device", LAPTOP, {"device_id": LAPTOP_ID}),
    ("stop_and_quarantine_file", "3395856ce81f2b7382dee72602f798b642f14140",
     {"device_id": LAPTOP_ID}),
    ("block_ip", "203.0.113.45", {}),
    ("unblock_ip", "203.0.113.45", {}),
    ("block_indicator", "contoso-pay.example", {}),
    ("delete_indicator", "contoso-pay.example", {}),
    ("purge_email", "billing@contoso-pay.example", {"messages": PHISH_COPIES}),
    ("restore_email", "billing@contoso-pay.example", {"messages": PHISH_COPIES}),
    ("revoke_app_consent", MAILSYNC, {"grant_ids": ["grant-mailsync-sara"]}),
    ("restore_app_consent", MAILSYNC, {"grants": [{"clientId": "c", "consentType": "Principal",
                                                   "principalId": "p", "resourceId": "r",
                                                   "scope": "User.Read"}]}),
    ("deallocate_vm", "fab-web-02", {"vm_id": WEB_VM}),
    ("start_vm", "fab-web-02", {"vm_id": WEB_VM}),
    ("close_incident", INCIDENT, {}),
    ("reopen_incident", INCIDENT, {}),
    ("create_ticket", DANA, {}),
]


@pytest.mark.parametrize(("action", "target", "parameters"), DRY_RUNS,
                         ids=[a for a, _, _ in DRY_RUNS])
async def test_a_dry_run_sends_nothing_and_returns_the_request(
        skills, authorizer, sandbox, action, target, parameters) -> None:
    done = await act(skills, authorizer, action, target, dry_run=True, **parameters)

    assert await sandbox.calls() == []
    assert done["dry_run"] is True
    assert done["request"]["method"] in ("POST", "PUT", "PATCH", "DELETE")
    assert done["request"]["url"].startswith(sandbox.base)


async def test_a_proposal_in_the_apis_spelling_runs_as_proposed(skills, authorizer,
                                                                sandbox) -> None:
    isolate = await act(skills, authorizer, "isolate_device", LAPTOP,
                        machineId=LAPTOP_ID, isolationType="Selective")
    revoke = await act(skills, authorizer, "revoke_app_consent", MAILSYNC,
                       servicePrincipalId="901e47fd-8539-5df8-b309-3bb0b09e8fb0",
                       grantIds=["grant-mailsync-sara"])
    token = authorizer.grant("block_indicator", "contoso-pay.example")
    block = await skills.execute(
        "block_indicator", "contoso-pay.example",
        {"indicatorType": "DomainName", "indicatorValue": "contoso-pay.example",
         "action": "Block"},
        authorization=token, dry_run=False)

    assert isolate["request"]["body"]["IsolationType"] == "Selective"
    assert sandbox.tenant.machines[LAPTOP_ID]["isolationState"] == "Isolated"
    assert revoke["response"]["deleted"] == ["grant-mailsync-sara"]
    assert "grant-mailsync-tomas" in sandbox.tenant.grants
    assert block["request"]["body"]["action"] == "Block"
