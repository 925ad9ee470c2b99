"""The audit trail leaves Cordon as Log Analytics rows and as comments on the incident."""

from __future__ import annotations

from tests.skills.conftest import Sandbox

INCIDENT = ("/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-soc/providers/"
            "Microsoft.OperationalInsights/workspaces/law-soc/providers/"
            "Microsoft.SecurityInsights/Incidents/05eeac84-2c92-5c18-a3dc-09d9dd517098")


async def test_audit_records_arrive_in_the_custom_table(skills, sandbox: Sandbox) -> None:
    records = [{"TimeGenerated": "2026-11-30T08:41:00Z", "Kind": "action.succeeded",
                "Action": "disable_user", "Target": "dana.rossi@fabrikam.example"},
               {"TimeGenerated": "2026-11-30T08:41:01Z", "Kind": "action.succeeded",
                "Action": "revoke_sessions", "Target": "dana.rossi@fabrikam.example"}]

    await skills.exporter.send_logs(records)

    arrived = (await sandbox.get("/ingest/_records"))["records"]
    assert [r["record"] for r in arrived] == records
    assert {r["stream"] for r in arrived} == {"Custom-CordonAudit_CL"}


async def test_a_comment_lands_on_the_incident_once(skills, sandbox: Sandbox) -> None:
    message = "Cordon disabled dana.rossi@fabrikam.example (policy: auto)."

    first = await skills.commenter.comment(INCIDENT, message)
    again = await skills.commenter.comment(INCIDENT, message)

    assert first == again
    comments = await skills.api.call("arm", "GET", f"{INCIDENT}/comments",
                                     params={"api-version": "2024-09-01"})
    assert [c["properties"]["message"] for c in comments["value"]] == [message]
