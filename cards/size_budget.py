"""Fitting a card under Teams' 28 KB whatever the incident holds, by showing less of it.

A card is built at the most generous `Detail` first; while it is over `CARD_BUDGET` it is
rebuilt at the next, more frugal level (fewer entities per kind, shorter rationale, fewer
evidence items, compact action lines, no Why buttons). Every level caps every list and every
text, so the last level is bounded; a minimal card, if even that is too big (text of many
non-Latin characters costs six bytes each once escaped), is the final answer. The JSON is never
cut: only what goes into it is.

`CARD_BUDGET` keeps 2 KB of the 28 KB for the activity that carries the card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from cards.validation import MAX_CARD_BYTES, card_size

log = structlog.get_logger(__name__)

CARD_BUDGET = MAX_CARD_BYTES - 2048


@dataclass(frozen=True)
class Detail:
    """How much of an incident one rendering shows."""

    level: int
    title_chars: int
    description_chars: int
    line_chars: int
    rationale_chars: int
    entities_per_kind: int
    entity_chars: int
    alert_names: int
    evidence_items: int
    reasons_per_action: int
    detailed_actions: int
    listed_actions: int
    why_buttons: bool
    list_items: int


LEVELS = (
    Detail(level=0, title_chars=200, description_chars=500, line_chars=300,
           rationale_chars=1200, entities_per_kind=5, entity_chars=80, alert_names=5,
           evidence_items=8, reasons_per_action=4, detailed_actions=30, listed_actions=40,
           why_buttons=True, list_items=40),
    Detail(level=1, title_chars=160, description_chars=240, line_chars=200,
           rationale_chars=600, entities_per_kind=3, entity_chars=60, alert_names=3,
           evidence_items=5, reasons_per_action=3, detailed_actions=10, listed_actions=30,
           why_buttons=True, list_items=30),
    Detail(level=2, title_chars=120, description_chars=0, line_chars=140,
           rationale_chars=300, entities_per_kind=2, entity_chars=50, alert_names=2,
           evidence_items=3, reasons_per_action=2, detailed_actions=4, listed_actions=30,
           why_buttons=False, list_items=20),
    Detail(level=3, title_chars=100, description_chars=0, line_chars=90,
           rationale_chars=160, entities_per_kind=1, entity_chars=40, alert_names=1,
           evidence_items=2, reasons_per_action=1, detailed_actions=0, listed_actions=30,
           why_buttons=False, list_items=12),
    Detail(level=4, title_chars=80, description_chars=0, line_chars=60,
           rationale_chars=100, entities_per_kind=1, entity_chars=30, alert_names=1,
           evidence_items=1, reasons_per_action=0, detailed_actions=0, listed_actions=15,
           why_buttons=False, list_items=8),
)


def fitted(
    build: Callable[[Detail], dict[str, Any]],
    minimal: Callable[[], dict[str, Any]],
    *,
    kind: str,
) -> dict[str, Any]:
    """The most detailed rendering of `build` within `CARD_BUDGET`, else `minimal()`."""
    for detail in LEVELS:
        card = build(detail)
        size = card_size(card)
        if size <= CARD_BUDGET:
            if detail.level:
                log.debug("card summarised", card=kind, level=detail.level, size=size)
            return card

    log.warning("card reduced to minimum", card=kind, size=size, budget=CARD_BUDGET)
    return minimal()
