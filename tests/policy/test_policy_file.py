"""Loading and checking policy files: every mistake reported once, on its own line."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy import PolicyError, check_policy, load_policy, load_policy_text, run_check

from .conftest import SHARED_POLICY

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "policy" / "default.yaml"

SEED = """\
autonomous_response_policy:
  allowed_actions: [Disable-AzureADUser, Microsoft.Network/networkSecurityGroups/securityRules/write]
  forbidden_entities:
    user_principal_names: [breakglass@contoso.com]
    ip_ranges: [10.0.1.0/24]
  requires_approval:
    - action: Disable-AzureADUser
      condition: user.department == "Finance"
"""  # noqa: E501 - the seed exactly as DESIGN.md prints it

SEVERAL_MISTAKES = """\
autonomous_response_policy:
  allowed_actions:
    - Disable-AzureADUsr
    - block_ip
  forbidden_entities:
    ip_ranges: [10.0.1.5/24]
    colours: [red]
  requires_approval:
    - action: disable_user
      condition: user.department ==
    - action: [revoke_sessions]
      condition: '"x" in user.groups'
      approvers: 0
  mode: automatic
  timezone: Europe/Berlln
  min_confidence: 0.4
  escalate_below: 0.5
  limits:
    - {action: disable_user, max: 10, per: 24}
  cool_off: {after: 30, within: 10 minutes, pause: 30m}
"""


def test_shared_scenario_policy_loads(shared_policy):
    assert shared_policy.mode == "automate"
    assert "block_ip" in shared_policy.allowed_actions
    assert [rule.id for rule in shared_policy.rules] == [
        f"requires_approval[{i}]" for i in range(5)]
    assert shared_policy.approvals.approver_groups == ("SOC Approvers",)
    assert check_policy(SHARED_POLICY) == []


def test_seed_format_loads_as_it_stands():
    policy = load_policy_text(SEED)

    assert policy.allowed_actions == {"disable_user", "block_ip"}
    assert policy.mode == "automate"
    assert (policy.min_confidence, policy.escalate_below) == (0.85, 0.5)
    assert policy.forbidden.user_principal_names == ("breakglass@contoso.com",)


def test_default_policy_is_safe_for_a_first_deployment():
    assert check_policy(DEFAULT_POLICY) == []
    policy = load_policy(DEFAULT_POLICY)
    assert policy.mode == "observe"
    assert policy.approvals.admin_groups == ("SOC Leads",)


def test_every_mistake_is_reported_with_its_line():
    problems = check_policy(SEVERAL_MISTAKES)

    found = {(p.line, p.path) for p in problems}
    assert found == {
        (3, "allowed_actions[0]"),
        (6, "forbidden_entities.ip_ranges[0]"),
        (7, "forbidden_entities.colours"),
        (10, "requires_approval[0].condition"),
        (13, "requires_approval[1].approvers"),
        (14, "mode"),
        (15, "timezone"),
        (17, "escalate_below"),
        (19, "limits[0].per"),
        (20, "cool_off.within"),
    }
    messages = {p.path: p.message for p in problems}
    assert "did you mean 10.0.1.0/24?" in messages["forbidden_entities.ip_ranges[0]"]
    assert "did you mean Europe/Berlin?" in messages["timezone"]
    assert "above min_confidence" in messages["escalate_below"]


def test_bad_cel_is_reported_with_line_and_the_compiler_message():
    problems = check_policy(SEED.replace('user.department == "Finance"', "user.department =="))

    assert len(problems) == 1
    assert (problems[0].line, problems[0].column) == (8, 18)
    assert problems[0].path == "requires_approval[0].condition"
    assert "does not compile" in problems[0].message
    assert "Syntax error" in problems[0].message


def test_condition_reading_an_unknown_variable_is_caught_before_it_runs():
    problems = check_policy(SEED.replace("user.department", "usr.department"))

    assert [p.message for p in problems] == ["unknown variable usr; did you mean user?"]


def test_condition_reading_a_misspelt_action_field_is_caught():
    problems = check_policy(SEED.replace("user.department", "action.cout"))

    assert problems[0].message == "unknown field action.cout; did you mean action.count?"


def test_unknown_action_gets_a_suggestion():
    problems = check_policy(SEED.replace("allowed_actions: [Disable-AzureADUser",
                                         "allowed_actions: [Disable-AzureADUsr"))

    assert len(problems) == 1
    assert problems[0].line == 2
    assert "unknown action 'Disable-AzureADUsr'" in problems[0].message
    assert "did you mean Disable-AzureADUser?" in problems[0].message


def test_load_policy_raises_with_every_problem_located(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(SEVERAL_MISTAKES)

    with pytest.raises(PolicyError) as raised:
        load_policy(path)

    text = str(raised.value)
    assert len(raised.value.problems) == 10
    assert f"{path}:3: allowed_actions[0]: unknown action" in text
    assert f"{path}:15: timezone:" in text


def test_yaml_syntax_error_names_its_line():
    problems = check_policy("autonomous_response_policy:\n  allowed_actions: [a\n  mode: x\n")

    assert len(problems) == 1
    assert problems[0].line == 3
    assert problems[0].message.startswith("not valid YAML")


def test_duplicate_key_is_a_mistake():
    problems = check_policy(SEED + "  mode: observe\n  mode: automate\n")

    assert problems[0].line == 10
    assert "duplicate key" in problems[0].message


def test_missing_root_and_missing_allowed_actions_are_mistakes():
    assert "autonomous_response_policy is missing" in check_policy("mode: observe\n")[-1].message
    problems = check_policy("autonomous_response_policy:\n  mode: observe\n")
    assert [p.path for p in problems] == ["allowed_actions"]


def test_extensions_load(fabrikam):
    policy = load_policy_text("""
autonomous_response_policy:
  allowed_actions: ["Isolate-Machine", disable_user]
  forbidden_entities:
    groups: []
    device_tags: [Tier0]
  requires_approval:
    - action: "*"
      condition: risk > 90
    - action: isolate_device
  mode: orchestrate
  dry_run: true
  timezone: Europe/Berlin
  min_confidence: 0.9
  escalate_below: 0.2
  limits: [{action: Isolate, max: 3, per: 1h30m}]
  cool_off: {after: 5, within: 1m, pause: 2h}
  approvals: {approver_groups: [A], admin_groups: [B], expires_after: 30m, undo_window: 7d}
""")

    assert policy.rules[0].actions is None
    assert policy.rules[1].condition.source == "true"
    assert policy.limits[0].action == "isolate_device"
    assert policy.limits[0].per.total_seconds() == 5400
    assert policy.approvals.undo_window.days == 7
    assert (policy.dry_run, policy.timezone) == (True, "Europe/Berlin")


def test_run_check_prints_each_problem_and_a_final_line(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(SEVERAL_MISTAKES)

    code, text = run_check(path)

    lines = text.splitlines()
    assert code == 1
    assert lines[0].startswith(f"{path}:3:7: allowed_actions[0]: unknown action")
    assert lines[-1] == f"{path}: 10 mistakes; nothing was loaded"


def test_run_check_passes_a_sound_file():
    code, text = run_check(SHARED_POLICY)

    assert code == 0
    assert text.endswith("OK: mode automate, 9 allowed actions, 5 approval rules, 2 limits")


def test_run_check_on_a_missing_file_says_so(tmp_path):
    code, text = run_check(tmp_path / "nope.yaml")

    assert code == 1
    assert "cannot read the policy file" in text
