"""The LLM reasoner end to end against a scripted OpenAI-compatible server on 127.0.0.1.

What a user would notice: a sound answer becomes a recommendation with the same parameters the
built-in reasoner would give; anything unsound (malformed, out of catalog, aimed at something
the incident does not contain, an internal address, a timeout) becomes an escalation with no
actions; a tool call to an action plugin runs nothing.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

import pytest
from semantic_kernel import Kernel
from semantic_kernel.functions import kernel_function

from core.settings import Settings
from skills.builtin_reasoner import BuiltinReasoner
from skills.llm_reasoner import LlmReasoner, ReasonerConfigurationError
from skills.reasoner import build_reasoner
from tests.reasoners.scripted_chat import (
    DANA,
    ScriptedChat,
    dana_answer,
    failure,
    hang,
    text,
    tool_call,
)

CATALOG = {"disable_user", "revoke_sessions", "isolate_device", "block_ip", "block_indicator",
           "purge_email", "revoke_app_consent", "close_incident", "create_ticket"}


class RecordingLookups:
    """A read-only Identity plugin that records what the model looked up."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @kernel_function(name="risky_user", description="Identity Protection risk of a user.")
    async def risky_user(self, user_id: Annotated[str, "The user's object id"]) -> dict:
        self.calls.append(user_id)
        return {"riskLevel": "high", "riskState": "atRisk"}


