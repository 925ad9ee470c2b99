"""Verdicts on the Fabrikam scenarios under the shared policy, in DESIGN.md's order."""

from __future__ import annotations

from dataclasses import replace

from policy import Usage, load_policy_text

DANA = "dana.rossi@fabrikam.example"
PRIYA = "priya.natarajan@fabrikam.example"
MARCUS = "marcus.lee@fabrikam.example"
BREAKGLASS = "breakglass01@fabrikam.example"
LENA_LAPTOP = "fab-lt-0310.corp.fabrikam.example"
SQL_SERVER = "fab-sql-01.corp.fabrikam.example"
WEB_SERVER = "fab-web-02.corp.fabrikam.example"


def test_compromised_sales_user_is_disabled_automatically(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(fabrikam.context("disable_user", DANA, user=DANA), quiet)

    assert decision.verdict == "auto"
    assert decision.approvers_required == 0
    assert "allowed_actions" in decision.reasons[0]


def test_finance_user_needs_approval_before_disable(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(fabrikam.context("disable_user", PRIYA, user=PRIYA), quiet)

    assert decision.verdict == "approval"
    assert decision.rules == ("requires_approval[0]",)
    assert decision.approvers_required == 1
    assert decision.reasons == (
        'requires_approval[0] (Disable-AzureADUser when user.department == "Finance") matched',)


def test_finance_user_sessions_are_revoked_without_waiting(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(fabrikam.context("revoke_sessions", PRIYA, user=PRIYA), quiet)

    assert decision.verdict == "auto"


def test_alias_in_the_context_is_judged_as_its_canonical_action(shared_policy, fabrikam, quiet):
    context = fabrikam.context("Revoke-MgUserSignInSession", DANA, user=DANA)

    decision = shared_policy.decide(context, quiet)

    assert (decision.verdict, decision.action) == ("auto", "revoke_sessions")


def test_breakglass_account_is_never_disabled_and_the_incident_escalates(
        shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("disable_user", BREAKGLASS, user=BREAKGLASS), quiet)

    assert decision.verdict == "denied"
    assert decision.escalate_incident
    assert set(decision.rules) == {"forbidden_entities.user_principal_names",
                                   "forbidden_entities.groups"}
    assert any("Break Glass" in reason for reason in decision.reasons)


def test_break_glass_group_member_is_protected_under_any_name(shared_policy, fabrikam, quiet):
    user = {**fabrikam.user(BREAKGLASS), "userPrincipalName": "bg-renamed@fabrikam.example"}
    context = fabrikam.context("revoke_sessions", "bg-renamed@fabrikam.example", user=None)
    context["user"] = user

    decision = shared_policy.decide(context, quiet)

    assert decision.verdict == "denied"
    assert decision.rules == ("forbidden_entities.groups",)
    assert decision.escalate_incident


def test_upn_target_is_matched_without_regard_to_case(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("revoke_sessions", "BreakGlass01@Fabrikam.example"), quiet)

    assert decision.verdict == "denied"


def test_address_in_the_critical_subnet_is_never_blocked(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("block_ip", "10.0.1.20", ip="10.0.1.20"), quiet)

    assert decision.verdict == "denied"
    assert decision.rules == ("forbidden_entities.ip_ranges",)
    assert "10.0.1.20 is inside 10.0.1.0/24" in decision.reasons[0]
    assert decision.escalate_incident


def test_external_spray_address_is_blocked_automatically(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("Microsoft.Network/networkSecurityGroups/securityRules/write",
                         "203.0.113.45", ip="203.0.113.45"), quiet)

    assert (decision.verdict, decision.action) == ("auto", "block_ip")


def test_tier0_sql_server_is_never_isolated(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("isolate_device", SQL_SERVER, device=SQL_SERVER), quiet)

    assert decision.verdict == "denied"
    assert "forbidden_entities.device_tags" in decision.rules
    assert decision.escalate_incident


def test_every_entity_in_the_context_is_checked_not_only_the_target(
        shared_policy, fabrikam, quiet):
    context = fabrikam.context("isolate_device", LENA_LAPTOP, device=LENA_LAPTOP,
                               entities={"users": [BREAKGLASS], "ips": ["10.0.1.5"]})

    decision = shared_policy.decide(context, quiet)

    assert decision.verdict == "denied"
    assert set(decision.rules) == {"forbidden_entities.user_principal_names",
                                   "forbidden_entities.ip_ranges"}


def test_infected_workstation_is_isolated_automatically(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("isolate_device", LENA_LAPTOP, device=LENA_LAPTOP), quiet)

    assert decision.verdict == "auto"


def test_server_isolation_needs_approval(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("isolate_device", WEB_SERVER, device=WEB_SERVER), quiet)

    assert decision.verdict == "approval"
    assert decision.rules == ("requires_approval[2]",)


def test_domain_admin_needs_two_approvers(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(fabrikam.context("disable_user", MARCUS, user=MARCUS), quiet)

    assert decision.verdict == "approval"
    assert decision.approvers_required == 2
    assert decision.rules == ("requires_approval[1]",)
    assert "asks for 2 approvers" in decision.reasons[0]


def test_all_matching_rules_are_named_and_the_most_approvers_win(fabrikam, quiet):
    policy = load_policy_text("""
autonomous_response_policy:
  allowed_actions: [disable_user]
  requires_approval:
    - action: disable_user
      condition: user.department == "IT"
    - action: "*"
      condition: '"Domain Admins" in user.groups'
      approvers: 3
""")

    decision = policy.decide(fabrikam.context("disable_user", MARCUS, user=MARCUS), quiet)

    assert decision.rules == ("requires_approval[0]", "requires_approval[1]")
    assert decision.approvers_required == 3


def test_campaign_purge_of_five_messages_needs_approval(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("purge_email", "billing@contoso-pay.example", count=5), quiet)

    assert decision.verdict == "approval"
    assert decision.rules == ("requires_approval[3]",)


def test_purge_of_two_messages_runs_automatically(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("purge_email", "billing@contoso-pay.example", count=2), quiet)

    assert decision.verdict == "auto"


def test_app_consent_is_always_revoked_by_a_human(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("revoke_app_consent", "4f2a0c9e-0000-4000-8000-00000000a11c"), quiet)

    assert decision.verdict == "approval"
    assert "revoke_app_consent always" in decision.reasons[0]


def test_action_outside_allowed_actions_is_denied(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("deallocate_vm", "vm-build-07"), quiet)

    assert decision.verdict == "denied"
    assert decision.rules == ("allowed_actions",)
    assert not decision.escalate_incident


def test_unknown_action_is_denied(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(fabrikam.context("format_disk", DANA, user=DANA), quiet)

    assert decision.verdict == "denied"
    assert "catalog" in decision.reasons[0]


def test_undo_is_allowed_because_its_forward_action_is(shared_policy, fabrikam, quiet):
    enable = shared_policy.decide(fabrikam.context("enable_user", DANA, user=DANA), quiet)
    start = shared_policy.decide(fabrikam.context("start_vm", "vm-build-07"), quiet)

    assert enable.verdict == "auto"
    assert start.verdict == "denied"
    assert "deallocate_vm" in start.reasons[0]


def test_undo_aimed_at_a_forbidden_entity_is_denied_too(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("unblock_ip", "10.0.1.20", ip="10.0.1.20"), quiet)

    assert decision.verdict == "denied"


def test_low_confidence_escalates_to_humans(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("disable_user", DANA, user=DANA, confidence=0.3), quiet)

    assert decision.verdict == "escalated"
    assert decision.rules == ("escalate_below",)
    assert decision.escalate_incident


def test_middling_confidence_needs_approval(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("disable_user", DANA, user=DANA, confidence=0.7), quiet)

    assert decision.verdict == "approval"
    assert decision.reasons == ("confidence 0.70 is below min_confidence 0.85",)


def test_missing_confidence_never_runs_alone(shared_policy, fabrikam, quiet):
    context = fabrikam.context("disable_user", DANA, user=DANA)
    del context["confidence"]

    assert shared_policy.decide(context, quiet).verdict == "approval"


def test_forbidden_entity_is_denied_even_with_low_confidence(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("disable_user", BREAKGLASS, user=BREAKGLASS, confidence=0.1), quiet)

    assert decision.verdict == "denied"


def test_observe_mode_shows_what_would_have_happened(shared_policy, fabrikam, quiet):
    observing = replace(shared_policy, mode="observe")

    dana = observing.decide(fabrikam.context("disable_user", DANA, user=DANA), quiet)
    priya = observing.decide(fabrikam.context("disable_user", PRIYA, user=PRIYA), quiet)
    breakglass = observing.decide(fabrikam.context("disable_user", BREAKGLASS), quiet)

    assert (dana.verdict, priya.verdict, breakglass.verdict) == ("observed", "observed", "denied")
    assert "would run on its own" in dana.reasons[0]
    assert any("requires_approval[0]" in reason for reason in priya.reasons)


def test_orchestrate_mode_automates_only_low_impact_actions(shared_policy, fabrikam, quiet):
    orchestrating = replace(shared_policy, mode="orchestrate")

    disable = orchestrating.decide(fabrikam.context("disable_user", DANA, user=DANA), quiet)
    revoke = orchestrating.decide(fabrikam.context("revoke_sessions", DANA, user=DANA), quiet)

    assert disable.verdict == "approval"
    assert disable.rules == ("mode",)
    assert "high impact" in disable.reasons[0]
    assert revoke.verdict == "auto"


def test_condition_on_a_missing_field_fails_closed(fabrikam, quiet):
    policy = load_policy_text("""
autonomous_response_policy:
  allowed_actions: [block_ip]
  requires_approval:
    - action: "*"
      condition: user.department == "Finance"
""")

    decision = policy.decide(fabrikam.context("block_ip", "203.0.113.45", ip="203.0.113.45"),
                             Usage.nothing_executed(policy))

    assert decision.verdict == "approval"
    assert decision.rules == ("requires_approval[0]",)
    assert "could not be evaluated (no such key 'department')" in decision.reasons[0]


def test_condition_with_a_type_error_fails_closed_with_the_reason(fabrikam, quiet):
    policy = load_policy_text("""
autonomous_response_policy:
  allowed_actions: [disable_user]
  requires_approval:
    - action: disable_user
      condition: user.department > 3
""")

    decision = policy.decide(fabrikam.context("disable_user", DANA, user=DANA), quiet)

    assert decision.verdict == "approval"
    assert "could not be evaluated (No such overload" in decision.reasons[0]


def test_group_condition_on_an_action_without_a_user_is_simply_false(fabrikam):
    policy = load_policy_text("""
autonomous_response_policy:
  allowed_actions: [block_ip]
  requires_approval:
    - action: "*"
      condition: '"Domain Admins" in user.groups || "Server" in device.machineTags'
""")

    decision = policy.decide(fabrikam.context("block_ip", "203.0.113.45", ip="203.0.113.45"),
                             Usage.nothing_executed(policy))

    assert decision.verdict == "auto"


def test_decision_converts_to_the_core_verdict(shared_policy, fabrikam, quiet):
    from core.models import Verdict

    decision = shared_policy.decide(fabrikam.context("disable_user", MARCUS, user=MARCUS), quiet)

    verdict = Verdict(**decision.as_dict())
    assert (verdict.verdict, verdict.approvers_required) == ("approval", 2)


def test_prefix_that_covers_the_critical_subnet_is_never_blocked(shared_policy, fabrikam, quiet):
    wider = shared_policy.decide(fabrikam.context("block_ip", "10.0.0.0/16"), quiet)
    narrower = shared_policy.decide(fabrikam.context("block_ip", "10.0.1.128/25"), quiet)
    everything = shared_policy.decide(fabrikam.context("block_ip", "0.0.0.0/0"), quiet)

    assert (wider.verdict, narrower.verdict, everything.verdict) == ("denied",) * 3
    assert wider.rules == ("forbidden_entities.ip_ranges",)
    assert "10.0.0.0/16 overlaps 10.0.1.0/24" in wider.reasons[0]


def test_critical_address_written_as_ipv4_mapped_ipv6_is_never_blocked(
        shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("block_ip", "::ffff:10.0.1.20", ip="::ffff:10.0.1.20"), quiet)

    assert decision.verdict == "denied"
    assert decision.rules == ("forbidden_entities.ip_ranges",)


def test_url_on_a_critical_address_is_never_blocked(shared_policy, fabrikam, quiet):
    decision = shared_policy.decide(
        fabrikam.context("block_indicator", "http://10.0.1.20:8080/update.exe"), quiet)

    assert decision.verdict == "denied"
    assert decision.rules == ("forbidden_entities.ip_ranges",)
    assert "10.0.1.20 is inside 10.0.1.0/24" in decision.reasons[0]
