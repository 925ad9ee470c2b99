"""The `ItsmResponse` plugin: tell people. A ServiceNow ticket, or a notification.

- `create_ticket`: ServiceNow Table API `POST /api/now/table/incident`; the created record comes
  back under `result` (`sys_id`, `number`). No inverse: a ticket is a record, not a change.
- `notify`: no external call. It returns what would be said and to whom; delivering it (the
  Teams card, the incident comment) belongs to the bot and the response engine.
"""

from __future__ import annotations

from typing import Annotated, Any

from semantic_kernel.functions import kernel_function

from skills.actions import ActionGuard, outcome
from skills.api_client import ApiClient

Authorization = Annotated[str, "The authorization token Cordon issued for this exact action"]
DryRun = Annotated[bool, "Build and return the request without sending it"]


class ItsmResponse:
    """Tickets and notifications."""

    def __init__(self, api: ApiClient, guard: ActionGuard) -> None:
        self._api = api
        self._guard = guard

    @kernel_function(name="create_ticket", description="Open a ServiceNow incident.")
    async def create_ticket(
        self, target: Annotated[str, "What the ticket is about: an entity key or incident id"],
        authorization: Authorization, dry_run: DryRun = False,
        short_description: Annotated[str, "The ticket's title"] = "",
        description: Annotated[str, "The ticket's body"] = "",
        urgency: Annotated[str, "1 (high), 2 (medium) or 3 (low)"] = "2",
        impact: Annotated[str, "1 (high), 2 (medium) or 3 (low)"] = "2",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "create_ticket", target)
        body = {
            "short_description": (short_description or f"Cordon: security incident {target}")[:160],
            "description": description or f"Opened by Cordon automated response for {target}.",
            "urgency": str(urgency), "impact": str(impact),
            "category": "Security", "correlation_id": target[:100],
        }
        path = "/api/now/table/incident"
        sent = self._api.describe("servicenow", "POST", path, body=body)
        if dry_run:
            return outcome("create_ticket", target, dry_run=True, requests=[sent])
        answer = await self._api.call("servicenow", "POST", path, body=body) or {}
        record = answer.get("result") or {}
        return outcome("create_ticket", target, dry_run=False, requests=[sent],
                       response={"sys_id": record.get("sys_id"), "number": record.get("number"),
                                 "result": record})

    @kernel_function(name="notify", description="Say something to the people who watch Cordon.")
    async def notify(
        self, target: Annotated[str, "Who or what the notification is about"],
        authorization: Authorization, dry_run: DryRun = False,
        message: Annotated[str, "What to say"] = "",
        audience: Annotated[str, "Who should hear it, e.g. the SOC channel"] = "soc",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "notify", target)
        text = message or f"Cordon needs attention on {target}."
        return outcome("notify", target, dry_run=dry_run,
                       response={"audience": audience, "message": text, "delivered_by": "caller"})
