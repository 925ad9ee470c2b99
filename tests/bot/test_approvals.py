"""Approving, rejecting and undoing from the incident card, and every refusal, over HTTP.

Each test subscribes the SOC channel, lets an incident arrive through /api/incidents, opens
the card as an approver would (the automatic `refresh` invoke Teams sends for users listed in
`refresh.userIds`) and clicks its buttons. Outcomes are checked where a person would notice
them: the card the clicker gets back, the card everyone sees after the update, and the
Fabrikam tenant in the sandbox.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from tests.bot.conftest import (
    ADELE,
    ALEX,
    ALEX_UPN,
    FINANCE,
    MARCUS,
    MARCUS_ID,
    MEGAN,
    PRIYA,
    PRIYA_ID,
    action_of,
    card_actions,
    card_text,
    impossible_travel_of,
    policy_variant,
    posted_card,
    scenario,
    start_cordon,
    subscribed,
)


async def approver_view(cordon, person, number):
    """The posted card, and the card `person` sees on it (Teams' automatic refresh)."""
    posted = await posted_card(cordon, number)
    refresh = posted.cards[0]["refresh"]
    assert person.teams_id in refresh["userIds"]
    view = await cordon.teams.click(person, "refresh", refresh["action"]["data"],
                                    card_activity_id=posted.activity_id)
    return posted, view


async def enabled(cordon, user_id: str) -> bool:
    user = await cordon.sandbox(f"/graph/v1.0/users/{user_id}?$select=accountEnabled")
    return user["accountEnabled"]


async def disables(cordon, upn: str) -> list[dict]:
    """The Graph writes that changed the account (the plugin addresses it by its UPN)."""
    return [c for c in await cordon.sandbox_calls()
            if c["method"] == "PATCH" and c["path"].endswith(f"/users/{upn}")]


async def test_alex_approves_and_everyone_sees_the_account_disabled(cordon):
    await subscribed(cordon)
    result = await cordon.incident(scenario(FINANCE))
    posted, view = await approver_view(cordon, ALEX, 4522)
    approve = action_of(view, "approve", f"disable_user on {PRIYA}")

    started = time.monotonic()
    answer = await cordon.teams.click(ALEX, "approve", approve["data"],
                                      card_activity_id=posted.activity_id)
    assert time.monotonic() - started < 1.0

    assert "Approved by Alex Wilber, executing" in card_text(answer)
    updated = await cordon.connector.wait_for(lambda: [
        u for u in cordon.connector.updates(posted.activity_id)
        if "Executed" in u.text and "approved by Alex Wilber" in u.text])
    assert "Contained" in updated[-1].text
    await cordon.settled(result["incident_id"])
    assert await enabled(cordon, PRIYA_ID) is False


async def test_adele_is_given_her_own_view_without_approve_buttons(cordon):
    await subscribed(cordon)
    await cordon.teams.ask(ADELE, "help")
    await cordon.incident(scenario(FINANCE))

    posted = await posted_card(cordon, 4522)
    assert ADELE.teams_id in posted.cards[0]["refresh"]["userIds"]
    assert {a["verb"] for a in card_actions(posted.cards[0])} == {"approve", "reject", "why"}, (
        "the shared card serves clients that cannot refresh; the server decides who may act")
    view = await cordon.teams.click(ADELE, "refresh", posted.cards[0]["refresh"]["action"]["data"],
                                    card_activity_id=posted.activity_id)
    assert "Incident 4522" in card_text(view), card_text(view)
    assert {a["verb"] for a in card_actions(view)} == {"why"}


async def test_adele_is_refused_because_she_is_not_an_approver(cordon):
    await subscribed(cordon)
    result = await cordon.incident(scenario(FINANCE))
    posted, view = await approver_view(cordon, ALEX, 4522)
    approve = action_of(view, "approve", "disable_user")

    answer = await cordon.teams.click(ADELE, "approve", approve["data"],
                                      card_activity_id=posted.activity_id)

    text = card_text(answer)
    assert "Adele Vance is not a member of an approver group" in text
    assert "SOC Approvers" in text
    await cordon.settled(result["incident_id"])
    assert await enabled(cordon, PRIYA_ID) is True


async def test_a_tampered_action_hash_is_refused(cordon):
    await subscribed(cordon)
    await cordon.incident(scenario(FINANCE))
    posted, view = await approver_view(cordon, ALEX, 4522)
    data = dict(action_of(view, "approve", "disable_user")["data"], action_hash="0" * 64)

    answer = await cordon.teams.click(ALEX, "approve", data, card_activity_id=posted.activity_id)

    assert "does not match the action waiting for approval" in card_text(answer)
    assert not await disables(cordon, PRIYA)


async def test_a_second_click_after_the_decision_is_refused(cordon):
    await subscribed(cordon)
    result = await cordon.incident(scenario(FINANCE))
    posted, view = await approver_view(cordon, ALEX, 4522)
    approve = action_of(view, "approve", "disable_user")
    await cordon.teams.click(ALEX, "approve", approve["data"], card_activity_id=posted.activity_id)

    again = await cordon.teams.click(MEGAN, "reject", approve["data"],
                                     card_activity_id=posted.activity_id)

    assert "already granted" in card_text(again)
    await cordon.settled(result["incident_id"])
    assert len(await disables(cordon, PRIYA)) == 1


async def test_rejecting_leaves_the_account_alone(cordon):
    await subscribed(cordon)
    await cordon.teams.ask(MEGAN, "help")
    result = await cordon.incident(scenario(FINANCE))
    posted, view = await approver_view(cordon, MEGAN, 4522)

    answer = await cordon.teams.click(MEGAN, "reject", action_of(view, "reject")["data"],
                                      card_activity_id=posted.activity_id)

    assert "Rejected by Megan Bowen" in card_text(answer)
    await cordon.connector.wait_for(lambda: [
        u for u in cordon.connector.updates(posted.activity_id) if "Rejected by" in u.text])
    await cordon.settled(result["incident_id"])
    assert await enabled(cordon, PRIYA_ID) is True


async def test_an_expired_approval_fails_closed(tmp_path):
    policy = policy_variant(tmp_path, {"expires_after: 1h": "expires_after: 1s"})
    cordon, closers = await start_cordon(tmp_path, policy)
    try:
        await subscribed(cordon)
        result = await cordon.incident(scenario(FINANCE))
        posted = await posted_card(cordon, 4522)
        approval = (await cordon.runtime.engine.record(result["incident_id"])).approvals[0]
        remaining = (approval.expires_at - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(max(remaining, 0) + 0.05)  # the expiry is the condition itself

        answer = await cordon.teams.click(
            ALEX, "approve", {"approval_id": approval.id, "action_hash": approval.action_hash},
            card_activity_id=posted.activity_id)

        assert "expired" in card_text(answer)
        assert "the action was not executed" in card_text(answer)
        assert not await disables(cordon, PRIYA)
    finally:
        for close in closers:
            await close()


async def test_nobody_approves_an_action_aimed_at_their_own_account(tmp_path):
    policy = policy_variant(tmp_path, {
        'condition: user.department == "Finance"':
            'condition: user.department in ["Finance", "Security Operations"]'})
    cordon, closers = await start_cordon(tmp_path, policy)
    try:
        await subscribed(cordon)
        await cordon.teams.ask(MEGAN, "help")
        payload = impossible_travel_of(cordon, ALEX_UPN, ALEX.aad_object_id, "Alex Wilber", 4601)
        result = await cordon.incident(payload)
        assert {"action": "disable_user", "verdict": "approval"}.items() <= next(
            a for a in result["actions"] if a["action"] == "disable_user").items()

        posted, alex_view = await approver_view(cordon, ALEX, 4601)
        assert "approve" not in {a["verb"] for a in card_actions(alex_view)}
        posted, megan_view = await approver_view(cordon, MEGAN, 4601)
        approve = action_of(megan_view, "approve", f"disable_user on {ALEX_UPN}")

        answer = await cordon.teams.click(ALEX, "approve", approve["data"],
                                          card_activity_id=posted.activity_id)
        assert "cannot decide on an action aimed at their own account" in card_text(answer)

        answer = await cordon.teams.click(MEGAN, "approve", approve["data"],
                                          card_activity_id=posted.activity_id)
        assert "Approved by Megan Bowen, executing" in card_text(answer)
        await cordon.settled(result["incident_id"])
        assert await enabled(cordon, ALEX.aad_object_id) is False
    finally:
        for close in closers:
            await close()


async def test_a_domain_admin_needs_alex_and_megan(cordon):
    await subscribed(cordon)
    await cordon.teams.ask(MEGAN, "help")
    result = await cordon.incident(
        impossible_travel_of(cordon, MARCUS, MARCUS_ID, "Marcus Lee", 4602))
    posted, view = await approver_view(cordon, ALEX, 4602)
    approve = action_of(view, "approve", f"disable_user on {MARCUS}")

    first = await cordon.teams.click(ALEX, "approve", approve["data"],
                                     card_activity_id=posted.activity_id)
    assert "1 of 2 approvals" in card_text(first)
    again = await cordon.teams.click(ALEX, "approve", approve["data"],
                                     card_activity_id=posted.activity_id)
    assert "Alex Wilber has already decided on this action" in card_text(again)
    assert await enabled(cordon, MARCUS_ID) is True

    second = await cordon.teams.click(MEGAN, "approve", approve["data"],
                                      card_activity_id=posted.activity_id)
    assert "Approved by Alex Wilber, Megan Bowen, executing" in card_text(second)
    await cordon.settled(result["incident_id"])
    assert await enabled(cordon, MARCUS_ID) is False


async def test_undo_enables_the_account_again(cordon):
    await subscribed(cordon)
    result = await cordon.incident(scenario(FINANCE))
    posted, view = await approver_view(cordon, ALEX, 4522)
    await cordon.teams.click(ALEX, "approve", action_of(view, "approve", "disable_user")["data"],
                             card_activity_id=posted.activity_id)
    await cordon.settled(result["incident_id"])
    assert await enabled(cordon, PRIYA_ID) is False

    view = await cordon.teams.click(ALEX, "refresh", {"incident_id": result["incident_id"]},
                                    card_activity_id=posted.activity_id)
    undo = action_of(view, "undo", f"disable_user on {PRIYA}")
    answer = await cordon.teams.click(ALEX, "undo", undo["data"],
                                      card_activity_id=posted.activity_id)

    assert "Undo requested by Alex Wilber, executing enable_user" in card_text(answer)
    await cordon.settled(result["incident_id"])
    assert await enabled(cordon, PRIYA_ID) is True
    await cordon.connector.wait_for(lambda: [
        u for u in cordon.connector.updates(posted.activity_id) if "Undone" in u.text])


async def test_ten_clicks_at_once_by_two_approvers_execute_once(cordon):
    await subscribed(cordon)
    await cordon.teams.ask(MEGAN, "help")
    result = await cordon.incident(scenario(FINANCE))
    posted, view = await approver_view(cordon, ALEX, 4522)
    data = action_of(view, "approve", "disable_user")["data"]

    answers = await asyncio.gather(*[
        cordon.teams.click(ALEX if i % 2 else MEGAN, "approve", data,
                           card_activity_id=posted.activity_id) for i in range(10)])

    executing = [a for a in answers if ", executing" in card_text(a)]
    assert len(executing) == 1
    await cordon.settled(result["incident_id"])
    assert len(await disables(cordon, PRIYA)) == 1
    assert await enabled(cordon, PRIYA_ID) is False


async def test_why_explains_the_action_with_its_evidence(cordon):
    await subscribed(cordon)
    await cordon.incident(scenario(FINANCE))
    posted = await posted_card(cordon, 4522)
    why = action_of(posted.cards[0], "why", "disable_user")

    answer = await cordon.teams.click(ADELE, "why", why["data"],
                                      card_activity_id=posted.activity_id)

    text = card_text(answer)
    assert "Why disable user priya.natarajan@fabrikam.example?" in text
    assert "graph.signIns" in text
    assert "refresh" in {a["verb"] for a in card_actions(answer)}


async def test_why_fits_in_28_kb_even_for_an_incident_with_a_very_long_id(cordon):
    await subscribed(cordon)
    payload = scenario(FINANCE)
    payload["object"]["id"] += "/" + "\u00e9" * 5_000  # six bytes each, escaped
    result = await cordon.incident(payload)
    posted = await posted_card(cordon, 4522)
    disable = next(a for a in result["actions"] if a["action"] == "disable_user")

    answer = await cordon.teams.click(ADELE, "why", {"run_id": disable["id"]},
                                      card_activity_id=posted.activity_id)

    assert "Why disable user priya.natarajan@fabrikam.example?" in card_text(answer)
