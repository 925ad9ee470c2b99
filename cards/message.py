"""Small cards for one message: a toast-like answer, a refusal, an error.

The text is the bot's own but may quote names and targets, so it is neutralised all the same.
"""

from __future__ import annotations

from cards import adaptive
from cards.adaptive import Element
from cards.context import BannerStyle
from cards.untrusted_text import plain

MESSAGE_CHARS = 2000


def message_card(text: str, *, title: str = "", style: BannerStyle = "default") -> Element:
    """One message, optionally titled, in a container of `style` (`attention` for errors)."""
    items = []
    if title:
        items.append(adaptive.text(plain(title, 120), weight="bolder"))
    items.append(adaptive.text(plain(text, MESSAGE_CHARS) or "(no message)"))
    box = adaptive.container(items, style=None if style == "default" else style)
    return adaptive.adaptive_card([box], fallback_text=plain(text, 200))


def error_card(text: str) -> Element:
    """A refusal or failure, in red, saying what was wrong and what would be accepted."""
    return message_card(text, title="Cordon could not do that", style="attention")
