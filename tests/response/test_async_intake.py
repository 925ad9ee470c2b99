"""A playbook that sends `Prefer: respond-async` gets 202 at once and polls for the result, the
way Logic Apps' HTTP action does; what Cordon decides and does is the same as when it answers
with the verdicts, and an accepted incident is never lost."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp

from response.intake import parse_incident, payload_hash
from tests.response.conftest import TOKEN, scenario

DANA = "dana.rossi@fabrikam.example"


async def post_async(cordon, payload: Any, *, prefer: str = "respond-async",
                     raw: bytes | None = None):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
               "Prefer": prefer}
    body = raw if raw is not None else json.dumps(payload).encode()
    async with cordon.session.post(f"{cordon.base}/api/incidents", data=body,
                                   headers=headers) as resp:
        return resp.status, resp.headers, await resp.json()


async def poll(cordon, location: str, timeout: float = 15.0) -> tuple[int, dict[str, Any]]:
    """What a Logic App does with a 202: GET the Location until it stops answering 202."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with cordon.session.get(location,
                                      headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
            body = await resp.json()
            if resp.status != 202:
                return resp.status, body
            assert resp.headers["Retry-After"] == "1"
        assert asyncio.get_running_loop().time() < deadline, f"still triaging: {body}"
        await asyncio.sleep(0.05)


async def user_enabled(cordon, upn: str) -> bool:
    user = await cordon.sandbox("GET", f"/graph/v1.0/users/{upn}?$select=accountEnabled")
    return user["accountEnabled"]


async def test_an_async_delivery_is_accepted_at_once_and_its_result_is_polled(cordon):
    status, headers, accepted = await post_async(cordon, scenario("impossible-travel-powershell"))

    assert status == 202, accepted
    assert headers["Preference-Applied"] == "respond-async"
    assert accepted["status"] == "triaging" and accepted["duplicate"] is False
    assert headers["Location"].startswith(f"{cordon.base}/api/incidents/")
    assert "?revision=" in headers["Location"]

    status, result = await poll(cordon, headers["Location"])
    assert status == 200, result
    assert result["incident_id"] == accepted["incident_id"]
    assert result["outcome"] == "contained"
    assert {a["action"]: a["verdict"] for a in result["actions"]}["disable_user"] == "auto"
    await cordon.settled(result["incident_id"])
    assert not await user_enabled(cordon, DANA)


async def test_an_async_redelivery_is_answered_from_the_record_and_acts_once(cordon):
    payload = scenario("impossible-travel-powershell")
    _, headers, _ = await post_async(cordon, payload)
    _, first = await poll(cordon, headers["Location"])
    await cordon.settled(first["incident_id"])

    status, _, again = await post_async(cordon, payload)

    assert status == 200 and again["duplicate"] is True
    assert again["outcome"] == first["outcome"]
    patches = [c for c in await cordon.calls()
               if c["method"] == "PATCH" and "/graph/v1.0/users/" in c["path"]]
    assert len(patches) == 1


async def test_a_redelivery_waiting_for_the_answer_gets_the_first_deliverys_result(cordon):
    payload = scenario("password-spray-ip")
    _, _, accepted = await post_async(cordon, payload)
    # Sentinel redelivers while the first delivery is still being triaged.
    status, answered = await cordon.post(payload)

    assert accepted["incident_id"] == answered["incident_id"]
    assert status == 200 and answered["duplicate"] is True
    assert answered["outcome"] == "contained"


async def test_bad_input_is_refused_at_once_even_when_asked_to_respond_async(cordon):
    payload = scenario("impossible-travel-powershell")
    payload["object"]["properties"]["incidentNumber"] = "forty-two"

    status, headers, body = await post_async(cordon, payload)
    malformed, _, _ = await post_async(cordon, None, raw=b'{"object": ')

    assert status == 422 and "incidentNumber" in body["message"]
    assert malformed == 400
    assert "Location" not in headers
    assert await cordon.engine.store.incidents.untriaged() == []


async def test_prefer_is_read_whatever_its_case_and_beside_other_preferences(cordon):
    status, headers, _ = await post_async(cordon, scenario("benign-vpn-signin"),
                                          prefer="wait=10, Respond-Async")
    assert status == 202
    status, result = await poll(cordon, headers["Location"])
    assert status == 200 and result["outcome"] == "no_action"


