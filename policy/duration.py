"""Durations as a policy writes them: `30s`, `10m`, `24h`, `7d`, `2w`, or combined (`1h30m`).

`parse_duration` answers whole seconds, or raises `ValueError` saying what is accepted. Bare
numbers are refused: `per: 24` could mean hours or seconds, and a guess here decides how often
Cordon may act on its own.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")


def parse_duration(text: object) -> int:
    """Seconds in `text`; a ValueError names what was wrong."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"expected a duration like 10m, 24h or 7d, got {text!r}")

    if not _WHOLE.match(text.lower()):
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit (s, m, h, d, w), "
            "like 10m, 24h or 7d")

    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text.lower()))
    if seconds <= 0:
        raise ValueError(f"{text!r} is no time at all: a duration must be longer than zero")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest way to write `seconds` in the policy's own units (`86400` is `24h`...)."""
    if seconds % 86400 == 0 and seconds > 86400:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"
