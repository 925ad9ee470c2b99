"""The policy's rollout modes and circuit breakers as the SOC meets them: counted in the
database, turning `auto` into `approval` (never the reverse), with reasons naming the rule."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.response.conftest import POLICY, Cordon, Held, scenario, start_cordon

ROOT_POLICY = POLICY.parents[2] / "main" / "policy" / "default.yaml"
MEGAN = "00000000-0000-0000-0000-0000000000021"
ADELE = "00000000-0000-0000-0000-0000000000022"


def variant(tmp_path, old: str, new: str):
    text = POLICY.read_text()
    assert old in text, old
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new))
    return path


@pytest.fixture
async def open_cordon(tmp_path, database_url):
    runners = []

    async def start(policy) -> Cordon:
        runner, base, app = await start_cordon(tmp_path, database_url, policy=policy)
        session = aiohttp.ClientSession()
        runners.append((runner, session))
        return Cordon(base, session, app)

    yield start
    for runner, session in runners:
        await session.close()
        await runner.cleanup()


def by_action(result: dict) -> dict[str, dict]:
    return {a["action"]: a for a in result["actions"]}


async def test_a_reached_limit_sends_the_next_disable_for_approval(tmp_path, open_cordon):
    policy = variant(tmp_path, "    - action: disable_user\n      max: 10",
                     "    - action: disable_user\n      max: 1")
    cordon = await open_cordon(policy)
    _, first = await cordon.post(scenario("impossible-travel-powershell"))
    await cordon.settled(first["incident_id"])
    assert by_action(first)["disable_user"]["verdict"] == "auto"

    _, second = await cordon.post(scenario("prompt-injection-in-title"))
    disable = by_action(second)["disable_user"]
    assert disable["verdict"] == "approval"
    assert any("limits[0]" in reason for reason in disable["reasons"]), disable["reasons"]
    assert by_action(second)["revoke_sessions"]["verdict"] == "auto"


async def test_two_automatic_runs_racing_for_a_limits_last_place_get_one(tmp_path,
                                                                          open_cordon):
    policy = variant(tmp_path, "    - action: disable_user\n      max: 10",
                     "    - action: disable_user\n      max: 1")
    cordon = await open_cordon(policy)
    held = Held(cordon.engine.executor)
    _, first = await cordon.post(scenario("impossible-travel-powershell"))
    _, second = await cordon.post(scenario("prompt-injection-in-title"))
    assert by_action(first)["disable_user"]["verdict"] == "auto"
    assert by_action(second)["disable_user"]["verdict"] == "auto"

    # Both were judged before either ran; now they are claimed at the same moment.
    await asyncio.gather(*held.coroutines)

    disables = [by_action(await cordon.settled(r["incident_id"]))["disable_user"]
                for r in (first, second)]
    assert sorted(d["status"] for d in disables) == ["pending_approval", "succeeded"]
    waiting = next(d for d in disables if d["status"] == "pending_approval")
    assert any("limits[0]" in reason for reason in waiting["reasons"]), waiting["reasons"]
    patches = [c for c in await cordon.calls()
               if c["method"] == "PATCH" and "/graph/v1.0/users/" in c["path"]]
    assert len(patches) == 1


async def test_cool_off_pauses_automation_after_a_burst(tmp_path, open_cordon):
    policy = variant(tmp_path, "  cool_off:\n    after: 30", "  cool_off:\n    after: 3")
    cordon = await open_cordon(policy)
    _, first = await cordon.post(scenario("impossible-travel-powershell"))
    await cordon.settled(first["incident_id"])

    _, second = await cordon.post(scenario("malware-workstation"))
    isolate = by_action(second)["isolate_device"]
    assert isolate["verdict"] == "approval"
    assert any("cool" in reason.lower() for reason in isolate["reasons"]), isolate["reasons"]
    assert await cordon.runtime.store.state.cool_off_until() is not None


async def test_paused_automation_needs_a_human_for_everything(tmp_path, open_cordon):
    cordon = await open_cordon(POLICY)
    with pytest.raises(Exception, match="SOC Leads"):
        await cordon.engine.set_paused(True, ADELE)
    message = await cordon.engine.set_paused(True, MEGAN)
    assert "Megan Bowen" in message

    _, result = await cordon.post(scenario("password-spray-ip"))
    block = by_action(result)["block_ip"]
    assert block["verdict"] == "approval"
    assert any("paused" in reason for reason in block["reasons"]), block["reasons"]
    assert await cordon.calls() == []

    await cordon.engine.set_paused(False, MEGAN)
    _, again = await cordon.post(scenario("malware-workstation"))
    assert by_action(again)["isolate_device"]["verdict"] == "auto"


async def test_observe_mode_shows_and_executes_nothing(tmp_path, open_cordon):
    cordon = await open_cordon(variant(tmp_path, "mode: automate", "mode: observe"))
    _, result = await cordon.post(scenario("impossible-travel-powershell"))

    assert result["outcome"] == "observed"
    assert {a["verdict"] for a in result["actions"]} == {"observed"}
    assert {a["status"] for a in result["actions"]} == {"observed"}
    assert await cordon.calls() == []


async def test_the_shipped_default_policy_observes(tmp_path, open_cordon):
    cordon = await open_cordon(ROOT_POLICY)
    _, result = await cordon.post(scenario("malware-workstation"))
    assert result["outcome"] == "observed"
    assert await cordon.calls() == []


async def test_orchestrate_mode_lets_only_low_impact_actions_run_alone(tmp_path, open_cordon):
    cordon = await open_cordon(variant(tmp_path, "mode: automate", "mode: orchestrate"))
    _, result = await cordon.post(scenario("impossible-travel-powershell"))
    record = await cordon.settled(result["incident_id"])

    actions = by_action(record)
    assert actions["revoke_sessions"]["verdict"] == "auto", "revoking sessions is low impact"
    assert actions["revoke_sessions"]["status"] == "succeeded"
    disable = actions["disable_user"]
    assert disable["verdict"] == "approval" and disable["status"] == "pending_approval"
    assert any("orchestrate" in reason for reason in disable["reasons"]), disable["reasons"]
