"""Every card the bot can send validates against the Adaptive Card 1.5 schema and fits 28 KB,
for every scenario record, every kind of viewer, and an incident far larger than any real one.
"""

from __future__ import annotations

import pytest

from cards import (
    MAX_CARD_BYTES,
    Banner,
    PendingItem,
    card_size,
    error_card,
    help_card,
    incident_card,
    message_card,
    pending_items,
    pending_list_card,
    policy_card,
    status_card,
    validate_card,
    why_card,
)
from tests.cards.conftest import ADELE, ALEX, NOW, RECORDS, context, stress


def assert_sendable(card: dict) -> None:
    assert validate_card(card) == []
    assert card_size(card) < MAX_CARD_BYTES
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["$schema"].startswith("http://adaptivecards.io/schemas/")


@pytest.mark.parametrize("viewer", [None, ALEX, ADELE], ids=["channel", "approver", "reader"])
def test_incident_card_is_sendable_for_every_scenario_and_viewer(any_record, viewer):
    assert_sendable(incident_card(any_record, context(viewer)))


def test_incident_card_with_a_banner_is_sendable(any_record):
    ctx = context(ALEX, banner=Banner("Approved by Megan Bowen, executing", "good"))
    assert_sendable(incident_card(any_record, ctx))


def test_status_card_is_sendable(any_record):
    assert_sendable(status_card(any_record, context()))


def test_why_card_is_sendable_for_every_action(any_record):
    for run in any_record.runs[:5]:
        answer = any_record.recommendation.rationale * 3
        card = why_card(any_record, run, answer, any_record.recommendation.evidence)
        assert_sendable(card)


def test_pending_list_is_sendable_with_every_scenario_pending_at_once():
    items = [item for make in RECORDS.values() for item in pending_items(make(), NOW)]
    assert len(items) > 30
    assert_sendable(pending_list_card(items, NOW))
    assert_sendable(pending_list_card([], NOW))


def test_small_cards_are_sendable():
    assert_sendable(message_card("Subscribed: incident cards will come to this channel."))
    assert_sendable(error_card("Only SOC Leads may pause automation. Ask Megan Bowen."))
    assert_sendable(message_card("x" * 50_000, title="y" * 500, style="warning"))
    assert_sendable(help_card())
    assert_sendable(policy_card(["mode: automate", "dry_run: false"]))
    assert_sendable(policy_card([f"rule {i}: " + "condition " * 40 for i in range(500)]))


def test_a_huge_incident_still_fits_and_is_summarised_not_cut():
    record = stress()

    card = incident_card(record, context(ALEX))

    assert_sendable(card)
    text = str(card)
    assert "and 495 more accounts" in text or "and 497 more accounts" in text \
        or "and 499 more accounts" in text
    assert "Accounts (500)" in text
    assert "Alerts (200)" in text


def test_non_latin_text_everywhere_still_fits():
    record = stress()
    wide = "\u6f22\u5b57\U0001f512" * 3000
    incident = record.incident.model_copy(update={"title": wide, "description": wide})
    record = record.model_copy(update={
        "incident": incident,
        "recommendation": record.recommendation.model_copy(update={"rationale": wide}),
    })

    assert_sendable(incident_card(record, context(ALEX)))
    assert_sendable(status_card(record, context()))


def test_pending_item_with_many_approvers_fits():
    item = PendingItem(4522, "t" * 5000, "disable_user", "u" * 5000, 9,
                       tuple(f"Approver {i}" for i in range(50)), NOW)
    assert_sendable(pending_list_card([item] * 300, NOW))
