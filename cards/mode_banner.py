"""The banners at the top of a card that nobody can miss: dry run, observe mode, notices.

A dry run or observe-mode incident must never be mistaken for one where Cordon acted, so the
card opens with a full-width coloured container saying so, above the title. A notice is the
bot's own line for the clicker or the channel (`Approved by Megan Bowen, executing`, an error).
"""

from __future__ import annotations

from cards import adaptive
from cards.adaptive import Element
from cards.context import Banner
from cards.untrusted_text import plain
from core.models import IncidentRecord

DRY_RUN = "DRY RUN \u2014 nothing will be changed"
OBSERVE = "OBSERVE MODE \u2014 {bot} only shows what it would do"


def mode_banners(record: IncidentRecord, bot_name: str = "Cordon") -> list[Element]:
    found = []
    if record.mode == "observe":
        headline = OBSERVE.format(bot=plain(bot_name, 40))
        found.append(_banner(headline, "Actions are listed with the verdict they would get; "
                                      "none is executed.", "warning"))
    if record.dry_run:
        found.append(_banner(DRY_RUN, "Execution is simulated: Cordon records what it would "
                                      "have sent and calls nothing.", "attention"))
    return found


def notice(banner: Banner, limit: int = 300) -> Element:
    return adaptive.container(
        [adaptive.text(plain(banner.text, limit), weight="bolder")],
        style=banner.style, bleed=True,
    )


def _banner(headline: str, explanation: str, style: adaptive.Style) -> Element:
    return adaptive.container(
        [
            adaptive.text(headline, size="large", weight="bolder",
                          color="attention" if style == "attention" else "warning"),
            adaptive.text(explanation, spacing="none"),
        ],
        style=style, bleed=True,
    )
