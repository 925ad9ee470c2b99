"""Identity responses and reads: what an analyst would see in Entra ID after Cordon acted."""

from __future__ import annotations

from tests.sandbox.conftest import DANA, DANA_ID

SELECT = "?$select=id,userPrincipalName,accountEnabled,department,signInSessionsValidFromDateTime"


async def test_disabled_user_reads_as_disabled_and_enable_restores_it(sandbox):
    async with sandbox.patch(f"/graph/v1.0/users/{DANA_ID}",
                             json={"accountEnabled": False}) as response:
        assert response.status == 204

    user = await sandbox.json("GET", f"/graph/v1.0/users/{DANA}{SELECT}")
    assert user["accountEnabled"] is False

    async with sandbox.patch(f"/graph/v1.0/users/{DANA}", json={"accountEnabled": True}) as r:
        assert r.status == 204
    user = await sandbox.json("GET", f"/graph/v1.0/users/{DANA_ID}{SELECT}")
    assert user["accountEnabled"] is True


async def test_user_principal_name_is_matched_without_regard_to_case(sandbox):
    user = await sandbox.json("GET", "/graph/v1.0/users/Dana.Rossi@Fabrikam.Example")
    assert user["id"] == DANA_ID

    found = await sandbox.json(
        "GET", "/graph/v1.0/users?$filter=userPrincipalName eq 'DANA.ROSSI@fabrikam.example'")
    assert [u["id"] for u in found["value"]] == [DANA_ID]
    assert found["@odata.context"].endswith("$metadata#users")


async def test_user_read_without_select_gives_graph_defaults_only(sandbox):
    user = await sandbox.json("GET", f"/graph/v1.0/users/{DANA_ID}")
    assert user["displayName"] == "Dana Rossi"
    assert "accountEnabled" not in user and "department" not in user
    assert "managerId" not in user

    selected = await sandbox.json("GET", f"/graph/v1.0/users/{DANA_ID}{SELECT}")
    assert selected["department"] == "Sales"


async def test_revoking_sessions_moves_the_sessions_valid_from_time(sandbox):
    before = await sandbox.json("GET", f"/graph/v1.0/users/{DANA_ID}{SELECT}")
    assert before["signInSessionsValidFromDateTime"] is None

    answer = await sandbox.json("POST", f"/graph/v1.0/users/{DANA_ID}/revokeSignInSessions")
    assert answer["value"] is True

    after = await sandbox.json("GET", f"/graph/v1.0/users/{DANA_ID}{SELECT}")
    assert after["signInSessionsValidFromDateTime"].endswith("Z")


async def test_finance_membership_and_manager_are_visible(sandbox):
    priya = "priya.natarajan@fabrikam.example"
    groups = await sandbox.json("GET", f"/graph/v1.0/users/{priya}/transitiveMemberOf")
    names = {g["displayName"] for g in groups["value"]}
    assert {"Finance", "All Staff"} <= names
    assert all(g["@odata.type"] == "#microsoft.graph.group" for g in groups["value"])

    manager = await sandbox.json("GET", f"/graph/v1.0/users/{priya}/manager")
    assert manager["userPrincipalName"] == "olivia.grant@fabrikam.example"
    assert manager["@odata.type"] == "#microsoft.graph.user"

    members = await sandbox.json("GET", "/graph/v1.0/groups/96fce50c-5ee7-561d-9238-4a0397ce9695"
                                        "/members")
    assert {m["displayName"] for m in members["value"]} == {"Alex Wilber", "Megan Bowen"}


async def test_user_without_manager_gets_graph_not_found(sandbox):
    body = await sandbox.json("GET", "/graph/v1.0/users/meganb@fabrikam.example/manager",
                              status=404)
    assert body["error"]["code"] == "Request_ResourceNotFound"


async def test_sign_ins_filter_by_user_newest_first_and_paged(sandbox):
    path = f"/graph/v1.0/auditLogs/signIns?$filter=userId eq '{DANA_ID}'"
    everything = await sandbox.json("GET", path)
    times = [s["createdDateTime"] for s in everything["value"]]
    assert times and times == sorted(times, reverse=True)
    assert {s["userPrincipalName"] for s in everything["value"]} == {DANA}
    assert "203.0.113.77" in {s["ipAddress"] for s in everything["value"]}

    first = await sandbox.json("GET", path + "&$top=1")
    assert len(first["value"]) == 1
    if len(everything["value"]) > 1:
        assert "$skiptoken=1" in first["@odata.nextLink"]

    by_upn = await sandbox.json(
        "GET", f"/graph/v1.0/auditLogs/signIns?$filter=userPrincipalName eq '{DANA}'&$top=50")
    assert len(by_upn["value"]) == len(everything["value"])


async def test_unsupported_filter_is_a_graph_bad_request(sandbox):
    body = await sandbox.json("GET", "/graph/v1.0/auditLogs/signIns?$filter=userId has 'x'",
                              status=400)
    assert body["error"]["code"] == "BadRequest"
    assert "innerError" in body["error"]


async def test_confirm_compromised_then_dismiss_changes_identity_protection_risk(sandbox):
    path = f"/graph/v1.0/identityProtection/riskyUsers/{DANA_ID}"
    assert (await sandbox.json("GET", path))["riskState"] == "atRisk"

    async with sandbox.post("/graph/v1.0/identityProtection/riskyUsers/confirmCompromised",
                            json={"userIds": [DANA_ID]}) as response:
        assert response.status == 204
    confirmed = await sandbox.json("GET", path)
    assert (confirmed["riskState"], confirmed["riskLevel"]) == ("confirmedCompromised", "high")

    async with sandbox.post("/graph/v1.0/identityProtection/riskyUsers/dismiss",
                            json={"userIds": [DANA_ID]}) as response:
        assert response.status == 204
    dismissed = await sandbox.json("GET", path)
    assert (dismissed["riskState"], dismissed["riskLevel"]) == ("dismissed", "none")


async def test_unknown_user_and_bad_patch_are_refused_in_graph_shape(sandbox):
    missing = await sandbox.json("GET", "/graph/v1.0/users/nobody@fabrikam.example", status=404)
    assert missing["error"]["code"] == "Request_ResourceNotFound"

    not_json = await sandbox.json("PATCH", f"/graph/v1.0/users/{DANA_ID}", status=400,
                                  data=b"{not json", headers={"Content-Type": "application/json"})
    assert not_json["error"]["code"] == "BadRequest"

    wrong_type = await sandbox.json("PATCH", f"/graph/v1.0/users/{DANA_ID}", status=400,
                                    json={"accountEnabled": "no"})
    assert "accountEnabled" in wrong_type["error"]["message"]


async def test_host_reputation_reads_threat_intelligence(sandbox):
    spray = await sandbox.json(
        "GET", "/graph/v1.0/security/threatIntelligence/hosts/203.0.113.45/reputation")
    assert (spray["classification"], spray["score"]) == ("malicious", 88)
    assert spray["rules"][0]["name"] == "Password-spray source"

    unknown = await sandbox.json(
        "GET", "/graph/v1.0/security/threatIntelligence/hosts/198.51.100.9/reputation")
    assert (unknown["classification"], unknown["score"]) == ("unknown", 0)
