"""Adaptive Card 1.5 elements as plain dicts, spelled the way the official schema spells them.

Each function builds one element and sets only properties the schema allows for it, so a card
assembled from them validates. They take text as given: what comes from outside Cordon must be
passed through `cards.untrusted_text.plain` first.
"""

from __future__ import annotations

from typing import Any, Literal

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"

Color = Literal["default", "dark", "light", "accent", "good", "warning", "attention"]
Style = Literal["default", "emphasis", "good", "attention", "warning", "accent"]
Element = dict[str, Any]


def adaptive_card(
    body: list[Element],
    actions: list[Element] | None = None,
    refresh: Element | None = None,
    fallback_text: str = "",
) -> Element:
    card: Element = {"$schema": SCHEMA_URL, "type": "AdaptiveCard", "version": VERSION}
    if refresh:
        card["refresh"] = refresh
    card["body"] = body
    if actions:
        card["actions"] = actions
    if fallback_text:
        card["fallbackText"] = fallback_text
    return card


def text(
    value: str,
    *,
    size: Literal["small", "default", "medium", "large", "extraLarge"] | None = None,
    weight: Literal["default", "lighter", "bolder"] | None = None,
    color: Color | None = None,
    subtle: bool = False,
    separator: bool = False,
    spacing: Literal["none", "small", "default", "medium", "large"] | None = None,
) -> Element:
    block: Element = {"type": "TextBlock", "text": value, "wrap": True}
    if size:
        block["size"] = size
    if weight:
        block["weight"] = weight
    if color and color != "default":
        block["color"] = color
    if subtle:
        block["isSubtle"] = True
    if separator:
        block["separator"] = True
    if spacing:
        block["spacing"] = spacing
    return block


def facts(pairs: list[tuple[str, str]]) -> Element:
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def container(
    items: list[Element],
    *,
    style: Style | None = None,
    separator: bool = False,
    bleed: bool = False,
) -> Element:
    box: Element = {"type": "Container", "items": items}
    if style:
        box["style"] = style
    if separator:
        box["separator"] = True
    if bleed:
        box["bleed"] = True
    return box


def execute(
    title: str,
    verb: str,
    data: dict[str, Any],
    *,
    style: Literal["default", "positive", "destructive"] | None = None,
    tooltip: str = "",
) -> Element:
    action: Element = {"type": "Action.Execute", "title": title, "verb": verb, "data": data}
    if style:
        action["style"] = style
    if tooltip:
        action["tooltip"] = tooltip
    return action


def open_url(title: str, url: str) -> Element:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def action_set(actions: list[Element]) -> Element:
    return {"type": "ActionSet", "actions": actions}


def refresh(verb: str, data: dict[str, Any], user_ids: list[str]) -> Element:
    return {
        "action": {"type": "Action.Execute", "verb": verb, "data": data},
        "userIds": user_ids,
    }
