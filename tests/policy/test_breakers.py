"""Circuit breakers: limits, the admin's pause and the cool-off turn auto into approval."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from policy import Usage, UsageWindow

from .conftest import MONDAY_MORNING

DANA = "dana.rossi@fabrikam.example"
DAY = 86400
TEN_MINUTES = 600


def test_policy_declares_what_the_caller_must_count(shared_policy):
    assert shared_policy.usage_windows() == [
        UsageWindow("disable_user", DAY), UsageWindow("*", DAY), UsageWindow("*", TEN_MINUTES)]


def test_tenth_disable_of_the_day_trips_the_limit(shared_policy, fabrikam, quiet):
    usage = replace(quiet, executed={**quiet.executed, ("disable_user", DAY): 10})

    decision = shared_policy.decide(fabrikam.context("disable_user", DANA, user=DANA), usage)

    assert decision.verdict == "approval"
    assert decision.rules == ("limits[0]",)
    assert decision.reasons == ("limits[0]: 10 disable_user per 24h reached (10 executed)",)


def test_limit_on_disable_leaves_other_actions_alone(shared_policy, fabrikam, quiet):
    usage = replace(quiet, executed={**quiet.executed, ("disable_user", DAY): 10})

    decision = shared_policy.decide(fabrikam.context("revoke_sessions", DANA, user=DANA), usage)

    assert decision.verdict == "auto"


def test_limit_on_every_action_stops_any_action(shared_policy, fabrikam, quiet):
    usage = replace(quiet, executed={**quiet.executed, ("*", DAY): 100})

    decision = shared_policy.decide(
        fabrikam.context("block_ip", "203.0.113.45", ip="203.0.113.45"), usage)

    assert decision.verdict == "approval"
    assert decision.reasons == ("limits[1]: 100 actions per 24h reached (100 executed)",)


def test_paused_automation_needs_approval_for_everything(shared_policy, fabrikam, quiet):
    usage = replace(quiet, paused=True, paused_by="Megan Bowen")

    decision = shared_policy.decide(fabrikam.context("revoke_sessions", DANA, user=DANA), usage)

    assert decision.verdict == "approval"
    assert decision.rules == ("paused",)
    assert "paused by Megan Bowen" in decision.reasons[0]


def test_breaker_never_overrides_a_denial_or_an_escalation(shared_policy, fabrikam, quiet):
    usage = replace(quiet, paused=True)

    denied = shared_policy.decide(fabrikam.context("deallocate_vm", "vm-1"), usage)
    escalated = shared_policy.decide(
        fabrikam.context("revoke_sessions", DANA, user=DANA, confidence=0.2), usage)

    assert (denied.verdict, escalated.verdict) == ("denied", "escalated")


def test_burst_of_actions_trips_the_cool_off(shared_policy, fabrikam, quiet):
    burst = replace(quiet, executed={**quiet.executed, ("*", TEN_MINUTES): 30})

    decision = shared_policy.decide(fabrikam.context("revoke_sessions", DANA, user=DANA), burst)

    assert shared_policy.cool_off_tripped(burst)
    assert not shared_policy.cool_off_tripped(quiet)
    assert decision.verdict == "approval"
    assert decision.rules == ("cool_off",)
    assert "pauses for 30m" in decision.reasons[0]


def test_persisted_cool_off_holds_until_it_ends(shared_policy, fabrikam, quiet):
    cooling = replace(quiet, cool_off_until=MONDAY_MORNING + timedelta(minutes=20))
    later = MONDAY_MORNING + timedelta(minutes=21)

    during = shared_policy.decide(
        fabrikam.context("revoke_sessions", DANA, user=DANA), cooling)
    after = shared_policy.decide(
        fabrikam.context("revoke_sessions", DANA, user=DANA, now=later), cooling)

    assert during.verdict == "approval"
    assert "paused until 2026-11-30 10:20 UTC" in during.reasons[0]
    assert after.verdict == "auto"


def test_a_window_left_uncounted_fails_closed(shared_policy, fabrikam):
    decision = shared_policy.decide(fabrikam.context("revoke_sessions", DANA, user=DANA), Usage())

    assert decision.verdict == "approval"
    assert "no count was given" in decision.reasons[0]


def test_all_breaker_reasons_are_listed_together(shared_policy, fabrikam, quiet):
    usage = Usage(executed={("disable_user", DAY): 12, ("*", DAY): 100, ("*", TEN_MINUTES): 31},
                  paused=True, paused_by="Megan Bowen")

    decision = shared_policy.decide(fabrikam.context("disable_user", DANA, user=DANA), usage)

    assert decision.rules == ("paused", "limits[0]", "limits[1]", "cool_off")
