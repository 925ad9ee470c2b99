"""A Sentinel incident that Defender XDR raised often reaches the playbook with no alerts and no
entities; Cordon reads them from the XDR incident in Microsoft Graph and responds as it would to
the whole incident."""

from __future__ import annotations

import copy

from tests.response.conftest import scenario
from tests.response.test_intake import GRAPH_INCIDENT


def _bare_xdr_incident(xdr_id: str) -> dict:
    """The ransomware scenario as Sentinel hands over an XDR incident: no alerts, no entities."""
    payload = copy.deepcopy(scenario("malware-workstation"))
    payload["object"]["id"] += "-xdr"
    props = payload["object"]["properties"]
    props.update(providerName="Microsoft XDR", providerIncidentId=xdr_id, relatedEntities=[],
                 alerts=[], description="")
    return payload


async def _isolation_of(cordon, dns_name: str) -> str:
    machines = await cordon.sandbox("GET", "/defender/api/machines")
    return next(m["isolationState"] for m in machines["value"]
                if m["computerDnsName"] == dns_name)


async def test_an_xdr_incident_without_entities_is_completed_from_graph_and_contained(cordon):
    await cordon.sandbox("POST", "/_security_incidents", GRAPH_INCIDENT)

    status, result = await cordon.post(_bare_xdr_incident(GRAPH_INCIDENT["id"]))

    assert status == 201, result
    assert result["outcome"] == "contained"
    verdicts = {(a["action"], a["target"]): a["verdict"] for a in result["actions"]}
    assert verdicts[("isolate_device", "fab-lt-0310.corp.fabrikam.example")] == "auto"
    await cordon.settled(result["incident_id"])
    assert await _isolation_of(cordon, "fab-lt-0310.corp.fabrikam.example") == "Isolated"

    record = await cordon.engine.record(result["incident_id"])
    assert record.incident.number == 4525  # still the Sentinel incident
    assert {e.key for e in record.incident.entities} >= {
        "fab-lt-0310.corp.fabrikam.example", "lena.fischer@fabrikam.example"}
    completed = [e async for e in cordon.runtime.store.audit.export(None)
                 if e["kind"] == "incident completed"]
    assert [e["data"]["xdr_incident"] for e in completed] == [GRAPH_INCIDENT["id"]]


async def test_an_xdr_incident_graph_does_not_know_is_triaged_with_what_came(cordon):
    status, result = await cordon.post(_bare_xdr_incident("999999"))

    assert status == 201, result
    assert result["actions"] == []
    record = await cordon.engine.record(result["incident_id"])
    assert [(f.lookup, f.entity) for f in record.enrichment.failures] == [
        ("Incidents.security_incident", "999999")]
    assert await _isolation_of(cordon, "fab-lt-0310.corp.fabrikam.example") == "NotIsolated"
