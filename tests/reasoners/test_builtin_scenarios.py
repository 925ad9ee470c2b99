"""The built-in reasoner on every shared scenario: what it proposes, how sure it is, and why."""

from __future__ import annotations

import ipaddress
import re

import pytest

from core.models import Recommendation
from skills.builtin_reasoner import BuiltinReasoner
from skills.reasoning_targets import allowed_targets

SCENARIOS = [
    "benign-vpn-signin", "breakglass-signin", "c2-from-sql-server", "finance-impossible-travel",
    "impossible-travel-powershell", "malware-workstation", "oauth-consent-phish",
    "password-spray-ip", "phishing-campaign", "prompt-injection-in-title",
]
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


@pytest.fixture
def recommend(scenario, enricher):
    async def run(name: str) -> Recommendation:
        incident = scenario(name)
        return await BuiltinReasoner().recommend(incident, enricher.enrich(incident))
    return run


def proposed(recommendation: Recommendation) -> set[tuple[str, str]]:
    return {(a.action, a.target) for a in recommendation.actions}


def is_private(target: str) -> bool:
    try:
        address = ipaddress.ip_address(target)
    except ValueError:
        return False
    return any(address in network for network in PRIVATE)


def test_every_shared_scenario_is_covered(scenario_names, expected):
    assert sorted(SCENARIOS) == scenario_names
    assert set(expected) == set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
async def test_scenario_gets_the_proposals_it_needs(name, recommend, expected):
    recommendation = await recommend(name)
    wanted = expected[name].get("propose", [])

    for item in wanted:
        matches = [a for a in recommendation.actions if a.action == item["action"]
                   and ("target" not in item or a.target == item["target"])]
        assert matches, f"{name}: expected {item} among {proposed(recommendation)}"
    if any(item.get("verdict") == "auto" for item in wanted):
        assert recommendation.confidence >= 0.85
    if wanted:
        assert recommendation.confidence >= 0.5, "a real threat must not be escalated as unsure"
    assert recommendation.error is None
    assert recommendation.reasoner == "builtin"


@pytest.mark.parametrize("name", SCENARIOS)
async def test_scenario_never_aims_at_internal_addresses_or_strangers(name, recommend, scenario,
                                                                      enricher, expected):
    recommendation = await recommend(name)
    incident = scenario(name)
    allowed = allowed_targets(incident, enricher.enrich(incident))

    for item in expected[name].get("never", []):
        if is_private(item["target"]) or item["target"] not in allowed:
            assert (item["action"], item["target"]) not in proposed(recommendation)
    assert all(not is_private(a.target) for a in recommendation.actions)
    assert all(a.target in allowed for a in recommendation.actions)


@pytest.mark.parametrize("name", SCENARIOS)
async def test_every_sentence_of_the_rationale_cites_evidence_that_exists(name, recommend):
    recommendation = await recommend(name)
    ids = {e.id for e in recommendation.evidence}

    sentences = [s for s in re.split(r"(?<=\.)\s+", recommendation.rationale) if s]
    assert sentences
    for sentence in sentences:
        cited = re.findall(r"\[(E\d+)\]", sentence)
        assert cited, f"uncited sentence: {sentence!r}"
        assert set(cited) <= ids
    for action in recommendation.actions:
        assert action.evidence and set(action.evidence) <= ids
        assert re.search(r"\[E\d+\]", action.rationale)
    assert all(e.source for e in recommendation.evidence)


async def test_dana_is_contained_and_her_attacker_blocked_with_high_confidence(recommend):
    recommendation = await recommend("impossible-travel-powershell")

    assert proposed(recommendation) == {
        ("disable_user", "dana.rossi@fabrikam.example"),
        ("revoke_sessions", "dana.rossi@fabrikam.example"),
        ("block_ip", "203.0.113.77"),
    }
    assert recommendation.confidence >= 0.9
    sources = {e.source for e in recommendation.evidence}
    assert {"graph.riskyUsers", "graph.signIns", "threatIntelligence"} <= sources
    travel = next(e for e in recommendation.evidence if "km/h" in e.fact)
    assert "Milan" in travel.fact and "Sao Paulo" in travel.fact


async def test_dana_laptop_is_not_isolated_without_spreading_or_destructive_behaviour(recommend):
    recommendation = await recommend("impossible-travel-powershell")

    assert not [a for a in recommendation.actions if a.action == "isolate_device"]
    assert "FAB-LT-0193" in recommendation.rationale


