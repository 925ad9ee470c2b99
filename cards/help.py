"""The answer to `help`: each command with what it does, and how to ask questions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cards import adaptive
from cards.adaptive import Element
from cards.untrusted_text import plain

COMMANDS: tuple[tuple[str, str], ...] = (
    ("help", "Show what I can do"),
    ("subscribe", "Post incident cards to this conversation"),
    ("pending", "List the approvals waiting for an approver"),
    ("status <incident number>", "Show an incident's card as it stands"),
    ("policy", "Show the response policy in force"),
    ("pause", "Stop automatic actions; everything needs approval (SOC leads)"),
    ("resume", "Let automatic actions run again (SOC leads)"),
)

QUESTIONS = ("why block 203.0.113.45?", "what evidence?", "who approved?")


def help_card(
    commands: Mapping[str, str] | Iterable[tuple[str, str]] = COMMANDS,
    *,
    bot_name: str = "Cordon",
) -> Element:
    """Commands as (name, what it does) pairs; the first 30 are shown."""
    pairs = list(commands.items()) if isinstance(commands, Mapping) else list(commands)
    body = [
        adaptive.text(f"**{plain(bot_name, 40)}** \u00b7 policy-gated response for Sentinel",
                      size="medium"),
        adaptive.facts([(plain(name, 60), plain(text, 200)) for name, text in pairs[:30]]),
        adaptive.text("Or ask about an incident in your own words, for example "
                      + ", ".join(f"\u201c{q}\u201d" for q in QUESTIONS)
                      + ". In a channel, @mention me first.", subtle=True),
    ]
    return adaptive.adaptive_card(body, fallback_text=f"{plain(bot_name, 40)} commands")
