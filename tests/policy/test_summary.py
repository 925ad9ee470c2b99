"""What the bot's `policy` command says about the policy in force."""

from __future__ import annotations

from pathlib import Path

from policy import load_policy, summary

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "policy" / "default.yaml"


def test_summary_of_the_shared_policy_names_what_runs_and_what_waits(shared_policy):
    lines = summary(shared_policy)
    text = "\n".join(lines)

    assert lines[0].startswith("Mode automate")
    assert "Runs on its own: block_indicator, block_ip" in text
    assert "revoke_app_consent" not in lines[1]
    assert 'Disable-AzureADUser when user.department == "Finance"' in text
    assert "(2 approvers)" in text
    assert "accounts breakglass01@fabrikam.example" in text
    assert "members of Break Glass" in text
    assert "10 disable_user per 24h" in text
    assert "Approvers: SOC Approvers; admins: SOC Leads" in text


def test_summary_of_the_default_policy_says_nothing_runs_yet():
    lines = summary(load_policy(DEFAULT_POLICY))

    assert lines[0] == "Mode observe: verdicts are shown, nothing is executed."
    assert lines[1].startswith("Would run on its own in automate mode")
