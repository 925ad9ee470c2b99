"""The `IdentityResponse` plugin: disable or enable an account, revoke its sessions, confirm or
dismiss its risk, all through Microsoft Graph.

- `disable_user` / `enable_user`: `PATCH /users/{upn}` with `accountEnabled` false / true;
- `revoke_sessions`: `POST /users/{upn}/revokeSignInSessions` (no inverse: sessions stay revoked);
- `confirm_compromised` / `dismiss_risk`: `POST /identityProtection/riskyUsers/confirmCompromised`
  / `dismiss` with `{"userIds": [objectId]}`; the object id comes from `user_id` or is looked up.
"""

from __future__ import annotations

from typing import Annotated, Any

from msgraph.generated.identity_protection.risky_users.confirm_compromised.confirm_compromised_post_request_body import (  # noqa: E501
    ConfirmCompromisedPostRequestBody,
)
from msgraph.generated.identity_protection.risky_users.dismiss.dismiss_post_request_body import (
    DismissPostRequestBody,
)
from msgraph.generated.models.user import User
from semantic_kernel.functions import kernel_function

from skills.actions import ActionGuard, outcome
from skills.graph import GraphClient

Target = Annotated[str, "The user principal name, lower case"]
Authorization = Annotated[str, "The authorization token Cordon issued for this exact action"]
DryRun = Annotated[bool, "Build and return the request without sending it"]


class IdentityResponse:
    """Containment of an Entra ID account."""

    def __init__(self, graph: GraphClient, guard: ActionGuard) -> None:
        self._graph = graph
        self._guard = guard

    @kernel_function(name="disable_user", description="Block the account from signing in.")
    async def disable_user(self, target: Target, authorization: Authorization,
                           dry_run: DryRun = False) -> dict[str, Any]:
        await self._guard.check(authorization, "disable_user", target)
        return await self._set_enabled("disable_user", target, False, dry_run)

    @kernel_function(name="enable_user", description="Let the account sign in again.")
    async def enable_user(self, target: Target, authorization: Authorization,
                          dry_run: DryRun = False) -> dict[str, Any]:
        await self._guard.check(authorization, "enable_user", target)
        return await self._set_enabled("enable_user", target, True, dry_run)

    @kernel_function(name="revoke_sessions",
                     description="Invalidate the account's refresh tokens and session cookies.")
    async def revoke_sessions(self, target: Target, authorization: Authorization,
                              dry_run: DryRun = False) -> dict[str, Any]:
        await self._guard.check(authorization, "revoke_sessions", target)
        builder = self._graph.service.users.by_user_id(target).revoke_sign_in_sessions
        request = builder.to_post_request_information()
        sent = self._graph.describe(request)
        if dry_run:
            return outcome("revoke_sessions", target, dry_run=True, requests=[sent])
        answer = await self._graph.send(request) or {}
        return outcome("revoke_sessions", target, dry_run=False, requests=[sent],
                       response={"revoked": bool(answer.get("value", True))})

    @kernel_function(name="confirm_compromised",
                     description="Mark the account compromised in Identity Protection (high risk).")
    async def confirm_compromised(
        self, target: Target, authorization: Authorization, dry_run: DryRun = False,
        user_id: Annotated[str, "The user's object id, if known"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "confirm_compromised", target)
        return await self._risk("confirm_compromised", target, user_id, dry_run)

    @kernel_function(name="dismiss_risk",
                     description="Dismiss the account's Identity Protection risk.")
    async def dismiss_risk(
        self, target: Target, authorization: Authorization, dry_run: DryRun = False,
        user_id: Annotated[str, "The user's object id, if known"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "dismiss_risk", target)
        return await self._risk("dismiss_risk", target, user_id, dry_run)

    async def _set_enabled(self, action: str, target: str, enabled: bool,
                           dry_run: bool) -> dict[str, Any]:
        builder = self._graph.service.users.by_user_id(target)
        request = builder.to_patch_request_information(User(account_enabled=enabled))
        sent = self._graph.describe(request)
        if dry_run:
            return outcome(action, target, dry_run=True, requests=[sent])
        await self._graph.send(request)
        return outcome(action, target, dry_run=False, requests=[sent],
                       response={"accountEnabled": enabled})

    async def _risk(self, action: str, target: str, user_id: str,
                    dry_run: bool) -> dict[str, Any]:
        unresolved = []
        if not user_id and dry_run:
            unresolved.append(f"object id of {target}")
        elif not user_id:
            user = await self._graph.send(self._graph.get_request(
                self._graph.service.users.by_user_id(target), select=["id"]))
            user_id = user["id"]
        ids = [user_id or target]
        risky_users = self._graph.service.identity_protection.risky_users
        if action == "confirm_compromised":
            request = risky_users.confirm_compromised.to_post_request_information(
                ConfirmCompromisedPostRequestBody(user_ids=ids))
        else:
            request = risky_users.dismiss.to_post_request_information(
                DismissPostRequestBody(user_ids=ids))
        sent = self._graph.describe(request)
        if dry_run:
            return outcome(action, target, dry_run=True, requests=[sent], unresolved=unresolved)
        await self._graph.send(request)
        return outcome(action, target, dry_run=False, requests=[sent],
                       response={"userIds": ids}, inverse_parameters={"user_id": user_id})
