"""The `Identity` plugin: who an account is, what it belongs to, how it signed in, its risk.

Reads Microsoft Graph only: `/users/{id}`, `/users/{id}/transitiveMemberOf`,
`/users/{id}/manager`, `/auditLogs/signIns?$filter=userId eq '…'&$top=50` and
`/identityProtection/riskyUsers/{id}`. A user may be named by object id or by user principal
name; sign-ins and risk need the object id, which `user` returns.
"""

from __future__ import annotations

from typing import Annotated, Any

from semantic_kernel.functions import kernel_function

from core.errors import UpstreamError
from skills.graph import GraphClient
from skills.lookups import is_not_found
from skills.odata import eq

USER_FIELDS = [
    "id", "displayName", "userPrincipalName", "mail", "department", "jobTitle",
    "accountEnabled", "userType", "officeLocation", "city", "country", "usageLocation",
    "createdDateTime", "signInSessionsValidFromDateTime",
]
_MAX_GROUP_PAGES = 5


class IdentityLookups:
    """Entra ID facts about one account."""

    def __init__(self, graph: GraphClient) -> None:
        self._graph = graph

    @kernel_function(name="user", description="The Entra ID user: department, job, enabled.")
    async def user(
        self, user: Annotated[str, "The user's object id or user principal name"],
    ) -> dict[str, Any]:
        builder = self._graph.service.users.by_user_id(user)
        try:
            return await self._graph.send(self._graph.get_request(builder, select=USER_FIELDS))
        except UpstreamError as exc:
            if is_not_found(exc):
                return {"found": False, "user": user}
            raise

    @kernel_function(name="groups",
                     description="Groups and directory roles the user belongs to, directly or not.")
    async def groups(
        self, user: Annotated[str, "The user's object id or user principal name"],
    ) -> dict[str, Any]:
        builder = self._graph.service.users.by_user_id(user).transitive_member_of
        page = await self._graph.send(self._graph.get_request(builder, top=999))
        memberships = list(page.get("value", []))
        for _ in range(_MAX_GROUP_PAGES):
            next_link = page.get("@odata.nextLink")
            if not next_link:
                break
            page = await self._graph.send(builder.with_url(next_link).to_get_request_information())
            memberships.extend(page.get("value", []))
        return {
            "groups": [m.get("displayName") for m in memberships if m.get("displayName")],
            "memberships": [_membership(m) for m in memberships],
        }

    @kernel_function(name="manager", description="The user's manager, if any.")
    async def manager(
        self, user: Annotated[str, "The user's object id or user principal name"],
    ) -> dict[str, Any]:
        builder = self._graph.service.users.by_user_id(user).manager
        try:
            return await self._graph.send(builder.to_get_request_information()) or {}
        except UpstreamError as exc:
            if is_not_found(exc):
                return {}
            raise

    @kernel_function(name="sign_ins", description="The user's latest 50 sign-ins, newest first.")
    async def sign_ins(
        self, user_id: Annotated[str, "The user's object id"],
    ) -> dict[str, Any]:
        request = self._graph.get_request(
            self._graph.service.audit_logs.sign_ins, filter=eq("userId", user_id), top=50,
        )
        page = await self._graph.send(request)
        sign_ins = sorted(page.get("value", []), key=lambda s: s.get("createdDateTime") or "",
                          reverse=True)
        return {"sign_ins": sign_ins}

    @kernel_function(name="risky_user",
                     description="Identity Protection's risk level and state for the user.")
    async def risky_user(
        self, user_id: Annotated[str, "The user's object id"],
    ) -> dict[str, Any]:
        builder = self._graph.service.identity_protection.risky_users.by_risky_user_id(user_id)
        try:
            return await self._graph.send(builder.to_get_request_information())
        except UpstreamError as exc:
            if is_not_found(exc):
                return {"id": user_id, "riskLevel": "none", "riskState": "none"}
            raise


def _membership(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": entry.get("id"),
        "displayName": entry.get("displayName"),
        "type": str(entry.get("@odata.type", "")).rsplit(".", 1)[-1],
        "isAssignableToRole": bool(entry.get("isAssignableToRole")),
        "roleTemplateId": entry.get("roleTemplateId"),
    }
