"""Times as a card says them: `09:40 UTC`, `30 Nov 09:40 UTC`, `in 35 min`.

Times without a zone (SQLite hands them back that way) are taken as UTC. Cards say UTC rather
than guess a reader's zone: the people reading one card sit in different ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clock(moment: datetime, now: datetime) -> str:
    """`09:40 UTC` on the same day as `now`, else `30 Nov 09:40 UTC`."""
    moment, now = aware(moment).astimezone(UTC), aware(now).astimezone(UTC)
    if moment.date() == now.date():
        return moment.strftime("%H:%M UTC")
    return stamp(moment)


def stamp(moment: datetime) -> str:
    """`30 Nov 09:40 UTC`."""
    moment = aware(moment).astimezone(UTC)
    return f"{moment.day} {moment.strftime('%b %H:%M UTC')}"


def remaining(until: datetime, now: datetime) -> str:
    """`in 35 min`, `in 2 h 5 min`, `in 3 days`; `now` when the moment has come."""
    left = aware(until) - aware(now)
    if left <= timedelta(0):
        return "now"

    minutes = max(1, int(left.total_seconds() // 60))
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"in {hours} h {minutes} min" if minutes else f"in {hours} h"
    return f"in {hours // 24} days"
