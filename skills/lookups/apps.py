"""The `Apps` plugin: an application's service principal and the consents granted to it.

Reads Graph `GET /servicePrincipals?$filter=appId eq '…'` and
`GET /servicePrincipals/{id}/oauth2PermissionGrants` (delegated permissions users or admins
consented to: who, which scopes).
"""

from __future__ import annotations

from typing import Annotated, Any

from semantic_kernel.functions import kernel_function

from skills.graph import GraphClient
from skills.odata import eq


class AppLookups:
    """Who published an app and what it was allowed to do."""

    def __init__(self, graph: GraphClient) -> None:
        self._graph = graph

    @kernel_function(name="app_consents",
                     description="An app's service principal and its delegated permission grants.")
    async def app_consents(
        self, app_id: Annotated[str, "The application (client) id"],
    ) -> dict[str, Any]:
        principal = await self.service_principal(app_id)
        if not principal:
            return {"found": False, "app_id": app_id, "servicePrincipal": {}, "grants": []}
        return {"found": True, "app_id": app_id, "servicePrincipal": principal,
                "grants": await self.grants(principal["id"])}

    async def service_principal(self, app_id: str) -> dict[str, Any]:
        request = self._graph.get_request(self._graph.service.service_principals,
                                          filter=eq("appId", app_id))
        page = await self._graph.send(request) or {}
        found = page.get("value", [])
        return found[0] if found else {}

    async def grants(self, service_principal_id: str) -> list[dict[str, Any]]:
        builder = self._graph.service.service_principals.by_service_principal_id(
            service_principal_id).oauth2_permission_grants
        page = await self._graph.send(builder.to_get_request_information()) or {}
        return list(page.get("value", []))
