"""The action catalog: aliases admins already write resolve to canonical actions."""

from __future__ import annotations

import pytest

from policy import CATALOG, catalog_ids, resolve_action, suggest_action


@pytest.mark.parametrize(("name", "action"), [
    ("Disable-AzureADUser", "disable_user"),
    ("disable-mguser", "disable_user"),
    ("Revoke-AzureADUserAllRefreshToken", "revoke_sessions"),
    ("Revoke-MgUserSignInSession", "revoke_sessions"),
    ("Confirm-MgRiskyUserCompromised", "confirm_compromised"),
    ("Microsoft.Network/networkSecurityGroups/securityRules/write", "block_ip"),
    ("microsoft.network/ipgroups/write", "block_ip"),
    ("Microsoft.Compute/virtualMachines/deallocate/action", "deallocate_vm"),
    ("Microsoft.SecurityInsights/incidents/write", "close_incident"),
    ("Isolate", "isolate_device"),
    ("IsolateMachine", "isolate_device"),
    ("Isolate-Machine", "isolate_device"),
    ("StopAndQuarantineFile", "stop_and_quarantine_file"),
    ("Unisolate", "unisolate_device"),
    ("Remove-MgOauth2PermissionGrant", "revoke_app_consent"),
    ("PURGE_EMAIL", "purge_email"),
])
def test_alias_resolves_to_its_canonical_action(name, action):
    assert resolve_action(name).id == action


def test_unknown_names_resolve_to_nothing():
    assert resolve_action("Remove-Everything") is None
    assert resolve_action("") is None


def test_every_reversible_action_and_its_inverse_point_at_each_other():
    for spec in CATALOG.values():
        if spec.inverse is None:
            assert not spec.reversible
            continue
        inverse = CATALOG[spec.inverse]
        assert inverse.inverse == spec.id
        assert spec.is_inverse != inverse.is_inverse


def test_catalog_knows_the_brief_ids_and_their_undo():
    assert catalog_ids() == [
        "disable_user", "revoke_sessions", "confirm_compromised", "isolate_device",
        "stop_and_quarantine_file", "block_ip", "block_indicator", "purge_email",
        "revoke_app_consent", "deallocate_vm", "close_incident", "create_ticket", "notify"]
    assert set(catalog_ids(include_inverses=True)) - set(catalog_ids()) == {
        "enable_user", "dismiss_risk", "unisolate_device", "unblock_ip", "delete_indicator",
        "restore_email", "restore_app_consent", "start_vm", "reopen_incident"}


def test_only_low_impact_actions_would_run_under_orchestrate():
    low = {spec.id for spec in CATALOG.values() if spec.impact == "low"}
    assert low == {"revoke_sessions", "create_ticket", "notify", "start_vm", "reopen_incident"}


def test_typo_gets_the_closest_name():
    assert suggest_action("Disable-AzureADUsr") == "Disable-AzureADUser"
    assert suggest_action("xyzzy") is None
