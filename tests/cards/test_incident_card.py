"""What approvers and readers see on an incident card, scenario by scenario."""

from __future__ import annotations

from datetime import timedelta

from cards import Banner, incident_card, status_card
from cards.context import MAX_REFRESH_USERS
from core.models import LookupFailure
from tests.cards.conftest import (
    ADELE,
    ALEX,
    MEGAN,
    NOW,
    breakglass_denied,
    consent_expired,
    context,
    executes,
    finance_awaiting,
    impossible_travel,
    injected_title,
    malware_dry_run,
    malware_undone,
    phishing_rejected_and_failed,
    shown_text,
    spray_four_eyes,
    stress_all_pending,
    travel_observed,
)


def test_approver_sees_approve_and_reject_for_the_finance_disable():
    record = finance_awaiting()

    card = incident_card(record, context(ALEX))

    [approve] = executes(card, "approve")
    [reject] = executes(card, "reject")
    disable = next(r for r in record.runs if r.proposed.action == "disable_user")
    assert approve["data"] == {"approval_id": record.approvals[0].id,
                               "action_hash": disable.proposed.canonical_hash()}
    assert reject["data"] == approve["data"]


def test_a_reader_sees_the_state_without_approve_or_reject():
    card = incident_card(finance_awaiting(), context(ADELE))
    assert executes(card, "approve") == []
    assert executes(card, "reject") == []
    assert executes(card, "undo") == []
    assert "Awaiting approval: 0 of 1 approvals" in shown_text(card)


def test_the_shared_card_offers_the_decision_to_clients_that_cannot_refresh():
    card = incident_card(finance_awaiting(), context(None))
    assert len(executes(card, "approve")) == 1
    assert len(executes(card, "reject")) == 1
    assert "Awaiting approval: 0 of 1 approvals" in shown_text(card)


def test_buttons_carry_only_identifiers():
    for record in (finance_awaiting(), spray_four_eyes(), impossible_travel()):
        for button in executes(incident_card(record, context(MEGAN))):
            if button["verb"] in ("approve", "reject"):
                assert set(button["data"]) == {"approval_id", "action_hash"}
            else:
                assert set(button["data"]) == {"run_id"}


def test_refresh_lets_approvers_fetch_their_own_view():
    record = finance_awaiting()

    card = incident_card(record, context())

    assert card["refresh"]["action"] == {
        "type": "Action.Execute", "verb": "refresh",
        "data": {"incident_id": record.incident.id},
    }
    assert card["refresh"]["userIds"] == ["29:1alexwilber-teams-id", "29:1meganbowen-teams-id"]


def test_refresh_lists_at_most_sixty_approvers():
    many = tuple(f"29:approver-{i}" for i in range(200))

    card = incident_card(finance_awaiting(), context(approver_user_ids=many))

    assert card["refresh"]["userIds"] == list(many[:MAX_REFRESH_USERS])


def test_finished_incident_needs_no_refresh():
    record = breakglass_denied()

    assert "refresh" not in incident_card(record, context())


def test_four_eyes_card_shows_who_approved_so_far():
    card = incident_card(spray_four_eyes(), context())

    assert "1 of 2 approvals: Alex Wilber" in shown_text(card)
    assert "Needs approval (2 approvers)" in shown_text(card)


def test_first_approver_cannot_approve_twice_but_second_can():
    record = spray_four_eyes()

    alex_view = incident_card(record, context(ALEX))
    megan_view = incident_card(record, context(MEGAN))

    assert executes(alex_view, "approve") == []
    assert "you approved; another approver is needed" in shown_text(alex_view)
    assert len(executes(megan_view, "approve")) == 1


def test_nobody_is_offered_to_approve_an_action_on_their_own_account():
    record = finance_awaiting()
    disable = next(r for r in record.runs if r.proposed.action == "disable_user")
    aimed_at_megan = disable.model_copy(update={
        "proposed": disable.proposed.model_copy(update={"target": "meganb@fabrikam.example"}),
    })
    record = record.model_copy(update={"runs": [aimed_at_megan]})

    assert executes(incident_card(record, context(MEGAN)), "approve") == []
    assert len(executes(incident_card(record, context(ALEX)), "approve")) == 1


def test_expired_approval_offers_no_buttons_and_says_so():
    record = consent_expired()

    card = incident_card(record, context(ALEX))

    assert executes(card, "approve") == []
    assert "Approval expired at 08:55 UTC; not executed" in shown_text(card)


def test_approval_past_its_deadline_is_shown_expired_before_the_sweeper_runs():
    record = finance_awaiting()
    later = NOW + timedelta(hours=2)

    card = incident_card(record, context(ALEX, now=later))

    assert executes(card, "approve") == []
    assert "Approval expired" in shown_text(card)


