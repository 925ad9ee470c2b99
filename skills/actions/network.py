"""The `NetworkResponse` plugin: block an address at the perimeter NSG, or an indicator in Defender.

- `block_ip`: reads the NSG (`GET {nsgId}?api-version=2023-09-01`), picks the lowest free
  priority from 100 among rules of the same direction, and puts one Deny rule,
  `PUT {nsgId}/securityRules/cordon-block-<address>` with `sourceAddressPrefixes: [address]`.
  Only the rule is written, never the whole NSG: a whole-NSG PUT would lose concurrent edits.
  A rule of that name already there is kept at its priority (a retried block is the same block).
- `unblock_ip`: `DELETE` of that rule; a rule already gone counts as removed.
- `block_indicator` / `delete_indicator`: Defender `POST /indicators` (IpAddress, DomainName,
  Url, FileSha256 or FileSha1 from the target's shape) / `DELETE /indicators/{id}`.

Limitation: two block_ip calls racing on one NSG can pick the same free priority; ARM then
refuses the second PUT (a conflict, not retryable here), and the response engine reports it.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from semantic_kernel.functions import kernel_function

from core.errors import UpstreamError
from skills.actions import ActionGuard, InvalidActionRequest, arm_resource_id, outcome
from skills.api_client import ApiClient
from skills.lookups import is_not_found
from skills.odata import eq

Authorization = Annotated[str, "The authorization token Cordon issued for this exact action"]
DryRun = Annotated[bool, "Build and return the request without sending it"]
NSG_API_VERSION = "2023-09-01"
FIRST_PRIORITY = 100
LAST_PRIORITY = 4096
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
INDICATOR_TYPES = ("IpAddress", "DomainName", "Url", "FileSha256", "FileSha1")


def block_rule_name(address: str) -> str:
    """The NSG rule name Cordon uses for one blocked address or prefix."""
    return "cordon-block-" + re.sub(r"[^0-9A-Za-z]", "-", address)


def indicator_type_of(value: str) -> str:
    """Defender's indicatorType for a value: IpAddress, FileSha256, FileSha1, Url, DomainName."""
    try:
        ipaddress.ip_address(value)
        return "IpAddress"
    except ValueError:
        pass
    if _SHA256.match(value):
        return "FileSha256"
    if _SHA1.match(value):
        return "FileSha1"
    if "://" in value or "/" in value:
        return "Url"
    return "DomainName"


