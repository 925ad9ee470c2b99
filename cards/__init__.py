"""Adaptive Card 1.5 cards for Teams, built as pure functions of Cordon's domain objects.

The bot calls these and sends what they return; nothing here talks to Teams, the store or the
policy. Every card validates against the official schema (`validate_card`) and fits in 28 KB
(`card_size`), whatever the incident holds.
"""

from cards.context import Banner, CardContext, Viewer
from cards.help import COMMANDS, help_card
from cards.incident import incident_card, needs_refresh, status_card
from cards.message import error_card, message_card
from cards.pending import PendingItem, pending_items, pending_list_card
from cards.policy_summary import policy_card
from cards.validation import MAX_CARD_BYTES, card_size, validate_card
from cards.why import why_card

__all__ = [
    "COMMANDS", "MAX_CARD_BYTES", "Banner", "CardContext", "PendingItem", "Viewer",
    "card_size", "error_card", "help_card", "incident_card", "message_card", "needs_refresh",
    "pending_items", "pending_list_card", "policy_card", "status_card", "validate_card",
    "why_card",
]
