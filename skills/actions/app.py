"""The `AppResponse` plugin: take back the permissions users consented to an application, or
give them back.

`revoke_app_consent` finds the app's service principal (`GET /servicePrincipals?$filter=appId
eq '…'`), reads its grants (`GET /servicePrincipals/{id}/oauth2PermissionGrants`), and deletes
each (`DELETE /oauth2PermissionGrants/{id}`), all of them or those named in `grant_ids`. The
deleted grants are returned whole in `inverse_parameters.grants`: Graph keeps no copy, so the
record of this action is the only way back. `restore_app_consent` re-creates each
(`POST /oauth2PermissionGrants` with clientId, consentType, principalId, resourceId, scope); the
new grants get new ids.
"""

from __future__ import annotations

from typing import Annotated, Any

from msgraph.generated.models.o_auth2_permission_grant import OAuth2PermissionGrant
from semantic_kernel.functions import kernel_function

from skills.actions import ActionGuard, InvalidActionRequest, outcome, required
from skills.graph import GraphClient
from skills.lookups.apps import AppLookups

Authorization = Annotated[str, "The authorization token Cordon issued for this exact action"]
DryRun = Annotated[bool, "Build and return the request without sending it"]
AppTarget = Annotated[str, "The application (client) id"]
_GRANT_FIELDS = ("clientId", "consentType", "principalId", "resourceId", "scope")


class AppResponse:
    """Consent revocation for OAuth applications."""

    def __init__(self, graph: GraphClient, guard: ActionGuard) -> None:
        self._graph = graph
        self._guard = guard
        self._apps = AppLookups(graph)

    @kernel_function(name="revoke_app_consent",
                     description="Delete the app's delegated permission grants.")
    async def revoke_app_consent(
        self, target: AppTarget, authorization: Authorization, dry_run: DryRun = False,
        grant_ids: Annotated[list[str] | None, "Only these grants; every grant if empty"] = None,
        service_principal_id: Annotated[str, "The app's service principal id, if known"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "revoke_app_consent", target)
        wanted = [str(g) for g in grant_ids or []]
        if dry_run:
            unresolved = [] if wanted else [f"grants of the service principal of app {target}"]
            sent = [self._delete(g) for g in wanted or [f"{{grant of {target}}}"]]
            return outcome("revoke_app_consent", target, dry_run=True,
                           requests=[self._graph.describe(r) for r in sent],
                           unresolved=unresolved)

        principal_id = service_principal_id
        if not principal_id:
            principal = await self._apps.service_principal(target)
            if not principal:
                raise InvalidActionRequest(f"no service principal has the app id {target}",
                                           target=target)
            principal_id = principal["id"]
        grants = await self._apps.grants(principal_id)
        if wanted:
            grants = [g for g in grants if g.get("id") in wanted]
        sent = []
        for grant in grants:
            request = self._delete(grant["id"])
            sent.append(self._graph.describe(request))
            await self._graph.send(request)
        kept = [{field: g.get(field) for field in ("id", *_GRANT_FIELDS)} for g in grants]
        return outcome("revoke_app_consent", target, dry_run=False, requests=sent,
                       response={"servicePrincipalId": principal_id,
                                 "deleted": [g["id"] for g in grants]},
                       inverse_parameters={"grants": kept})

    @kernel_function(name="restore_app_consent",
                     description="Re-create grants that revoke_app_consent deleted.")
    async def restore_app_consent(
        self, target: AppTarget, authorization: Authorization, dry_run: DryRun = False,
        grants: Annotated[list[dict] | None, "The grants revoke_app_consent returned"] = None,
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "restore_app_consent", target)
        required(grants, "grants", "restore_app_consent")
        requests = [
            self._graph.service.oauth2_permission_grants.to_post_request_information(
                OAuth2PermissionGrant(
                    client_id=g.get("clientId"), consent_type=g.get("consentType"),
                    principal_id=g.get("principalId"), resource_id=g.get("resourceId"),
                    scope=g.get("scope"),
                ))
            for g in grants or []
        ]
        sent = [self._graph.describe(r) for r in requests]
        if dry_run:
            return outcome("restore_app_consent", target, dry_run=True, requests=sent)
        created = [await self._graph.send(r) or {} for r in requests]
        new_ids = [c.get("id") for c in created]
        return outcome("restore_app_consent", target, dry_run=False, requests=sent,
                       response={"created": new_ids},
                       inverse_parameters={"grant_ids": new_ids})

    def _delete(self, grant_id: str) -> Any:
        builder = self._graph.service.oauth2_permission_grants.by_o_auth2_permission_grant_id(
            grant_id)
        return builder.to_delete_request_information()