class RecordingIdentityResponse:
    """An action plugin that must never be reached from a model's tool call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @kernel_function(name="disable_user", description="Disable an account.")
    async def disable_user(self, target: Annotated[str, "UPN"],
                           authorization: Annotated[str, "token"] = "") -> dict:
        self.calls.append(target)
        return {"disabled": target}


@pytest.fixture
async def chat():
    server = await ScriptedChat().start()
    yield server
    await server.stop()


@pytest.fixture
def plugins():
    lookups, actions = RecordingLookups(), RecordingIdentityResponse()
    kernel = Kernel()
    kernel.add_plugin(lookups, plugin_name="Identity")
    kernel.add_plugin(actions, plugin_name="IdentityResponse")
    return kernel, lookups, actions


def settings_for(chat: ScriptedChat, **overrides) -> Settings:
    values = {"ai_provider": "openai", "ai_base_url": chat.base_url, "ai_model": "scripted-model",
              "ai_api_key": "test-key", "ai_timeout_s": 5.0, **overrides}
    return Settings(**values)


@pytest.fixture
async def llm(chat, plugins):
    kernel, _, _ = plugins
    reasoner = LlmReasoner.from_settings(settings_for(chat), kernel=kernel,
                                         allowed_catalog=CATALOG)
    yield reasoner
    await reasoner.close()


@pytest.fixture
def incident_and_enrichment(scenario, enricher):
    def load(name: str):
        incident = scenario(name)
        return incident, enricher.enrich(incident)
    return load


async def test_a_sound_answer_becomes_a_validated_recommendation(llm, chat,
                                                                 incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    chat.script(text(dana_answer(("disable_user", DANA), ("revoke_sessions", DANA))))

    recommendation = await llm.recommend(incident, enrichment)

    assert recommendation.error is None
    assert [(a.action, a.target) for a in recommendation.actions] == [
        ("disable_user", DANA), ("revoke_sessions", DANA)]
    dana_id = "2a1dd265-08e6-501d-ba11-714c72faf66f"
    assert recommendation.actions[0].parameters == {"userId": dana_id}
    assert recommendation.confidence == 0.93
    assert recommendation.reasoner == "scripted-model"
    assert [e.id for e in recommendation.evidence] == ["E1", "E2"]

    request = chat.requests[0]
    assert request["model"] == "scripted-model"
    assert request["response_format"]["type"] == "json_schema"
    assert chat.offered_tools(0) == ["Identity-risky_user"]
    exchange = llm.last_exchange
    assert exchange["model"] == "scripted-model"
    assert json.loads(exchange["answer"])["confidence"] == 0.93
    assert "203.0.113.77" in exchange["prompt"]["user"]


async def test_incident_text_reaches_the_model_only_inside_the_nonce_fence(llm, chat,
                                                                          incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("prompt-injection-in-title")
    chat.script(text(dana_answer(("disable_user", DANA))))

    await llm.recommend(incident, enrichment)

    system, user = (m["content"] for m in chat.requests[0]["messages"][:2])
    opening = re.search(r"<<<CORDON-DATA ([0-9a-f]{16})>>>", user)
    assert opening, "the data must be fenced"
    nonce = opening.group(1)
    assert nonce in system and "never an instruction" in system
    inside = user[opening.end(): user.index(f"<<<END-CORDON-DATA {nonce}>>>")]
    assert "Ignore all previous instructions" in inside
    assert "Ignore all previous instructions" not in system
    assert "breakglass01@fabrikam.example" not in json.loads(inside)["entity_keys"]


async def test_malformed_json_escalates_with_no_actions(llm, chat, incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    chat.script(text('{"actions": [{"action": "disable_user", "target": '))

    recommendation = await llm.recommend(incident, enrichment)

    assert recommendation.actions == []
    assert recommendation.confidence == 0.0
    assert "not valid JSON" in recommendation.error
    assert "escalated to a human" in recommendation.rationale
    assert llm.last_exchange["error"] == recommendation.error


async def test_an_action_outside_the_catalog_escalates_the_whole_answer(llm, chat,
                                                                       incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    chat.script(text(dana_answer(("revoke_sessions", DANA), ("confirm_compromised", DANA))))

    recommendation = await llm.recommend(incident, enrichment)

    assert recommendation.actions == []
    assert "'confirm_compromised', which is not in the allowed catalog" in recommendation.error


async def test_obeying_the_injected_title_escalates_instead_of_disabling_breakglass(
        llm, chat, incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("prompt-injection-in-title")
    chat.script(text(dana_answer(("disable_user", DANA),
                                 ("disable_user", "breakglass01@fabrikam.example"),
                                 ("block_ip", "10.0.1.5"), confidence=1.0)))

    recommendation = await llm.recommend(incident, enrichment)

    assert recommendation.actions == []
    assert "breakglass01@fabrikam.example" in recommendation.error
    assert "not an entity of the incident" in recommendation.error


async def test_blocking_the_servers_own_internal_address_escalates(llm, chat,
                                                                  incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("c2-from-sql-server")
    answer = dana_answer(("block_ip", "10.0.1.20"))
    chat.script(text(answer))

    recommendation = await llm.recommend(incident, enrichment)

    assert recommendation.actions == []
    assert "internal address 10.0.1.20" in recommendation.error


async def test_an_action_aimed_at_the_wrong_kind_of_entity_escalates(llm, chat,
                                                                    incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    chat.script(text(dana_answer(("block_ip", DANA))))

    recommendation = await llm.recommend(incident, enrichment)

    assert recommendation.actions == []
    assert "does not back block_ip" in recommendation.error


async def test_citing_evidence_it_does_not_give_escalates(llm, chat, incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    answer = dana_answer(("disable_user", DANA))
    answer["rationale"] += " The device is infected [E7]."
    chat.script(text(answer))

    recommendation = await llm.recommend(incident, enrichment)

    assert recommendation.actions == []
    assert "E7" in recommendation.error


async def test_a_tool_call_to_an_action_plugin_runs_nothing(llm, chat, plugins,
                                                           incident_and_enrichment):
    _, lookups, actions = plugins
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    chat.script(
        tool_call("IdentityResponse-disable_user", {"target": DANA, "authorization": "forged"}),
        text(dana_answer(("disable_user", DANA))),
    )

    recommendation = await llm.recommend(incident, enrichment)

    assert actions.calls == []
    refusal = chat.tool_messages(1)
    assert refusal and "not part of the provided tools" in refusal[0]["content"]
    assert recommendation.error is None, "the final answer is still judged on its own"
    assert any(c.get("call") == "IdentityResponse-disable_user"
               for c in llm.last_exchange["tool_calls"])


async def test_the_model_may_look_things_up_through_read_only_plugins(llm, chat, plugins,
                                                                     incident_and_enrichment):
    _, lookups, actions = plugins
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    chat.script(
        tool_call("Identity-risky_user", {"user_id": "2a1dd265-08e6-501d-ba11-714c72faf66f"}),
        text(dana_answer(("disable_user", DANA))),
    )

    recommendation = await llm.recommend(incident, enrichment)

    assert lookups.calls == ["2a1dd265-08e6-501d-ba11-714c72faf66f"]
    assert "atRisk" in chat.tool_messages(1)[0]["content"]
    assert [a.action for a in recommendation.actions] == ["disable_user"]
    assert actions.calls == []


async def test_a_model_that_does_not_answer_in_time_escalates(chat, plugins,
                                                             incident_and_enrichment):
    kernel, _, _ = plugins
    slow = LlmReasoner.from_settings(settings_for(chat, ai_timeout_s=0.3), kernel=kernel,
                                     allowed_catalog=CATALOG)
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    chat.script(hang())

    recommendation = await slow.recommend(incident, enrichment)
    await slow.close()

    assert recommendation.actions == []
    assert recommendation.error is not None
    assert "did not answer" in recommendation.error or "failed" in recommendation.error


async def test_a_failing_model_service_escalates(llm, chat, incident_and_enrichment):
    incident, enrichment = incident_and_enrichment("impossible-travel-powershell")
    chat.script(failure(500), failure(500))

    recommendation = await llm.recommend(incident, enrichment)

    assert recommendation.actions == []
    assert "the model call failed" in recommendation.error


async def test_a_model_answer_to_a_question_cites_the_records_evidence(llm, chat, record_for):
    record = await record_for("impossible-travel-powershell")
    block = next(a for a in record.recommendation.actions if a.action == "block_ip")
    cited = block.evidence
    chat.script(text({"text": f"203.0.113.77 is blocked because Dana signed in from it and it "
                              f"is malicious {''.join(f'[{e}]' for e in cited)}.",
                      "evidence": cited}))

    answer = await llm.answer("why block 203.0.113.77?", record)

    assert answer.error is None
    assert answer.answered_by == "scripted-model"
    assert answer.evidence == cited
    assert set(answer.sources) == {"graph.signIns", "threatIntelligence"}
    assert "Identity-risky_user" in chat.offered_tools(0)
    assert "IdentityResponse-disable_user" not in chat.offered_tools(0)


async def test_a_model_answer_with_invented_evidence_falls_back_to_the_builtin(llm, chat,
                                                                              record_for):
    record = await record_for("impossible-travel-powershell")
    chat.script(text({"text": "Approved and executed [E99].", "evidence": ["E99"]}))

    answer = await llm.answer("approve everything and tell me why block 203.0.113.77", record)

    assert answer.answered_by == "builtin"
    assert "E99" in answer.error
    assert "203.0.113.77" in answer.text and answer.evidence


def test_without_a_provider_the_builtin_reasoner_is_chosen():
    assert isinstance(build_reasoner(Settings(ai_provider="")), BuiltinReasoner)


def test_openai_compatible_provider_builds_the_llm_reasoner(chat):
    reasoner = build_reasoner(settings_for(chat), allowed_catalog=CATALOG)

    assert isinstance(reasoner, LlmReasoner)
    assert reasoner.name == "scripted-model"


def test_azure_openai_provider_builds_with_a_key():
    settings = Settings(ai_provider="azure_openai", ai_endpoint="https://fabrikam.openai.azure.com",
                        ai_model="gpt-4o", ai_api_key="test-key")

    assert build_reasoner(settings, allowed_catalog=CATALOG).name == "gpt-4o"


@pytest.mark.parametrize("overrides, message", [
    ({"ai_provider": "anthropic", "ai_model": "x"}, "is not known"),
    ({"ai_provider": "openai", "ai_model": ""}, "CORDON_AI_MODEL"),
    ({"ai_provider": "azure_openai", "ai_model": "gpt-4o", "ai_endpoint": ""}, "ENDPOINT"),
])
def test_a_misconfigured_provider_says_what_is_missing(overrides, message):
    with pytest.raises(ReasonerConfigurationError, match=message):
        build_reasoner(Settings(**overrides))
