"""Is an action's effect already in place? Read-only checks for recovering interrupted runs.

When a process stops while an action's request is in flight, nobody knows whether the API
applied it. `EffectProbe.in_place(action, target, parameters, since)` answers from the tenant's
own state: True (the effect is there: do not call again), False (it certainly is not: safe to
execute), or None (cannot tell: a human must look). It only reads.

Limitation: effects that leave no readable trace are None: confirming risk, stopping and
quarantining a file, tickets and notifications. Their interrupted runs are handed to a human.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from skills.actions.network import block_rule_name
from skills.api_client import ApiClient
from skills.graph import GraphClient
from skills.lookups.devices import DeviceLookups
from skills.lookups.identity import IdentityLookups
from skills.odata import eq

NSG_API_VERSION = "2023-09-01"
# `latestDelivery.location` without case or underscores: Graph and its SDKs spell the values
# both `inboxFolder` and `inbox_folder`. Any other place (unknown, others, on-premises) is
# neither in the mailbox nor known to be out of it.
_DELIVERED = frozenset({"inbox", "inboxfolder"})
_REMOVED = frozenset({"deletedfolder", "junkfolder", "quarantine", "failed", "dropped"})


class EffectProbe:
    def __init__(self, graph: GraphClient, api: ApiClient, default_nsg_id: str) -> None:
        self._identity = IdentityLookups(graph)
        self._devices = DeviceLookups(api)
        self._graph = graph
        self._api = api
        self._default_nsg_id = default_nsg_id

    async def in_place(self, action: str, target: str, parameters: dict[str, Any],
                       since: datetime | None = None) -> bool | None:
        check = getattr(self, f"_{action}", None)
        if check is None:
            return None
        return await check(target, parameters, since)

    async def _disable_user(self, target: str, parameters: dict, since) -> bool | None:
        user = await self._identity.user(target)
        if user.get("found") is False or "accountEnabled" not in user:
            return None
        return user["accountEnabled"] is False

    async def _enable_user(self, target: str, parameters: dict, since) -> bool | None:
        verdict = await self._disable_user(target, parameters, since)
        return None if verdict is None else not verdict

    async def _revoke_sessions(self, target: str, parameters: dict, since) -> bool | None:
        user = await self._identity.user(target)
        if user.get("found") is False or since is None:
            return None
        valid_from = user.get("signInSessionsValidFromDateTime")
        if not valid_from:
            return False
        revoked_at = datetime.fromisoformat(str(valid_from).replace("Z", "+00:00"))
        return revoked_at >= since.replace(microsecond=0)

    async def _machine(self, target: str, parameters: dict) -> dict[str, Any]:
        device_id = parameters.get("device_id") or parameters.get("machineId") or ""
        if device_id:
            return await self._devices.device(device_id)
        return await self._devices.device_by_name(target)

    async def _isolate_device(self, target: str, parameters: dict, since) -> bool | None:
        machine = await self._machine(target, parameters)
        state = machine.get("isolationState")
        return None if state is None else state == "Isolated"

    async def _unisolate_device(self, target: str, parameters: dict, since) -> bool | None:
        machine = await self._machine(target, parameters)
        state = machine.get("isolationState")
        return None if state is None else state == "NotIsolated"

    async def _block_ip(self, target: str, parameters: dict, since) -> bool | None:
        nsg = parameters.get("nsg_id") or self._default_nsg_id
        answer = await self._api.call("arm", "GET", nsg, params={"api-version": NSG_API_VERSION})
        rules = ((answer or {}).get("properties") or {}).get("securityRules") or []
        name = parameters.get("rule_name") or block_rule_name(target)
        return any(rule.get("name") == name for rule in rules)

    async def _block_indicator(self, target: str, parameters: dict, since) -> bool | None:
        answer = await self._api.call("defender", "GET", "/indicators",
                                      params={"$filter": eq("indicatorValue", target)})
        values = [i for i in (answer or {}).get("value", [])
                  if str(i.get("indicatorValue", "")).lower() == target.lower()]
        return bool(values)

    async def _purge_email(self, target: str, parameters: dict, since) -> bool | None:
        messages = parameters.get("messages") or []
        if not messages:
            return None
        for message in messages:
            found = await self._analyzed_email(str(message.get("networkMessageId", "")),
                                               str(message.get("recipientEmailAddress", "")))
            if found is None:
                return None
            location = _location(found)
            if location in _DELIVERED:
                return False
            if location not in _REMOVED:
                return None
        return True

    async def _analyzed_email(self, network_message_id: str,
                              recipient: str) -> dict[str, Any] | None:
        builder = self._graph.service.security.collaboration.analyzed_emails
        request = self._graph.get_request(builder,
                                          filter=eq("networkMessageId", network_message_id))
        page = await self._graph.send(request)
        for message in page.get("value", []):
            if str(message.get("recipientEmailAddress", "")).lower() == recipient.lower():
                return message
        return None

    async def _revoke_app_consent(self, target: str, parameters: dict, since) -> bool | None:
        grant_ids = parameters.get("grantIds") or parameters.get("grant_ids") or []
        if not grant_ids:
            return None
        builder = self._graph.service.oauth2_permission_grants
        page = await self._graph.send(self._graph.get_request(builder, top=999))
        remaining = {g.get("id") for g in page.get("value", [])}
        return not remaining.intersection(grant_ids)


def _location(message: dict[str, Any]) -> str:
    location = str((message.get("latestDelivery") or {}).get("location") or "")
    return location.replace("_", "").lower()