async def test_finance_controller_contained_with_confidence_for_automatic_revoke(recommend):
    recommendation = await recommend("finance-impossible-travel")

    assert ("revoke_sessions", "priya.natarajan@fabrikam.example") in proposed(recommendation)
    assert recommendation.confidence >= 0.85
    assert ("block_ip", "198.51.100.23") not in proposed(recommendation), (
        "a suspicious anonymising proxy is not blocked on identity evidence alone")
    assert any(e.source == "watchlist.VIPUsers" for e in recommendation.evidence)


async def test_password_spray_blocks_the_source_and_spares_the_targeted_admin(recommend):
    recommendation = await recommend("password-spray-ip")

    assert proposed(recommendation) == {("block_ip", "203.0.113.45")}
    assert recommendation.confidence >= 0.85
    spray = next(e for e in recommendation.evidence if e.source == "graph.signIns")
    assert "25 failed sign-ins" in spray.fact and "0 succeeded" in spray.fact
    assert "Marcus Lee, so the account is not disabled" in recommendation.rationale


async def test_ransomware_laptop_isolated_and_its_file_blocked(recommend):
    recommendation = await recommend("malware-workstation")
    by_action = {a.action: a for a in recommendation.actions}

    assert by_action["isolate_device"].target == "fab-lt-0310.corp.fabrikam.example"
    assert by_action["isolate_device"].parameters["machineId"] == (
        "48422845ebff57eb88a3fc68a75ac99e00000000")
    block = by_action["block_indicator"]
    assert block.target.startswith("9f2c4e1ab07d3c55")
    assert block.parameters["indicatorType"] == "FileSha256"
    assert "stop_and_quarantine_file" not in by_action, (
        "Defender's StopAndQuarantineFile takes a SHA-1; the incident only has a SHA-256")
    assert "disable_user" not in by_action, "the laptop's user shows no sign of compromise"


async def test_beaconing_server_isolated_and_only_its_external_peer_blocked(recommend):
    recommendation = await recommend("c2-from-sql-server")

    assert proposed(recommendation) == {
        ("isolate_device", "fab-sql-01.corp.fabrikam.example"),
        ("block_ip", "198.51.100.23"),
    }
    assert "10.0.1.20 is internal and is not blocked" in recommendation.rationale
    assert recommendation.risk_score >= 80, "a Tier0 server raises the stakes"


async def test_phishing_campaign_purged_in_one_action_listing_every_message(recommend, scenario):
    recommendation = await recommend("phishing-campaign")
    purges = [a for a in recommendation.actions if a.action == "purge_email"]
    mails = [e for e in scenario("phishing-campaign").entities if e.raw_kind == "MailMessage"]

    assert len(purges) == 1
    purge = purges[0]
    assert purge.target == "billing@contoso-pay.example"
    assert purge.count == 5
    assert {(m["networkMessageId"], m["recipientEmailAddress"])
            for m in purge.parameters["messages"]} == {
        (m.key, m.properties["recipient"]) for m in mails}
    block = next(a for a in recommendation.actions if a.action == "block_indicator")
    assert block.target == "contoso-pay.example"
    assert block.parameters["indicatorType"] == "DomainName"


async def test_unverified_mail_app_loses_its_consent_grants(recommend):
    recommendation = await recommend("oauth-consent-phish")

    assert len(recommendation.actions) == 1
    revoke = recommendation.actions[0]
    assert revoke.action == "revoke_app_consent"
    assert revoke.target == "7ffa898c-6815-5e8f-80d9-dee7b7308fe3"
    assert revoke.parameters == {
        "servicePrincipalId": "901e47fd-8539-5df8-b309-3bb0b09e8fb0",
        "grantIds": ["grant-mailsync-sara", "grant-mailsync-tomas"],
    }
    assert revoke.count == 2
    assert recommendation.confidence >= 0.5


async def test_breakglass_sign_in_is_proposed_for_the_policy_to_deny(recommend):
    recommendation = await recommend("breakglass-signin")

    assert ("disable_user", "breakglass01@fabrikam.example") in proposed(recommendation)
    assert 0.5 <= recommendation.confidence < 0.85


async def test_benign_vpn_sign_in_proposes_nothing_and_says_why(recommend):
    recommendation = await recommend("benign-vpn-signin")

    assert recommendation.actions == []
    assert recommendation.risk_score <= 20
    sources = {e.source for e in recommendation.evidence}
    assert "watchlist.KnownVPNEgress" in sources
    assert "no action is proposed" in recommendation.rationale
