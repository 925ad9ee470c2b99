"""The small cards: Why?, pending, policy, help, messages."""

from __future__ import annotations

from datetime import timedelta

from cards import help_card, message_card, pending_items, pending_list_card, policy_card, why_card
from cards.context import Banner
from cards.message import error_card
from tests.cards.conftest import (
    NOW,
    consent_expired,
    executes,
    finance_awaiting,
    shown_text,
    spray_four_eyes,
)


def test_why_card_answers_with_reasons_and_cited_evidence():
    record = finance_awaiting()
    disable = next(r for r in record.runs if r.proposed.action == "disable_user")

    card = why_card(record, disable, "Priya signed in from London then Lagos [E1].",
                    record.recommendation.evidence)

    text = shown_text(card)
    assert "Why disable user priya.natarajan@fabrikam.example?" in text
    assert "requires_approval rule 1 matched" in text
    assert "graph.signIns: Sign-ins from London and Lagos 19 minutes apart" in text
    assert executes(card) == []


def test_pending_lists_open_approvals_with_progress_newest_first():
    items = pending_items(spray_four_eyes(), NOW) + pending_items(finance_awaiting(), NOW)
    items[1] = items[1].__class__(**{**items[1].__dict__,
                                     "expires_at": NOW + timedelta(minutes=5)})

    card = pending_list_card(items, NOW)

    text = shown_text(card)
    assert "Pending approvals (2)" in text
    assert "1 of 2 approvals: Alex Wilber" in text
    assert text.index("expires in 55 min") < text.index("expires in 5 min")


def test_expired_approvals_are_not_pending():
    assert pending_items(consent_expired(), NOW) == []
    assert pending_items(finance_awaiting(), NOW + timedelta(hours=2)) == []
    assert "Nothing is waiting" in shown_text(pending_list_card([], NOW))


def test_policy_card_shows_lines_and_counts_the_rest():
    card = policy_card([f"rule {i}" for i in range(200)])

    text = shown_text(card)
    assert "rule 0" in text
    assert "more lines" in text


def test_help_lists_every_command():
    text = shown_text(help_card())

    for command in ("help", "subscribe", "pending", "status", "policy", "pause", "resume"):
        assert command in text


def test_error_card_is_red_and_says_what_was_wrong():
    card = error_card("This approval expired at 09:40 UTC; ask for the action again.")

    assert card["body"][0]["style"] == "attention"
    assert "expired at 09:40 UTC" in shown_text(card)
    assert message_card("ok")["body"][0].get("style") is None
    assert Banner.error("x").style == "attention"