class NetworkResponse:
    """Blocking at the network edge and in Defender's indicators."""

    def __init__(self, api: ApiClient, guard: ActionGuard, default_nsg_id: str) -> None:
        self._api = api
        self._guard = guard
        self._default_nsg_id = default_nsg_id

    @kernel_function(name="block_ip", description="Deny traffic from an address at the NSG.")
    async def block_ip(
        self, target: Annotated[str, "The IP address or CIDR prefix"],
        authorization: Authorization, dry_run: DryRun = False,
        nsg_id: Annotated[str, "The NSG's ARM id; the configured perimeter NSG if empty"] = "",
        direction: Annotated[str, "Inbound or Outbound"] = "Inbound",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "block_ip", target)
        address = _address(target)
        nsg = arm_resource_id(nsg_id or self._default_nsg_id, "nsg_id")
        if direction not in ("Inbound", "Outbound"):
            raise InvalidActionRequest("direction must be Inbound or Outbound",
                                       direction=direction)
        name = block_rule_name(address)
        params = {"api-version": NSG_API_VERSION}
        path = f"{nsg}/securityRules/{name}"

        unresolved: list[str] = []
        priority: int | None = None
        if dry_run:
            unresolved.append(f"lowest free {direction} priority of {nsg} from {FIRST_PRIORITY}")
        else:
            current = await self._api.call("arm", "GET", nsg, params=params) or {}
            priority = _free_priority(current, name, direction)

        body = {"properties": {
            "description": f"Blocked by Cordon: {address}",
            "priority": priority, "direction": direction, "access": "Deny", "protocol": "*",
            "sourceAddressPrefixes": [address], "sourcePortRange": "*",
            "destinationAddressPrefix": "*", "destinationPortRange": "*",
        }}
        sent = self._api.describe("arm", "PUT", path, params=params, body=body)
        inverse = {"nsg_id": nsg, "rule_name": name}
        if dry_run:
            return outcome("block_ip", target, dry_run=True, requests=[sent],
                           inverse_parameters=inverse, unresolved=unresolved)
        answer = await self._api.call("arm", "PUT", path, params=params, body=body) or {}
        return outcome("block_ip", target, dry_run=False, requests=[sent], response=answer,
                       inverse_parameters=inverse)

    @kernel_function(name="unblock_ip", description="Remove Cordon's Deny rule for an address.")
    async def unblock_ip(
        self, target: Annotated[str, "The IP address or CIDR prefix"],
        authorization: Authorization, dry_run: DryRun = False,
        nsg_id: Annotated[str, "The NSG's ARM id; the configured perimeter NSG if empty"] = "",
        rule_name: Annotated[str, "The rule to delete; Cordon's name for the address if empty"]
        = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "unblock_ip", target)
        nsg = arm_resource_id(nsg_id or self._default_nsg_id, "nsg_id")
        name = rule_name or block_rule_name(_address(target))
        params = {"api-version": NSG_API_VERSION}
        path = f"{nsg}/securityRules/{quote(name, safe='')}"
        sent = self._api.describe("arm", "DELETE", path, params=params)
        if dry_run:
            return outcome("unblock_ip", target, dry_run=True, requests=[sent])
        try:
            await self._api.call("arm", "DELETE", path, params=params)
        except UpstreamError as exc:
            if not is_not_found(exc):
                raise
            return outcome("unblock_ip", target, dry_run=False, requests=[sent],
                           response={"deleted": name, "already_absent": True})
        return outcome("unblock_ip", target, dry_run=False, requests=[sent],
                       response={"deleted": name})

    @kernel_function(name="block_indicator",
                     description="Block an IP, domain, URL or file hash everywhere Defender runs.")
    async def block_indicator(
        self, target: Annotated[str, "The IP address, domain, URL or file hash"],
        authorization: Authorization, dry_run: DryRun = False,
        indicator_type: Annotated[str, "IpAddress, DomainName, Url, FileSha256 or FileSha1; "
                                  "from the target's shape if empty"] = "",
        indicator_action: Annotated[str, "AlertAndBlock or Block"] = "AlertAndBlock",
        title: Annotated[str, "The indicator's title"] = "",
        description: Annotated[str, "Why it is blocked"] = "",
        severity: Annotated[str, "Informational, Low, Medium or High"] = "High",
        expiration_days: Annotated[int, "Days until the block expires"] = 30,
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "block_indicator", target)
        kind = indicator_type or indicator_type_of(target)
        if kind not in INDICATOR_TYPES:
            raise InvalidActionRequest(f"indicator_type must be one of {INDICATOR_TYPES}",
                                       indicator_type=kind)
        if indicator_action not in ("AlertAndBlock", "Block"):
            raise InvalidActionRequest("indicator_action must be AlertAndBlock or Block",
                                       indicator_action=indicator_action)
        expires = datetime.now(UTC) + timedelta(days=max(1, int(expiration_days)))
        body = {
            "indicatorValue": target,
            "indicatorType": kind,
            "action": indicator_action,
            "title": title or f"Cordon block: {target}",
            "description": description or f"Blocked by Cordon automated response: {target}",
            "severity": severity,
            "expirationTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "generateAlert": True,
        }
        sent = self._api.describe("defender", "POST", "/indicators", body=body)
        if dry_run:
            return outcome("block_indicator", target, dry_run=True, requests=[sent])
        answer = await self._api.call("defender", "POST", "/indicators", body=body) or {}
        return outcome("block_indicator", target, dry_run=False, requests=[sent],
                       response=answer, inverse_parameters={"indicator_id": answer.get("id")})

    @kernel_function(name="delete_indicator", description="Remove a Defender block indicator.")
    async def delete_indicator(
        self, target: Annotated[str, "The indicator's value"],
        authorization: Authorization, dry_run: DryRun = False,
        indicator_id: Annotated[str, "The indicator id; looked up by value if empty"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "delete_indicator", target)
        ids = [str(indicator_id)] if indicator_id else []
        unresolved = []
        if not ids and dry_run:
            unresolved.append(f"indicator ids for {target}")
        elif not ids:
            page = await self._api.call("defender", "GET", "/indicators",
                                        params={"$filter": eq("indicatorValue", target)}) or {}
            ids = [str(i["id"]) for i in page.get("value", []) if i.get("id") is not None]
        paths = [f"/indicators/{quote(i, safe='')}" for i in ids or [f"{{id of {target}}}"]]
        sent = [self._api.describe("defender", "DELETE", path) for path in paths]
        if dry_run:
            return outcome("delete_indicator", target, dry_run=True, requests=sent,
                           unresolved=unresolved)
        for path in paths if ids else []:
            await self._api.call("defender", "DELETE", path)
        return outcome("delete_indicator", target, dry_run=False, requests=sent if ids else [],
                       response={"deleted": ids})


def _address(target: str) -> str:
    try:
        network = ipaddress.ip_network(target.strip(), strict=False)
    except ValueError as exc:
        raise InvalidActionRequest(f"{target!r} is not an IP address or prefix",
                                   target=target) from exc
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def _free_priority(nsg: dict[str, Any], name: str, direction: str) -> int:
    rules = (nsg.get("properties") or {}).get("securityRules") or []
    taken: set[int] = set()
    for rule in rules:
        props = rule.get("properties") or {}
        if rule.get("name") == name and props.get("priority"):
            return int(props["priority"])
        if props.get("direction", "Inbound") == direction and props.get("priority"):
            taken.add(int(props["priority"]))
    for priority in range(FIRST_PRIORITY, LAST_PRIORITY + 1):
        if priority not in taken:
            return priority
    raise InvalidActionRequest(f"no free {direction} priority left in the NSG", direction=direction)
