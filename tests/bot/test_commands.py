"""Commands in a channel (with an @mention) and in personal chat, as a SOC would use them."""

from __future__ import annotations

from tests.bot.conftest import (
    ADELE,
    ALEX,
    CHANNEL,
    FINANCE,
    MEGAN,
    card_text,
    posted_card,
    scenario,
    subscribed,
)

PERSONAL = "a:1personal-chat-with-alex"


async def test_help_lists_every_command(cordon):
    reply = await cordon.teams.ask(ALEX, "help")

    for command in ("subscribe", "pending", "status", "policy", "pause", "resume"):
        assert command in reply.text


async def test_text_that_is_neither_command_nor_question_gets_help(cordon):
    reply = await cordon.teams.ask(ADELE, "hello cordon")

    assert "subscribe" in reply.text and "pending" in reply.text


async def test_personal_chat_works_without_a_mention(cordon):
    reply = await cordon.teams.ask(ALEX, "help", conversation=PERSONAL)

    assert reply.conversation_id == PERSONAL
    assert "subscribe" in reply.text


async def test_subscribed_channel_receives_the_card_of_a_new_incident(cordon):
    await subscribed(cordon)

    await cordon.incident(scenario(FINANCE))

    card = await posted_card(cordon, 4522)
    assert card.conversation_id == CHANNEL
    assert "Impossible travel: Finance controller" in card.text
    assert "Awaiting approval" in card.text


async def test_unsubscribed_conversation_receives_no_incident_card(cordon):
    await cordon.teams.ask(ALEX, "help", conversation=PERSONAL)
    await subscribed(cordon)

    result = await cordon.incident(scenario(FINANCE))
    await cordon.settled(result["incident_id"])

    assert not [p for p in cordon.connector.posts(PERSONAL) if "Incident 4522" in p.text]


async def test_pending_lists_the_approval_waiting(cordon):
    empty = await cordon.teams.ask(ALEX, "pending")
    assert "Nothing is waiting" in empty.text

    await cordon.incident(scenario(FINANCE))
    reply = await cordon.teams.ask(ALEX, "pending")

    assert "Disable user" in reply.text
    assert "priya.natarajan@fabrikam.example" in reply.text
    assert "0 of 1 approvals" in reply.text


async def test_status_shows_the_incident_card_and_names_unknown_numbers(cordon):
    await cordon.incident(scenario(FINANCE))

    reply = await cordon.teams.ask(ADELE, "status 4522")
    assert "Incident 4522" in card_text(reply.cards[0])
    assert "Awaiting approval" in reply.text

    missing = await cordon.teams.ask(ADELE, "status 9999")
    assert "No incident 9999" in missing.text


async def test_policy_says_what_runs_alone_and_what_needs_approval(cordon):
    reply = await cordon.teams.ask(ADELE, "policy")

    assert "automate" in reply.text
    assert "Needs approval" in reply.text
    assert "breakglass01@fabrikam.example" in reply.text


async def test_only_soc_leads_pause_and_resume_automation(cordon):
    refused = await cordon.teams.ask(ADELE, "pause")
    assert "Adele Vance cannot pause automation" in refused.text
    assert (await cordon.runtime.store.state.paused())[0] is False

    paused = await cordon.teams.ask(MEGAN, "pause")
    assert "Automation paused by Megan Bowen" in paused.text
    assert (await cordon.runtime.store.state.paused())[0] is True

    refused = await cordon.teams.ask(ALEX, "resume")
    assert "Alex Wilber cannot resume automation" in refused.text

    resumed = await cordon.teams.ask(MEGAN, "resume")
    assert "Automation resumed by Megan Bowen" in resumed.text


async def test_paused_automation_sends_auto_actions_for_approval(cordon):
    await cordon.teams.ask(MEGAN, "pause")

    result = await cordon.incident(scenario("impossible-travel-powershell"))

    verdicts = {a["action"]: a["verdict"] for a in result["actions"]}
    assert verdicts["disable_user"] == "approval"


async def test_a_subscription_survives_a_restart(tmp_path):
    from tests.bot.conftest import start_cordon

    first, closers = await start_cordon(tmp_path)
    connector_closers = closers[2:]
    try:
        await subscribed(first)
    finally:
        for close in closers[:2]:
            await close()

    second, closers = await start_cordon(tmp_path, connector=first.connector)
    closers += connector_closers
    try:
        await second.incident(scenario(FINANCE))
        card = await posted_card(second, 4522)
        assert card.conversation_id == CHANNEL
    finally:
        for close in closers:
            await close()


async def test_status_of_an_unknown_reference_does_not_echo_a_link(cordon):
    reply = await cordon.teams.ask(ADELE, "status [Verify your account](https://evil.example/x)")

    assert "No incident" in reply.text
    assert "](" not in reply.text and "https://" not in reply.text
