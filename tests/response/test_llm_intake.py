"""The LLM reasoner through the whole of Cordon: a scripted OpenAI-compatible model server, the
real kernel and sandbox, and the policy. Whatever the model says, nothing acts outside policy."""

from __future__ import annotations

import aiohttp
import pytest

from tests.reasoners.scripted_chat import DANA, ScriptedChat, dana_answer, text, tool_call
from tests.response.conftest import Cordon, scenario, start_cordon


@pytest.fixture
async def chat():
    server = await ScriptedChat().start()
    yield server
    await server.stop()


@pytest.fixture
async def llm_cordon(tmp_path, database_url, chat):
    runner, base, app = await start_cordon(
        tmp_path, database_url, CORDON_AI_PROVIDER="openai", CORDON_AI_BASE_URL=chat.base_url,
        CORDON_AI_MODEL="scripted-model", CORDON_AI_API_KEY="test-key", CORDON_AI_TIMEOUT=5)
    async with aiohttp.ClientSession() as session:
        yield Cordon(base, session, app)
    await runner.cleanup()


async def test_a_sound_model_answer_is_judged_by_policy_and_executed(llm_cordon, chat):
    chat.script(text(dana_answer(("disable_user", DANA), ("revoke_sessions", DANA))))
    status, result = await llm_cordon.post(scenario("impossible-travel-powershell"))
    assert status == 201, result
    assert result["recommendation"]["reasoner"] == "scripted-model"

    record = await llm_cordon.settled(result["incident_id"])
    assert {(a["action"], a["status"]) for a in record["actions"]} == {
        ("disable_user", "succeeded"), ("revoke_sessions", "succeeded")}
    audited = [e async for e in llm_cordon.runtime.store.audit.export(None)
               if e["kind"] == "recommendation"]
    exchange = audited[0]["data"]["model_exchange"]
    assert exchange["model"] == "scripted-model" and exchange["prompt"] and exchange["answer"]


async def test_a_model_obeying_the_injected_title_acts_on_nothing(llm_cordon, chat):
    chat.script(text(dana_answer(("disable_user", DANA),
                            ("disable_user", "breakglass01@fabrikam.example"),
                            ("block_ip", "10.0.1.5"), confidence=1.0)))
    status, result = await llm_cordon.post(scenario("prompt-injection-in-title"))
    assert status == 201

    assert result["outcome"] == "escalated"
    assert result["actions"] == []
    assert "breakglass01" in result["recommendation"]["error"]
    assert await llm_cordon.calls() == []


async def test_malformed_model_output_escalates(llm_cordon, chat):
    chat.script(text("I think you should disable everyone {"))
    status, result = await llm_cordon.post(scenario("password-spray-ip"))
    assert status == 201
    assert result["outcome"] == "escalated" and result["actions"] == []
    assert await llm_cordon.calls() == []


async def test_an_action_outside_the_catalog_escalates(llm_cordon, chat):
    chat.script(text(dana_answer(("wipe_device", "fab-lt-0193.corp.fabrikam.example"))))
    status, result = await llm_cordon.post(scenario("impossible-travel-powershell"))
    assert status == 201
    assert result["outcome"] == "escalated" and result["actions"] == []
    assert await llm_cordon.calls() == []


async def test_a_model_tool_call_to_an_action_plugin_changes_nothing(llm_cordon, chat):
    chat.script(
        tool_call("IdentityResponse-disable_user",
                  {"target": "olivia.grant@fabrikam.example", "authorization": "forged"}),
        text(dana_answer()),
    )
    status, result = await llm_cordon.post(scenario("impossible-travel-powershell"))
    assert status == 201

    olivia = await llm_cordon.sandbox(
        "GET", "/graph/v1.0/users/olivia.grant@fabrikam.example?$select=accountEnabled")
    assert olivia["accountEnabled"] is True
    assert await llm_cordon.calls() == []
