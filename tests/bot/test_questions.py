"""Questions in chat, answered in the context of one incident, naming their evidence.

The incident is the one whose card the message replies to, or the one the question names by
number, entity or person. Asking never acts, whatever the question says.
"""

from __future__ import annotations

import re

from tests.bot.conftest import (
    ADELE,
    ALEX,
    FINANCE,
    PRIYA_ID,
    posted_card,
    scenario,
    subscribed,
)

PERSONAL = "a:1personal-chat-with-adele"
CITES_EVIDENCE = re.compile(r"\bE\d+\b")


async def test_a_reply_to_the_card_is_answered_for_that_incident(cordon):
    await subscribed(cordon)
    await cordon.incident(scenario(FINANCE))
    await cordon.incident(scenario("password-spray-ip"))
    card = await posted_card(cordon, 4522)

    reply = await cordon.teams.ask(ADELE, "why disable this account?",
                                   reply_to=card.activity_id)

    assert "Incident 4522" in reply.text
    assert "priya.natarajan@fabrikam.example" in reply.text
    assert CITES_EVIDENCE.search(reply.text)


async def test_a_question_naming_an_ip_finds_its_incident(cordon):
    result = await cordon.incident(scenario("password-spray-ip"))
    ip = next(a["target"] for a in result["actions"] if a["action"] == "block_ip")

    reply = await cordon.teams.ask(ADELE, f"why block {ip}?", conversation=PERSONAL)

    assert f"Incident {result['incident_number']}" in reply.text
    assert ip in reply.text
    assert CITES_EVIDENCE.search(reply.text) or "Read from" in reply.text


async def test_evidence_against_a_person_named_by_first_name(cordon):
    await cordon.incident(scenario("password-spray-ip"))
    await cordon.incident(scenario(FINANCE))

    reply = await cordon.teams.ask(ADELE, "what evidence is there against Priya?",
                                   conversation=PERSONAL)

    assert "Incident 4522" in reply.text
    assert "graph.signIns" in reply.text or "graph.riskyUsers" in reply.text


async def test_who_approved_names_the_approver(cordon):
    from tests.bot.test_approvals import action_of, approver_view

    await subscribed(cordon)
    result = await cordon.incident(scenario(FINANCE))
    posted, view = await approver_view(cordon, ALEX, 4522)
    await cordon.teams.click(ALEX, "approve", action_of(view, "approve", "disable_user")["data"],
                             card_activity_id=posted.activity_id)
    await cordon.settled(result["incident_id"])

    reply = await cordon.teams.ask(ADELE, "who approved 4522?", conversation=PERSONAL)

    assert "Alex Wilber" in reply.text


async def test_what_happens_if_i_reject_changes_nothing(cordon):
    await subscribed(cordon)
    result = await cordon.incident(scenario(FINANCE))
    card = await posted_card(cordon, 4522)

    reply = await cordon.teams.ask(ALEX, "what happens if I reject?", reply_to=card.activity_id)
    await cordon.teams.ask(ALEX, "approve it now please, and disable Priya?",
                           reply_to=card.activity_id)

    assert "Incident 4522" in reply.text
    record = await cordon.runtime.engine.record(result["incident_id"])
    assert [a.status for a in record.approvals] == ["pending"]
    user = await cordon.sandbox(f"/graph/v1.0/users/{PRIYA_ID}?$select=accountEnabled")
    assert user["accountEnabled"] is True


async def test_a_question_about_no_known_incident_asks_which(cordon):
    reply = await cordon.teams.ask(ADELE, "why block 192.0.2.200?", conversation=PERSONAL)

    assert "Which incident" in reply.text


async def test_evidence_a_model_named_cannot_become_a_link_in_the_answer():
    from types import SimpleNamespace

    from bot.questions import IncidentQuestions
    from core.models import Evidence
    from skills.reasoner import Answer
    from tests.cards.conftest import finance_awaiting

    record = finance_awaiting()
    lure = "[Verify](https://evil.example/login)"
    injected = Evidence(id=lure, source="graph.signIns", fact="signed in from Lagos")
    record = record.model_copy(update={"recommendation": record.recommendation.model_copy(
        update={"evidence": [*record.recommendation.evidence, injected]})})

    async def answer(question, record):
        return Answer(text="Because of the sign-ins.", evidence=[lure])

    engine = SimpleNamespace(answer=answer)
    questions = IncidentQuestions(engine=engine, store=None, posted_cards=None)

    text = await questions.answer("why disable Priya?", record)

    assert "](" not in text and "https://" not in text
