"""Enrichment of the shared scenarios against the sandboxed Fabrikam tenant."""

from __future__ import annotations

import time

from core.models import Entity, EntityKind, Incident
from skills.kernel import CordonSkills
from tests.skills.conftest import Sandbox, scenario_incident

DANA = "dana.rossi@fabrikam.example"
DANA_LAPTOP = "fab-lt-0193.corp.fabrikam.example"


async def test_impossible_travel_shows_dana_at_risk_from_a_malicious_address(
        skills: CordonSkills) -> None:
    enrichment = await skills.enricher.enrich(scenario_incident("impossible-travel-powershell"))

    assert enrichment.failures == []
    dana = enrichment.users[DANA]
    assert dana.found and dana.user["department"]
    assert "All Staff" in dana.groups
    assert dana.risk_level == "high"
    cities = {s["location"]["city"] for s in dana.sign_ins}
    assert {"Milan", "Sao Paulo"} <= cities
    assert not dana.is_vip and not dana.is_admin

    laptop = enrichment.devices[DANA_LAPTOP]
    assert laptop.found and laptop.id == "02aac78eab1f548b862df77bdb84eb3b00000000"
    assert laptop.machine_tags == ["Workstation"] and not laptop.is_critical

    address = enrichment.ips["203.0.113.77"]
    assert address.reputation == "malicious" and address.score == 91
    assert not address.internal and not address.is_critical


async def test_enrichment_of_one_incident_takes_well_under_300_ms(skills: CordonSkills) -> None:
    incident = scenario_incident("impossible-travel-powershell")
    await skills.enricher.enrich(incident)

    started = time.perf_counter()
    await skills.enricher.enrich(incident)

    assert time.perf_counter() - started < 0.3


async def test_a_failing_risk_lookup_is_recorded_and_the_rest_still_arrives(
        skills: CordonSkills, sandbox: Sandbox) -> None:
    await sandbox.fault(path="identityProtection/riskyUsers", status=500)

    enrichment = await skills.enricher.enrich(scenario_incident("impossible-travel-powershell"))

    [failure] = enrichment.failures
    assert failure.lookup == "Identity.risky_user" and failure.entity == DANA
    assert "500" in failure.error
    dana = enrichment.users[DANA]
    assert dana.risk_level == "none"
    assert "All Staff" in dana.groups and dana.sign_ins
    assert enrichment.devices[DANA_LAPTOP].found
    assert enrichment.ips["203.0.113.77"].reputation == "malicious"


async def test_a_hanging_reputation_lookup_times_out_without_holding_up_the_rest(
        skills: CordonSkills, sandbox: Sandbox) -> None:
    await sandbox.fault(path="threatIntelligence", timeout=True, hang_s=5)
    skills.enricher._timeout_s = 0.3

    started = time.perf_counter()
    enrichment = await skills.enricher.enrich(scenario_incident("impossible-travel-powershell"))

    assert time.perf_counter() - started < 2
    [failure] = enrichment.failures
    assert failure.lookup == "ThreatIntel.ip_reputation" and "timed out" in failure.error
    assert enrichment.ips["203.0.113.77"].reputation == "unknown"
    assert enrichment.users[DANA].risk_level == "high"


async def test_finance_signatory_is_a_vip(skills: CordonSkills) -> None:
    enrichment = await skills.enricher.enrich(scenario_incident("finance-impossible-travel"))

    priya = enrichment.users["priya.natarajan@fabrikam.example"]
    assert priya.is_vip and "Finance" in priya.groups
    assert enrichment.ips["198.51.100.23"].reputation == "suspicious"


async def test_sql_server_and_its_subnet_are_critical_and_internal_addresses_stay_inside(
        skills: CordonSkills, sandbox: Sandbox) -> None:
    enrichment = await skills.enricher.enrich(scenario_incident("c2-from-sql-server"))

    server = enrichment.devices["fab-sql-01.corp.fabrikam.example"]
    assert server.is_critical and "Tier0" in server.machine_tags
    inside = enrichment.ips["10.0.1.20"]
    assert inside.internal and inside.is_critical and inside.reputation == "internal"
    assert "CriticalAssets" in inside.watchlists


async def test_corporate_vpn_egress_is_on_its_watchlist(skills: CordonSkills) -> None:
    enrichment = await skills.enricher.enrich(scenario_incident("benign-vpn-signin"))

    vpn = enrichment.ips["192.0.2.10"]
    assert vpn.watchlists == ["KnownVPNEgress"] and vpn.reputation == "neutral"
    assert not vpn.internal


async def test_privileged_accounts_are_admins(skills: CordonSkills) -> None:
    spray = await skills.enricher.enrich(scenario_incident("password-spray-ip"))
    glass = await skills.enricher.enrich(scenario_incident("breakglass-signin"))

    assert spray.users["marcus.lee@fabrikam.example"].is_admin
    assert glass.users["breakglass01@fabrikam.example"].is_admin


async def test_phishing_campaign_shows_each_delivered_copy_and_the_phishing_host(
        skills: CordonSkills) -> None:
    enrichment = await skills.enricher.enrich(scenario_incident("phishing-campaign"))

    assert enrichment.failures == []
    assert len(enrichment.mails) == 5 and all(m.found for m in enrichment.mails.values())
    sara = enrichment.mails["aafd294e-fce8-51d9-b452-250fb756a312"]
    assert sara.message["recipientEmailAddress"] == "sara.kim@fabrikam.example"
    assert sara.message["latestDelivery"]["location"] == "inbox_folder"
    assert enrichment.hosts["contoso-pay.example"].reputation == "malicious"


async def test_consent_phish_shows_the_unverified_app_and_its_grants(
        skills: CordonSkills) -> None:
    enrichment = await skills.enricher.enrich(scenario_incident("oauth-consent-phish"))

    app = enrichment.apps["7ffa898c-6815-5e8f-80d9-dee7b7308fe3"]
    assert app.found and app.service_principal["displayName"] == "MailSync Pro"
    assert {g["id"] for g in app.grants} == {"grant-mailsync-sara", "grant-mailsync-tomas"}


async def test_an_account_known_only_by_its_upn_still_gets_its_sign_ins_and_risk(
        skills: CordonSkills) -> None:
    incident = Incident(id="graph-incident-1", title="Risky sign-in", entities=[
        Entity(kind=EntityKind.ACCOUNT, raw_kind="Account", key=DANA,
               properties={"accountName": "dana.rossi", "upnSuffix": "fabrikam.example"}),
        Entity(kind=EntityKind.HOST, raw_kind="Host", key=DANA_LAPTOP,
               properties={"hostName": "FAB-LT-0193", "dnsDomain": "corp.fabrikam.example"}),
    ])

    enrichment = await skills.enricher.enrich(incident)

    dana = enrichment.users[DANA]
    assert dana.id == "2a1dd265-08e6-501d-ba11-714c72faf66f"
    assert dana.risk_level == "high" and len(dana.sign_ins) >= 2
    assert enrichment.devices[DANA_LAPTOP].id == "02aac78eab1f548b862df77bdb84eb3b00000000"
