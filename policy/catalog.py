"""The action catalog: every response action Cordon knows, by canonical id and by alias.

A policy names actions the way its author already writes them: a canonical id (`disable_user`),
a PowerShell cmdlet (`Disable-AzureADUser`, `Revoke-MgUserSignInSession`), an ARM operation
(`Microsoft.Network/networkSecurityGroups/securityRules/write`) or a Defender for Endpoint
machine action (`Isolate`, `StopAndQuarantineFile`). `resolve_action` maps any of them to one
`ActionSpec`, ignoring case, spaces, hyphens and underscores; it answers `None` for a name the
catalog does not know, and `suggest_action` offers the closest known name for a typo.

Each spec records what the policy judges by: the impact (`low`, `medium`, `high`; `mode:
orchestrate` automates only `low`), whether the action can be undone and by which inverse, and
the kind of entity its target names. The catalog calls nothing; skills own the plugins that
carry the actions out under the same ids.

Limitation: an ARM operation stands for one action even where Azure uses it for more (an IP
group write adds or removes addresses; it is read here as `block_ip`, an incident write as
`close_incident`), so a policy that means the reverse must name the inverse id.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

Impact = Literal["low", "medium", "high"]
TargetKind = Literal["user", "device", "ip", "indicator", "mail", "app", "vm", "incident", "none"]


@dataclass(frozen=True)
class ActionSpec:
    """One catalog action. `inverse` is the id that undoes it, or None when nothing does."""

    id: str
    description: str
    impact: Impact
    target_kind: TargetKind
    reversible: bool
    inverse: str | None
    aliases: tuple[str, ...] = ()
    forward: str | None = None

    @property
    def is_inverse(self) -> bool:
        """True for an undo action (`enable_user`): it is allowed when its forward action is."""
        return self.forward is not None


def _pair(forward: ActionSpec, inverse: ActionSpec) -> tuple[ActionSpec, ActionSpec]:
    return forward, inverse


_ACTIONS: tuple[ActionSpec, ...] = (
    *_pair(
        ActionSpec(
            "disable_user", "Disable the account so nobody can sign in with it", "high", "user",
            True, "enable_user",
            ("Disable-AzureADUser", "Disable-MgUser", "Disable-MgBetaUser", "DisableUser",
             "Disable user"),
        ),
        ActionSpec(
            "enable_user", "Enable the account again", "medium", "user", True, "disable_user",
            ("Enable-MgUser", "EnableUser", "Enable user"), forward="disable_user",
        ),
    ),
    ActionSpec(
        "revoke_sessions", "Revoke the user's refresh tokens and sign-in sessions", "low",
        "user", False, None,
        ("Revoke-AzureADUserAllRefreshToken", "Revoke-MgUserSignInSession",
         "Revoke-MgBetaUserSignInSession", "revokeSignInSessions", "RevokeSessions",
         "Revoke sessions"),
    ),
    *_pair(
        ActionSpec(
            "confirm_compromised", "Mark the user as compromised in Identity Protection",
            "medium", "user", True, "dismiss_risk",
            ("Confirm-MgRiskyUserCompromised", "Confirm-MgBetaRiskyUserCompromised",
             "confirmCompromised", "Confirm user compromised"),
        ),
        ActionSpec(
            "dismiss_risk", "Dismiss the user's risk in Identity Protection", "medium", "user",
            True, "confirm_compromised",
            ("Invoke-MgDismissRiskyUser", "Invoke-MgBetaDismissRiskyUser", "dismissRiskyUser",
             "Dismiss user risk"),
            forward="confirm_compromised",
        ),
    ),
    *_pair(
        ActionSpec(
            "isolate_device", "Isolate the machine from the network (Defender for Endpoint)",
            "high", "device", True, "unisolate_device",
            ("Isolate", "IsolateMachine", "Isolate-Machine", "Isolate device",
             "Machine.Isolate", "Isolate-MdeMachine"),
        ),
        ActionSpec(
            "unisolate_device", "Release the machine from isolation", "medium", "device",
            True, "isolate_device",
            ("Unisolate", "UnisolateMachine", "Unisolate-Machine", "Release from isolation",
             "Release-Machine", "Unisolate-MdeMachine"),
            forward="isolate_device",
        ),
    ),
    ActionSpec(
        "stop_and_quarantine_file", "Stop the file's processes and quarantine it on the machine",
        "medium", "indicator", False, None,
        ("StopAndQuarantineFile", "Stop-AndQuarantineFile", "Stop and quarantine file",
         "Machine.StopAndQuarantine"),
    ),
    *_pair(
        ActionSpec(
            "block_ip", "Deny traffic from the address with a network security rule", "medium",
            "ip", True, "unblock_ip",
            ("Microsoft.Network/networkSecurityGroups/securityRules/write",
             "Microsoft.Network/ipGroups/write",
             "Microsoft.Network/firewallPolicies/ruleCollectionGroups/write",
             "Add-AzNetworkSecurityRuleConfig", "Set-AzIpGroup", "BlockIp", "Block IP"),
        ),
        ActionSpec(
            "unblock_ip", "Remove the rule that denies the address", "medium", "ip", True,
            "block_ip",
            ("Microsoft.Network/networkSecurityGroups/securityRules/delete",
             "Remove-AzNetworkSecurityRuleConfig", "UnblockIp", "Unblock IP"),
            forward="block_ip",
        ),
    ),
    *_pair(
        ActionSpec(
            "block_indicator", "Add a block indicator (domain, URL or hash) in Defender",
            "medium", "indicator", True, "delete_indicator",
            ("SubmitIndicator", "Submit-Indicator", "New-MdeIndicator", "Block indicator",
             "AddIndicator"),
        ),
        ActionSpec(
            "delete_indicator", "Delete the block indicator", "medium", "indicator", True,
            "block_indicator",
            ("DeleteIndicator", "Remove-Indicator", "Remove-MdeIndicator", "Delete indicator"),
            forward="block_indicator",
        ),
    ),
    *_pair(
        ActionSpec(
            "purge_email", "Move the messages out of the mailboxes (soft delete)", "medium",
            "mail", True, "restore_email",
            ("New-ComplianceSearchAction", "SoftDeleteEmail", "softDelete", "Purge email",
             "analyzedEmails/remediate"),
        ),
        ActionSpec(
            "restore_email", "Put the messages back in the mailboxes", "medium", "mail", True,
            "purge_email",
            ("Restore-RecoverableItems", "RestoreEmail", "Restore email"),
            forward="purge_email",
        ),
    ),
    *_pair(
        ActionSpec(
            "revoke_app_consent", "Remove the OAuth permission grants given to the app", "high",
            "app", True, "restore_app_consent",
            ("Remove-MgOauth2PermissionGrant", "Remove-AzureADOAuth2PermissionGrant",
             "Remove-MgBetaOauth2PermissionGrant", "RevokeAppConsent", "Revoke app consent"),
        ),
        ActionSpec(
            "restore_app_consent", "Grant the app's removed OAuth permissions again", "medium",
            "app", True, "revoke_app_consent",
            ("New-MgOauth2PermissionGrant", "New-MgBetaOauth2PermissionGrant",
             "RestoreAppConsent"),
            forward="revoke_app_consent",
        ),
    ),
    *_pair(
        ActionSpec(
            "deallocate_vm", "Stop and deallocate the Azure virtual machine", "high", "vm",
            True, "start_vm",
            ("Microsoft.Compute/virtualMachines/deallocate/action", "Stop-AzVM",
             "az vm deallocate", "DeallocateVm"),
        ),
        ActionSpec(
            "start_vm", "Start the Azure virtual machine again", "low", "vm", True,
            "deallocate_vm",
            ("Microsoft.Compute/virtualMachines/start/action", "Start-AzVM", "az vm start"),
            forward="deallocate_vm",
        ),
    ),
    *_pair(
        ActionSpec(
            "close_incident", "Close the Sentinel incident with a classification", "medium",
            "incident", True, "reopen_incident",
            ("Microsoft.SecurityInsights/incidents/write", "Update-AzSentinelIncident",
             "CloseIncident", "Close incident"),
        ),
        ActionSpec(
            "reopen_incident", "Set the Sentinel incident back to active", "low", "incident",
            True, "close_incident",
            ("ReopenIncident", "Reopen incident"),
            forward="close_incident",
        ),
    ),
    ActionSpec(
        "create_ticket", "Open a ServiceNow incident for the case", "low", "incident", False,
        None, ("New-ServiceNowIncident", "CreateTicket", "Create ticket", "servicenow/incident"),
    ),
    ActionSpec(
        "notify", "Post a message to the subscribed Teams conversation", "low", "none", False,
        None, ("New-MgTeamChannelMessage", "New-MgChatMessage", "Notify", "Send notification"),
    ),
)

CATALOG: dict[str, ActionSpec] = {spec.id: spec for spec in _ACTIONS}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def _index() -> dict[str, ActionSpec]:
    index: dict[str, ActionSpec] = {}
    for spec in _ACTIONS:
        for name in (spec.id, *spec.aliases):
            key = _key(name)
            other = index.setdefault(key, spec)
            if other is not spec:
                raise RuntimeError(f"catalog alias {name!r} names {other.id} and {spec.id}")
    return index


_BY_KEY = _index()
_NAMES = sorted({name for spec in _ACTIONS for name in (spec.id, *spec.aliases)})


def resolve_action(name: str) -> ActionSpec | None:
    """The action `name` means (a canonical id or an alias, any case), or None if unknown."""
    if not isinstance(name, str):
        return None
    return _BY_KEY.get(_key(name))


def suggest_action(name: str) -> str | None:
    """The known action name closest to a misspelt one, or None when nothing is close."""
    by_key = {_key(n): n for n in _NAMES}
    close = difflib.get_close_matches(_key(name), list(by_key), n=1, cutoff=0.6)
    return by_key[close[0]] if close else None


def forward_of(spec: ActionSpec) -> ActionSpec:
    """The action an inverse undoes; a forward action is its own."""
    return CATALOG[spec.forward] if spec.forward else spec


def catalog_ids(include_inverses: bool = False) -> list[str]:
    """The canonical ids, in catalog order; inverses (undo actions) only when asked for."""
    return [spec.id for spec in _ACTIONS if include_inverses or not spec.is_inverse]


def action_names() -> list[str]:
    """Every name the catalog accepts, canonical ids and aliases, sorted."""
    return list(_NAMES)
