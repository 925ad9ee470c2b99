"""An incident whose entities name one account or machine and carry another's object id is
judged, and acted on, as the object it names; the disagreement is recorded and nothing runs
without a human. Otherwise a crafted entity could borrow a harmless account's facts (a Sales
user) for an action on a guarded one (a Finance user), or a workstation's for a Tier0 server."""

from __future__ import annotations

import copy

from core.models import Enrichment, ProposedAction, Recommendation, UserFacts
from policy import Usage, load_policy_text
from response.decisions import Decider, known_targets
from response.intake import parse_incident
from tests.response.conftest import scenario

DANA_ID = "2a1dd265-08e6-501d-ba11-714c72faf66f"
NOAH = "noah.brooks@fabrikam.example"
LAPTOP_ID = "48422845ebff57eb88a3fc68a75ac99e00000000"  # FAB-LT-0310, a plain workstation
PERMISSIVE = """
autonomous_response_policy:
  allowed_actions: [disable_user, revoke_sessions, isolate_device]
"""


def _renamed(name: str, kind: str, **properties: str) -> dict:
    """The scenario with its `kind` entity's properties changed, under a new incident id."""
    payload = copy.deepcopy(scenario(name))
    payload["object"]["id"] += "-renamed"
    for entity in payload["object"]["properties"]["relatedEntities"]:
        if entity["kind"] == kind:
            entity["properties"].update(properties)
    return payload


async def _user(cordon, upn: str) -> dict:
    return await cordon.sandbox("GET", f"/graph/v1.0/users/{upn}?$select=accountEnabled")


async def test_an_account_named_noah_with_danas_id_is_judged_as_noah_and_disables_nobody(cordon):
    payload = _renamed("impossible-travel-powershell", "Account", accountName="noah.brooks")

    status, result = await cordon.post(payload)
    assert status == 201, result
    record = await cordon.settled(result["incident_id"])

    on_accounts = [a for a in record["actions"]
                   if a["action"] in ("disable_user", "revoke_sessions")]
    assert all(a["verdict"] != "auto" for a in on_accounts), on_accounts
    assert (await _user(cordon, NOAH))["accountEnabled"] is True
    assert (await _user(cordon, "dana.rossi@fabrikam.example"))["accountEnabled"] is True
    assert not [c for c in await cordon.calls() if "/graph/v1.0/users/" in c["path"]]

    stored = await cordon.engine.record(result["incident_id"])
    facts = stored.enrichment.users[NOAH]
    assert facts.user["department"] == "Finance"  # Noah's own facts, not Dana's
    assert "dana.rossi@fabrikam.example" in facts.conflict
    assert any(f.entity == NOAH and DANA_ID in f.error for f in stored.enrichment.failures)


async def test_a_host_named_for_a_tier0_server_with_a_laptops_id_isolates_nothing(cordon):
    payload = _renamed("malware-workstation", "Host", hostName="FAB-SQL-01",
                       friendlyName="FAB-SQL-01")

    status, result = await cordon.post(payload)
    assert status == 201, result
    record = await cordon.settled(result["incident_id"])

    isolations = [a for a in record["actions"] if a["action"] == "isolate_device"]
    assert all(a["verdict"] in ("denied", "approval") for a in isolations), isolations
    assert not [c for c in await cordon.calls() if c["path"].endswith("/isolate")]
    machines = await cordon.sandbox("GET", "/defender/api/machines")
    isolated = [m["computerDnsName"] for m in machines["value"]
                if m.get("isolationState") == "Isolated"]
    assert isolated == []

    stored = await cordon.engine.record(result["incident_id"])
    facts = stored.enrichment.devices["fab-sql-01.corp.fabrikam.example"]
    assert "Tier0" in facts.machine_tags  # the server's own tags, so the policy sees them
    assert "fab-lt-0310" in facts.conflict and facts.id != LAPTOP_ID


def _decide(enrichment: Enrichment, target: str):
    incident = parse_incident(scenario("impossible-travel-powershell"))
    policy = load_policy_text(PERMISSIVE)
    recommendation = Recommendation(confidence=0.97, risk_score=90, rationale="test",
                                    reasoner="test")
    decider = Decider(store=None, policy_source=lambda: policy)
    return decider.decide(incident, enrichment, recommendation,
                          ProposedAction(action="disable_user", target=target),
                          Usage.nothing_executed(policy), known_targets(incident, enrichment))


def test_an_account_enrichment_could_not_find_is_never_disabled_on_its_own():
    dana = "dana.rossi@fabrikam.example"
    found = Enrichment(users={dana: UserFacts(upn=dana, id=DANA_ID, found=True,
                                               user={"id": DANA_ID, "department": "Sales"})})
    missing = Enrichment(users={dana: UserFacts(upn=dana, id=DANA_ID)})
    disputed = Enrichment(users={dana: found.users[dana].model_copy(
        update={"conflict": f"the entity names {dana} but its aadUserId is someone else"})})

    assert _decide(found, dana).verdict == "auto"
    for enrichment in (missing, disputed):
        verdict = _decide(enrichment, dana)
        assert verdict.verdict == "approval", verdict
        assert verdict.rules == ["targets"]
        assert dana in verdict.reasons[0]