def test_final_states_are_spelled_out_for_everyone():
    rejected_and_failed = shown_text(incident_card(phishing_rejected_and_failed(), context()))
    assert "Rejected by Megan Bowen" in rejected_and_failed
    assert "Failed: Defender answered 503 four times" in rejected_and_failed

    executed = shown_text(incident_card(impossible_travel(), context()))
    assert "Executed at 08:50 UTC" in executed

    denied = shown_text(incident_card(breakglass_denied(), context()))
    assert "Denied by policy" in denied
    assert "Escalated to the SOC" in denied
    assert "forbidden_entities.user_principal_names lists breakglass01" in denied


def test_undo_is_offered_to_approvers_inside_the_window_for_reversible_actions_only():
    record = impossible_travel()

    card = incident_card(record, context(ALEX))

    [undo] = executes(card, "undo")
    disable = next(r for r in record.runs if r.proposed.action == "disable_user")
    assert undo["data"] == {"run_id": disable.id}
    assert "can be undone until 1 Dec 08:50 UTC" in shown_text(card)
    assert executes(incident_card(record, context(ADELE)), "undo") == []


def test_undo_closes_when_the_window_has_passed():
    card = incident_card(impossible_travel(), context(ALEX, now=NOW + timedelta(days=2)))

    assert executes(card, "undo") == []


def test_undone_action_offers_no_second_undo():
    card = incident_card(malware_undone(), context(ALEX))

    assert executes(card, "undo") == []
    text = shown_text(card)
    assert "Undone at 08:57 UTC" in text
    assert "Undo: Unisolate device" in text
    assert "Executing" in text


def test_every_action_has_a_why_button_for_everyone():
    record = phishing_rejected_and_failed()

    why = executes(incident_card(record, context(ADELE)), "why")

    assert sorted(b["data"]["run_id"] for b in why) == sorted(r.id for r in record.runs)


def test_dry_run_banner_opens_the_card():
    card = incident_card(malware_dry_run(), context())

    first = card["body"][0]
    assert first["type"] == "Container" and first["style"] == "attention"
    assert first["items"][0]["text"] == "DRY RUN \u2014 nothing will be changed"
    assert "Dry run: simulated, nothing was changed" in shown_text(card)


def test_observe_banner_opens_the_card():
    card = incident_card(travel_observed(), context(ALEX))

    first = card["body"][0]
    assert first["type"] == "Container" and first["style"] == "warning"
    assert first["items"][0]["text"] == "OBSERVE MODE \u2014 Cordon only shows what it would do"
    assert executes(card, "approve") == [] and executes(card, "undo") == []


def test_banner_answers_the_click_at_the_top():
    ctx = context(MEGAN, banner=Banner("Approved by Megan Bowen, executing", "good"))

    card = incident_card(finance_awaiting(), ctx)

    assert card["body"][0]["style"] == "good"
    assert card["body"][0]["items"][0]["text"] == "Approved by Megan Bowen, executing"


def test_severity_number_and_link_are_shown():
    record = finance_awaiting()

    card = incident_card(record, context())

    header = card["body"][1]
    assert header["text"].startswith("**High severity** \u00b7 Incident 4522")
    assert header["color"] == "attention"
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Sentinel",
                                "url": record.incident.url}]


def test_an_incident_link_outside_the_microsoft_portals_is_not_offered():
    record = finance_awaiting()
    record = record.model_copy(update={"incident": record.incident.model_copy(
        update={"url": "https://portal.azure.com.evil.example/login"})})

    assert "actions" not in incident_card(record, context())


def test_markdown_link_and_mention_in_the_title_are_neutralised():
    card = incident_card(injected_title(), context(ALEX))

    title = card["body"][0]["text"]
    assert "](" not in title and "[" not in title
    assert "<at>" not in title and "https://" not in title
    assert "hxxps://evil.example/approve" in title
    assert all("evil.example" not in b.get("url", "") for b in card.get("actions", []))


def test_actions_needing_the_viewer_come_first_and_none_are_lost_silently():
    record = stress_all_pending()

    card = incident_card(record, context(MEGAN))

    approvals = executes(card, "approve")
    assert len(approvals) >= 15
    text = shown_text(card)
    shown = len(approvals)
    if shown < len(record.runs):
        assert f"And {len(record.runs) - shown} more actions not shown" in text


def test_failed_lookups_are_named_so_readers_know_what_is_missing():
    record = impossible_travel()
    failures = [LookupFailure(lookup="defender.machines",
                              entity="fab-lt-0193.corp.fabrikam.example",
                              error="timed out after 5 s")]
    record = record.model_copy(update={
        "enrichment": record.enrichment.model_copy(update={"failures": failures})})

    text = shown_text(incident_card(record, context()))

    assert "Lookups failed (1)" in text
    assert "defender.machines for fab-lt-0193.corp.fabrikam.example" in text


def test_status_card_is_the_shared_view_without_refresh():
    card = status_card(finance_awaiting(), context(ALEX))

    assert "refresh" not in card
    assert executes(card, "approve") == []
    assert executes(card, "why")
