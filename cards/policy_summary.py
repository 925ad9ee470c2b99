"""The answer to `policy`: the policy in force, as lines the policy part wrote for people.

The lines arrive ready to read (`mode: automate`, `disable_user needs approval when …`); the
card shows the first ones that fit and says how many more there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from cards import adaptive
from cards.adaptive import Element
from cards.size_budget import fitted
from cards.summary import and_more, capped
from cards.untrusted_text import plain


def policy_card(lines: Sequence[str], *, title: str = "Policy in force") -> Element:
    return fitted(
        lambda detail: _render(lines, title, detail.list_items * 2, detail.line_chars),
        lambda: _render(lines, title, 10, 60),
        kind="policy",
    )


def _render(lines: Sequence[str], title: str, limit: int, chars: int) -> Element:
    body = [adaptive.text(f"**{plain(title, 80)}**", size="medium")]
    kept, more = capped(lines, limit)
    if not kept:
        body.append(adaptive.text("The policy has nothing to show.", subtle=True))
    body.extend(adaptive.text(plain(line, chars), spacing="none") for line in kept)
    if more:
        body.append(adaptive.text(and_more(more, "line").capitalize(), subtle=True))
    return adaptive.adaptive_card(body, fallback_text=plain(title, 80))
