"""Time windows: `now` is read in the policy's timezone."""

from __future__ import annotations

from datetime import UTC, datetime

from policy import Usage, load_policy_text

DANA = "dana.rossi@fabrikam.example"
NIGHT_RULE = """
autonomous_response_policy:
  allowed_actions: [disable_user]
  timezone: {zone}
  requires_approval:
    - action: disable_user
      condition: now.hour < 7 || now.hour >= 19 || now.weekday > 5
"""


def _verdict(zone: str, moment: datetime, fabrikam) -> str:
    policy = load_policy_text(NIGHT_RULE.format(zone=zone))
    context = fabrikam.context("disable_user", DANA, user=DANA, now=moment)
    return policy.decide(context, Usage.nothing_executed(policy)).verdict


def test_office_hours_in_utc(fabrikam):
    assert _verdict("UTC", datetime(2026, 11, 30, 10, 0, tzinfo=UTC), fabrikam) == "auto"
    assert _verdict("UTC", datetime(2026, 11, 30, 20, 0, tzinfo=UTC), fabrikam) == "approval"


def test_same_moment_is_night_in_tokyo_and_day_in_berlin(fabrikam):
    moment = datetime(2026, 11, 30, 12, 30, tzinfo=UTC)

    assert _verdict("Europe/Berlin", moment, fabrikam) == "auto"
    assert _verdict("Asia/Tokyo", moment, fabrikam) == "approval"


def test_weekend_needs_approval(fabrikam):
    saturday_noon = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    assert _verdict("UTC", saturday_noon, fabrikam) == "approval"


def test_late_sunday_in_new_york_is_already_monday_in_utc(fabrikam):
    sunday_evening_ny = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

    assert _verdict("America/New_York", sunday_evening_ny, fabrikam) == "approval"


def test_date_is_available_for_change_freezes(fabrikam):
    policy = load_policy_text("""
autonomous_response_policy:
  allowed_actions: [disable_user]
  timezone: Europe/Berlin
  requires_approval:
    - action: "*"
      condition: now.date == "2026-12-24"
""")
    christmas_eve = datetime(2026, 12, 23, 23, 30, tzinfo=UTC)
    context = fabrikam.context("disable_user", DANA, user=DANA, now=christmas_eve)

    assert policy.decide(context, Usage.nothing_executed(policy)).verdict == "approval"
