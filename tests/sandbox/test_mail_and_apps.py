"""Mail purge and app consent responses, and the Graph security incident read."""

from __future__ import annotations

SARA_MAIL = {"networkMessageId": "aafd294e-fce8-51d9-b452-250fb756a312",
             "recipientEmailAddress": "sara.kim@fabrikam.example"}
SARA_MAIL_ID = "77bb1111-e230-565a-83da-5f59c47f154c"
MAILSYNC_SP = "901e47fd-8539-5df8-b309-3bb0b09e8fb0"
MAILSYNC_APP = "7ffa898c-6815-5e8f-80d9-dee7b7308fe3"
EMAILS = "/graph/v1.0/security/collaboration/analyzedEmails"


def remediation(action: str, *messages: dict) -> dict:
    return {"displayName": "Cordon: phishing campaign", "description": "Invoice 88213",
            "severity": "high", "action": action, "remediateSendersCopy": False,
            "analyzedEmails": list(messages)}


async def location(sandbox, message_id: str) -> str:
    return (await sandbox.json("GET", f"{EMAILS}/{message_id}"))["latestDelivery"]["location"]


async def test_soft_deleted_phish_leaves_the_inbox_and_move_to_inbox_restores_it(sandbox):
    async with sandbox.post(f"{EMAILS}/remediate", json=remediation("softDelete", SARA_MAIL)) as r:
        assert r.status == 202
    assert await location(sandbox, SARA_MAIL_ID) == "deletedFolder"

    async with sandbox.post(f"{EMAILS}/remediate", json=remediation("moveToInbox", SARA_MAIL)):
        pass
    assert await location(sandbox, SARA_MAIL_ID) == "inbox_folder"


async def test_remediation_actions_land_where_defender_says(sandbox):
    for action, expected in (("moveToJunk", "junkFolder"), ("moveToDeletedItems", "deletedFolder"),
                             ("hardDelete", "deletedFolder")):
        await sandbox.json("POST", f"{EMAILS}/remediate", status=202,
                           json=remediation(action, SARA_MAIL))
        assert await location(sandbox, SARA_MAIL_ID) == expected

    await sandbox.json("POST", f"{EMAILS}/remediate", status=202,
                       json=remediation("moveToInbox", SARA_MAIL))
    assert await location(sandbox, SARA_MAIL_ID) == "deletedFolder"


async def test_campaign_messages_are_found_by_filter(sandbox):
    found = await sandbox.json(
        "GET", f"{EMAILS}?$filter=senderDetail/fromAddress eq 'billing@contoso-pay.example'")
    assert len(found["value"]) >= 2
    one = await sandbox.json(
        "GET", f"{EMAILS}?$filter=networkMessageId eq '{SARA_MAIL['networkMessageId']}' and "
               f"recipientEmailAddress eq 'sara.kim@fabrikam.example'")
    assert [m["id"] for m in one["value"]] == [SARA_MAIL_ID]


async def test_remediating_an_unknown_message_or_action_is_refused(sandbox):
    unknown = {"networkMessageId": "nope", "recipientEmailAddress": "sara.kim@fabrikam.example"}
    body = await sandbox.json("POST", f"{EMAILS}/remediate", status=400,
                              json=remediation("softDelete", unknown))
    assert "nope" in body["error"]["message"]
    await sandbox.json("POST", f"{EMAILS}/remediate", status=400,
                       json=remediation("shred", SARA_MAIL))
    assert await location(sandbox, SARA_MAIL_ID) == "inbox_folder"


async def test_revoked_consent_is_gone_and_recreating_it_brings_it_back(sandbox):
    principal = await sandbox.json(
        "GET", f"/graph/v1.0/servicePrincipals?$filter=appId eq '{MAILSYNC_APP}'")
    assert [p["id"] for p in principal["value"]] == [MAILSYNC_SP]
    by_app_id = await sandbox.json("GET", f"/graph/v1.0/servicePrincipals(appId='{MAILSYNC_APP}')")
    assert by_app_id["displayName"] == "MailSync Pro"

    grants = await sandbox.json(
        "GET", f"/graph/v1.0/servicePrincipals/{MAILSYNC_SP}/oauth2PermissionGrants")
    saved = grants["value"]
    assert len(saved) == 2
    for grant in saved:
        async with sandbox.delete(f"/graph/v1.0/oauth2PermissionGrants/{grant['id']}") as r:
            assert r.status == 204
    remaining = await sandbox.json(
        "GET", f"/graph/v1.0/oauth2PermissionGrants?$filter=clientId eq '{MAILSYNC_SP}'")
    assert remaining["value"] == []

    for grant in saved:
        copy = {k: v for k, v in grant.items() if k != "id"}
        created = await sandbox.json("POST", "/graph/v1.0/oauth2PermissionGrants", status=201,
                                     json=copy)
        assert created["scope"] == grant["scope"] and created["id"] != grant["id"]
    restored = await sandbox.json(
        "GET", f"/graph/v1.0/oauth2PermissionGrants?$filter=clientId eq '{MAILSYNC_SP}'")
    assert {g["principalId"] for g in restored["value"]} == {g["principalId"] for g in saved}


async def test_duplicate_grant_conflicts(sandbox):
    grant = await sandbox.json("GET", "/graph/v1.0/oauth2PermissionGrants/grant-mailsync-sara")
    copy = {k: v for k, v in grant.items() if k not in ("id", "@odata.context")}
    body = await sandbox.json("POST", "/graph/v1.0/oauth2PermissionGrants", status=409, json=copy)
    assert "grant-mailsync-sara" in body["error"]["message"]


async def test_registered_graph_incident_is_served_with_alerts_on_expand(sandbox):
    await sandbox.json("GET", "/graph/v1.0/security/incidents/29", status=404)
    async with sandbox.post("/_security_incidents", auth=False, json={
        "id": "29", "displayName": "Phishing campaign", "severity": "high", "status": "active",
        "alerts": [{"id": "da1", "title": "Phish delivered", "evidence": [
            {"@odata.type": "#microsoft.graph.security.ipEvidence",
             "ipAddress": "203.0.113.91"}]}],
    }) as response:
        assert response.status == 201

    bare = await sandbox.json("GET", "/graph/v1.0/security/incidents/29")
    assert bare["displayName"] == "Phishing campaign" and "alerts" not in bare
    expanded = await sandbox.json("GET", "/graph/v1.0/security/incidents/29?$expand=alerts")
    assert expanded["alerts"][0]["evidence"][0]["ipAddress"] == "203.0.113.91"
