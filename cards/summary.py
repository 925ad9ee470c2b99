"""Summaries that keep a card small whatever the incident holds: shorter text, capped lists.

`shorten` cuts text at a word boundary and marks the cut with an ellipsis; `capped` keeps the
first few items of a list and says how many more there were (`and 497 more accounts`). Neither
ever cuts structure: they work on text and lists before a card is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

ELLIPSIS = "\u2026"


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut at a word boundary with an ellipsis.

    A single word longer than the room (a hash, a URL) is cut inside the word instead.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text

    room = limit - 1
    cut = text.rfind(" ", 0, room + 1)
    if cut < room // 2:
        cut = room
    return text[:cut].rstrip(" ,;:") + ELLIPSIS


def capped(items: Sequence[T], limit: int) -> tuple[list[T], int]:
    """The first `limit` items and how many were left out."""
    kept = list(items[: max(limit, 0)])
    return kept, len(items) - len(kept)


def and_more(count: int, singular: str, plural: str | None = None) -> str:
    """`and 3 more accounts`, or an empty string when nothing was left out."""
    if count <= 0:
        return ""
    return f"and {count} more {noun(count, singular, plural)}"


def noun(count: int, singular: str, plural: str | None = None) -> str:
    return singular if count == 1 else (plural or f"{singular}s")