async def test_polling_a_revision_never_received_gets_404(cordon):
    _, headers, _ = await post_async(cordon, scenario("benign-vpn-signin"))
    await poll(cordon, headers["Location"])
    other = headers["Location"].split("?")[0] + "?revision=2020-01-01T00%3A00%3A00Z"

    async with cordon.session.get(other, headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert resp.status == 404
        assert "2020-01-01T00:00:00Z" in (await resp.json())["message"]


async def test_an_incident_accepted_by_a_process_that_died_is_triaged_by_the_sweep(cordon):
    body = json.dumps(scenario("impossible-travel-powershell")).encode()
    incident = parse_incident(json.loads(body))
    store = cordon.engine.store
    # As if another replica stored the delivery, answered 202 and died before triaging it.
    assert await store.incidents.claim(incident, payload_hash(body), payload=body.decode(),
                                       lease=timedelta(0))
    status, waiting = await cordon.get(incident.id)
    assert status == 202 and waiting["status"] == "triaging"

    # Two sweeps at once (two replicas): one of them takes it.
    taken = await asyncio.gather(cordon.engine.resume_untriaged(),
                                 cordon.engine.resume_untriaged())
    assert sorted(taken) == [0, 1]
    await cordon.engine.triage.drain(timeout=15)

    record = await cordon.settled(incident.id)
    assert record["outcome"] == "contained"
    assert not await user_enabled(cordon, DANA)
    received = [e for e in await store.audit.for_incident(incident.id)
                if e.kind == "incident received"]
    assert len(received) == 1


async def test_a_background_triage_that_breaks_is_escalated_with_its_error(cordon, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a policy context Cordon cannot build")

    monkeypatch.setattr(cordon.engine.decider, "decide", broken)

    _, headers, _ = await post_async(cordon, scenario("impossible-travel-powershell"))
    status, result = await poll(cordon, headers["Location"])

    assert status == 200
    assert result["outcome"] == "escalated" and result["actions"] == []
    assert "a policy context Cordon cannot build" in result["recommendation"]["error"]
    assert await user_enabled(cordon, DANA)
    failed = [e for e in await cordon.engine.store.audit.for_incident(result["incident_id"])
              if e.kind == "incident triage failed"]
    assert len(failed) == 1


async def test_a_storm_past_the_backlog_waits_in_the_database_and_is_all_triaged(
        tmp_path, database_url):
    from tests.response.conftest import Cordon, start_cordon

    # Two held in memory at most, one triaged at a time, each slowed by a slow directory, and
    # no recovery sweep to fall back on.
    runner, base, app = await start_cordon(
        tmp_path, database_url, CORDON_TRIAGE_CONCURRENCY=1, CORDON_TRIAGE_BACKLOG=2,
        CORDON_RECOVERY_INTERVAL=3600, CORDON_ENRICHMENT_CACHE=0)
    try:
        async with aiohttp.ClientSession() as session:
            cordon = Cordon(base, session, app)
            await cordon.sandbox("POST", "/_faults", {"method": "GET", "path": "/users/",
                                                      "latency_ms": 100})
            storm = []
            for n in range(12):
                payload = scenario("benign-vpn-signin")
                payload["object"]["id"] += f"-storm-{n}"
                payload["object"]["properties"]["incidentNumber"] = 90_000 + n
                storm.append(payload)
            accepted = await asyncio.gather(*(post_async(cordon, p) for p in storm))
            assert [status for status, _, _ in accepted] == [202] * 12

            results = [await poll(cordon, headers["Location"], timeout=60)
                       for _, headers, _ in accepted]
    finally:
        await runner.cleanup()

    assert [status for status, _ in results] == [200] * 12
    assert {result["outcome"] for _, result in results} == {"no_action"}
    assert len({result["incident_id"] for _, result in results}) == 12


async def test_a_plain_get_shows_the_current_record_while_a_new_revision_is_triaged(cordon):
    payload = scenario("benign-vpn-signin")
    _, first = await cordon.post(payload)
    newer = json.loads(json.dumps(payload))
    newer["object"]["properties"]["lastModifiedTimeUtc"] = "2030-01-01T00:00:00Z"
    body = json.dumps(newer).encode()
    incident = parse_incident(newer)
    # Another replica has taken the new revision and is triaging it.
    assert await cordon.engine.store.incidents.claim(incident, payload_hash(body),
                                                     payload=body.decode())

    status, current = await cordon.get(first["incident_id"])
    async with cordon.session.get(
            f"{cordon.base}/api/incidents/{first['incident_id']}",
            params={"revision": incident.revision},
            headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        newer_status, newer_body = resp.status, await resp.json()

    assert status == 200 and current["outcome"] == first["outcome"]
    assert newer_status == 202 and newer_body["revision"] == incident.revision
