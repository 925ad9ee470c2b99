"""The `SentinelResponse` plugin: close or reopen the Sentinel incident itself.

ARM `GET {incidentArmId}?api-version=2024-09-01` for the incident's etag and required fields,
then `PUT` of the same with `status` Closed (with classification, reason and comment) or Active,
sending the etag so a concurrent edit by an analyst is refused (412) rather than overwritten.
The target is the incident's ARM id (`core.models.Incident.id` for Sentinel payloads).
"""

from __future__ import annotations

from typing import Annotated, Any

from semantic_kernel.functions import kernel_function

from skills.actions import ActionGuard, InvalidActionRequest, arm_resource_id, outcome
from skills.api_client import ApiClient

Authorization = Annotated[str, "The authorization token Cordon issued for this exact action"]
DryRun = Annotated[bool, "Build and return the request without sending it"]
IncidentTarget = Annotated[str, "The Sentinel incident's ARM id"]
INCIDENT_API_VERSION = "2024-09-01"
CLASSIFICATIONS = ("Undetermined", "TruePositive", "BenignPositive", "FalsePositive")
_CLASSIFICATION_FIELDS = ("classification", "classificationReason", "classificationComment")


class SentinelResponse:
    """Status changes of Sentinel incidents."""

    def __init__(self, api: ApiClient, guard: ActionGuard) -> None:
        self._api = api
        self._guard = guard

    @kernel_function(name="close_incident", description="Close the Sentinel incident.")
    async def close_incident(
        self, target: IncidentTarget, authorization: Authorization, dry_run: DryRun = False,
        classification: Annotated[str, "TruePositive, BenignPositive, FalsePositive..."]
        = "TruePositive",
        classification_reason: Annotated[str, "e.g. SuspiciousActivity"] = "SuspiciousActivity",
        classification_comment: Annotated[str, "Why"] = "Contained by Cordon automated response",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "close_incident", target)
        if classification not in CLASSIFICATIONS:
            raise InvalidActionRequest(f"classification must be one of {CLASSIFICATIONS}",
                                       classification=classification)
        changes = {"status": "Closed", "classification": classification,
                   "classificationReason": classification_reason,
                   "classificationComment": classification_comment}
        return await self._set_status("close_incident", target, changes, dry_run)

    @kernel_function(name="reopen_incident", description="Set the Sentinel incident Active again.")
    async def reopen_incident(
        self, target: IncidentTarget, authorization: Authorization, dry_run: DryRun = False,
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "reopen_incident", target)
        return await self._set_status("reopen_incident", target, {"status": "Active"}, dry_run)

    async def _set_status(self, action: str, target: str, changes: dict[str, Any],
                          dry_run: bool) -> dict[str, Any]:
        path = arm_resource_id(target, "target")
        params = {"api-version": INCIDENT_API_VERSION}
        unresolved: list[str] = []
        if dry_run:
            unresolved.append(f"etag, title and severity of {path}")
            body: dict[str, Any] = {"properties": dict(changes)}
        else:
            current = await self._api.call("arm", "GET", path, params=params) or {}
            properties = {k: v for k, v in (current.get("properties") or {}).items()
                          if changes.get("status") != "Active" or k not in _CLASSIFICATION_FIELDS}
            body = {"etag": current.get("etag"), "properties": {**properties, **changes}}
        sent = self._api.describe("arm", "PUT", path, params=params, body=body)
        if dry_run:
            return outcome(action, target, dry_run=True, requests=[sent], unresolved=unresolved)
        answer = await self._api.call("arm", "PUT", path, params=params, body=body,
                                      headers=_if_match(body.get("etag"))) or {}
        return outcome(action, target, dry_run=False, requests=[sent], response=answer)


def _if_match(etag: str | None) -> dict[str, str]:
    return {"If-Match": etag} if etag else {}
