"""The built-in reasoner on what the real parts produce: intake's parser, the Enricher's lookups
through the kernel against the in-process sandbox. This checks the reasoner reads the
enrichment the way the enrichment means it, not only the way the local fixture builds it."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from core.settings import Settings
from skills.builtin_reasoner import BuiltinReasoner
from tests.reasoners.conftest import SCENARIOS as SCENARIO_DIR
from tests.reasoners.test_builtin_scenarios import SCENARIOS


class AllowNothing:
    async def check(self, token: str, action: str, target: str) -> None:
        from core.errors import NotAuthorizedToAct

        raise NotAuthorizedToAct("the reasoner tests never act", action=action, target=target)


@pytest.fixture
async def real_skills():
    sandbox = pytest.importorskip("sandbox")
    kernel_module = pytest.importorskip("skills.kernel")
    root = web.Application()
    root.add_subapp("/sandbox", sandbox.build_sandbox_app())
    runner = web.AppRunner(root)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    settings = Settings(_env_file=None, sandbox_url=f"http://{host}:{port}/sandbox",
                        client_id="", client_secret="", tenant_id="",
                        use_managed_identity=False, enrichment_timeout_s=5.0)
    skills = kernel_module.build_kernel(settings, AllowNothing())
    yield skills
    await skills.close()
    await runner.cleanup()


async def test_every_scenario_through_intake_enrichment_and_reasoner(real_skills, expected):
    intake = pytest.importorskip("response.intake")
    for name in SCENARIOS:
        payload = json.loads((SCENARIO_DIR / f"{name}.json").read_text())
        incident = intake.parse_incident(payload)
        enrichment = await real_skills.enricher.enrich(incident)

        recommendation = await BuiltinReasoner().recommend(incident, enrichment)

        assert not enrichment.failures, f"{name}: {enrichment.failures}"
        proposed = {(a.action, a.target) for a in recommendation.actions}
        for item in expected[name].get("propose", []):
            assert any(a == item["action"] and ("target" not in item or t == item["target"])
                       for a, t in proposed), f"{name}: {item} not in {proposed}"
            if item.get("verdict") == "auto":
                assert recommendation.confidence >= 0.85, name
        if name == "benign-vpn-signin":
            assert proposed == set()
        if name == "password-spray-ip":
            assert proposed == {("block_ip", "203.0.113.45")}
        if name == "prompt-injection-in-title":
            assert {t for a, t in proposed if a == "disable_user"} == {
                "dana.rossi@fabrikam.example"}


async def test_a_model_given_the_real_kernel_may_look_but_never_act(real_skills, scenario,
                                                                    enricher):
    from skills.llm_reasoner import LlmReasoner
    from tests.reasoners.scripted_chat import ScriptedChat, text, tool_call

    chat = await ScriptedChat().start()
    reasoner = LlmReasoner.from_settings(
        Settings(_env_file=None, ai_provider="openai", ai_base_url=chat.base_url,
                 ai_model="scripted-model", ai_api_key="test-key", ai_timeout_s=5.0),
        kernel=real_skills, allowed_catalog={"disable_user", "revoke_sessions", "block_ip"})
    incident = scenario("prompt-injection-in-title")
    chat.script(
        tool_call("IdentityResponse-disable_user",
                  {"target": "breakglass01@fabrikam.example", "authorization": "forged"}),
        tool_call("DeviceResponse-isolate_device",
                  {"target": "fab-dc-01.corp.fabrikam.example", "authorization": "forged"},
                  call_id="call_2"),
        text({"actions": [], "confidence": 0.2, "risk_score": 40,
              "rationale": "Nothing to do [E1].",
              "evidence": [{"id": "E1", "source": "incident.alerts", "fact": "one alert",
                            "entity": ""}]}),
    )
    try:
        recommendation = await reasoner.recommend(incident, enricher.enrich(incident))
    finally:
        await reasoner.close()
        await chat.stop()

    offered = chat.offered_tools(0)
    assert offered and all(name.split("-")[0] in {"Identity", "Devices", "ThreatIntel",
                                                  "Watchlists", "Mail", "Apps", "Incidents"}
                           for name in offered)
    refusals = chat.tool_messages(2)
    assert [m["tool_call_id"] for m in refusals] == ["call_1", "call_2"]
    assert all("not part of the provided tools" in m["content"] for m in refusals)
    assert recommendation.actions == []
