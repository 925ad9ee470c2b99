"""Azure Resource Manager as the sandbox serves it under `/sandbox/arm`.

Resources are addressed by ARM id, matched without regard to case, and every request must carry
an `api-version` query parameter (400 `MissingApiVersionParameter` otherwise), as ARM requires.
Errors are ARM's `{"error": {"code", "message"}}`. Served:

- network security groups: `GET {nsgId}`, `GET {nsgId}/securityRules`,
  `GET`/`PUT`/`DELETE {nsgId}/securityRules/{rule}`. A rule PUT is checked the way ARM checks
  it (priority 100–4096, direction, access, protocol, address prefixes and port ranges, no other
  rule with the same priority and direction) and answers 201 when created, 200 when replaced;
  DELETE answers 202 (or 204 when there was no such rule). Only the one rule changes.
- IP groups: `GET`/`PUT {ipGroupId}` with `properties.ipAddresses` (addresses or CIDR ranges).
- virtual machines: `GET {vmId}` (`$expand=instanceView` adds the power state),
  `GET {vmId}/instanceView`, `POST {vmId}/deallocate`, `/start`, `/powerOff` → 202 with
  `Azure-AsyncOperation` and `Location` headers whose operation reads `Succeeded`.
- Sentinel incidents and comments under the tenant's workspace (see `sentinel.py`).

Limitation: long-running operations complete at once; the seed's two virtual machines
(fab-web-02, fab-sql-01 in rg-servers) were added to the sandbox's copy of the tenant because the
shared tenant has none. Whole-NSG PUTs, route tables and firewall policies are not served.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from sandbox import sentinel
from sandbox.api_errors import ApiError, json_object
from sandbox.app_keys import TENANT_KEY
from sandbox.clock import utc_now
from sandbox.tenant import Json, Tenant

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()
ARM = "/arm"

_RG = r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers"
_NSG = r"(?P<nsgid>" + _RG + r"/microsoft\.network/networksecuritygroups/(?P<nsg>[^/]+))"
_INCIDENT = (_RG + r"/microsoft\.operationalinsights/workspaces/(?P<ws>[^/]+)/providers/"
             r"microsoft\.securityinsights/incidents/(?P<incident>[^/]+)")
_VM = _RG + r"/microsoft\.compute/virtualmachines/(?P<vm>[^/]+)"
_OPERATION = r"/subscriptions/(?P<sub>[^/]+)/providers/[^/]+/locations/[^/]+/operations/[^/]+"

DIRECTIONS, ACCESSES = ("Inbound", "Outbound"), ("Allow", "Deny")
PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")
VM_ACTIONS = {"deallocate": "deallocated", "start": "running", "poweroff": "stopped"}

Dispatch = Callable[[web.Request, re.Match[str]], Awaitable[web.Response]]


def _tenant(request: web.Request) -> Tenant:
    return request.app[TENANT_KEY]


def _arm_base(request: web.Request) -> str:
    return f"{request.url.origin()}{request.path.split(ARM + '/', 1)[0]}{ARM}"


def _not_found(kind: str, name: str, group: str) -> ApiError:
    return ApiError(404, "ResourceNotFound",
                    f"The Resource '{kind}/{name}' under resource group '{group}' was not found.")


def _check_subscription(request: web.Request, match: re.Match[str]) -> None:
    sub = _tenant(request).info.get("subscriptionId", "")
    if match["sub"].lower() != sub.lower():
        raise ApiError(404, "SubscriptionNotFound",
                       f"The subscription '{match['sub']}' could not be found.")


def _accepted(request: web.Request, status: int = 202) -> web.Response:
    sub = _tenant(request).info.get("subscriptionId", "")
    operation = (f"{_arm_base(request)}/subscriptions/{sub}/providers/Microsoft.Sandbox/"
                 f"locations/westeurope/operations/{uuid.uuid4()}"
                 f"?api-version={request.query.get('api-version', '')}")
    headers = {"Azure-AsyncOperation": operation, "Location": operation, "Retry-After": "0"}
    return web.Response(status=status, headers=headers)


# Network security groups.


def _nsg_or_404(request: web.Request, match: re.Match[str]) -> Json:
    _check_subscription(request, match)
    nsg = _tenant(request).nsgs.get(match["nsgid"].lower())
    if nsg is None:
        raise _not_found("Microsoft.Network/networkSecurityGroups", match["nsg"], match["rg"])
    return nsg


def _rule_view(nsg: Json, rule: Json) -> Json:
    return {
        "name": rule["name"],
        "id": f"{nsg['id']}/securityRules/{rule['name']}",
        "etag": rule.setdefault("etag", f'W/"{uuid.uuid4()}"'),
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": {"provisioningState": "Succeeded", **rule.get("properties", {})},
    }


def _nsg_view(nsg: Json) -> Json:
    rules = nsg.setdefault("properties", {}).setdefault("securityRules", [])
    return {
        **{k: v for k, v in nsg.items() if k != "properties"},
        "etag": nsg.setdefault("etag", f'W/"{uuid.uuid4()}"'),
        "properties": {
            **{k: v for k, v in nsg["properties"].items() if k != "securityRules"},
            "provisioningState": "Succeeded",
            "securityRules": [_rule_view(nsg, r) for r in rules],
        },
    }


def _find_rule(nsg: Json, name: str) -> Json | None:
    rules = nsg.setdefault("properties", {}).setdefault("securityRules", [])
    return next((r for r in rules if r["name"].lower() == name.lower()), None)


async def nsg_get(request: web.Request, match: re.Match[str]) -> web.Response:
    return web.json_response(_nsg_view(_nsg_or_404(request, match)))


async def rules_list(request: web.Request, match: re.Match[str]) -> web.Response:
    view = _nsg_view(_nsg_or_404(request, match))
    return web.json_response({"value": view["properties"]["securityRules"]})


async def rule_get(request: web.Request, match: re.Match[str]) -> web.Response:
    nsg = _nsg_or_404(request, match)
    rule = _find_rule(nsg, match["rule"])
    if rule is None:
        raise ApiError(404, "NotFound",
                       f"Security rule {match['rule']} was not found in {nsg['name']}.")
    return web.json_response(_rule_view(nsg, rule))


async def rule_put(request: web.Request, match: re.Match[str]) -> web.Response:
    nsg, body = _nsg_or_404(request, match), await json_object(request, "InvalidRequestFormat")
    name = match["rule"]
    properties = _checked_rule(body.get("properties"), name)

    for other in nsg["properties"]["securityRules"]:
        other_props = other.get("properties", {})
        if other["name"].lower() == name.lower():
            continue
        if (other_props.get("priority") == properties["priority"]
                and other_props.get("direction") == properties["direction"]):
            raise ApiError(400, "SecurityRuleConflict",
                           f"Security rule {name} conflicts with rule {other['name']}: rules "
                           "cannot have the same priority and direction.")

    existing = _find_rule(nsg, name)
    created = existing is None
    if existing is None:
        existing = {"name": name}
        nsg["properties"]["securityRules"].append(existing)
    existing["properties"] = properties
    existing["etag"] = f'W/"{uuid.uuid4()}"'
    log.info("sandbox security rule written", nsg=nsg["name"], rule=name,
             access=properties["access"], sources=_sources(properties))
    response = web.json_response(_rule_view(nsg, existing), status=201 if created else 200)
    response.headers["Azure-AsyncOperation"] = _accepted(request).headers["Azure-AsyncOperation"]
    return response


def _sources(properties: Json) -> list[str]:
    return properties.get("sourceAddressPrefixes") or [properties.get("sourceAddressPrefix")]


def _checked_rule(properties: Any, name: str) -> Json:
    if not isinstance(properties, dict):
        raise ApiError(400, "InvalidRequestFormat", "The body needs 'properties', an object.")
    priority = properties.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or not 100 <= priority <= 4096:
        raise ApiError(400, "SecurityRuleInvalidPriority",
                       f"Security rule {name} has invalid priority {priority!r}; "
                       "a whole number from 100 to 4096 is required.")
    for field, allowed in (("direction", DIRECTIONS), ("access", ACCESSES),
                           ("protocol", PROTOCOLS)):
        if properties.get(field) not in allowed:
            raise ApiError(400, "InvalidRequestFormat",
                           f"Security rule {name}: '{field}' must be one of "
                           f"{', '.join(allowed)}; got {properties.get(field)!r}.")
    for side in ("source", "destination"):
        prefixes = _both(properties, f"{side}AddressPrefix", name)
        for prefix in prefixes:
            _check_prefix(prefix, name)
        _both(properties, f"{side}PortRange", name)
    return {k: v for k, v in properties.items() if k != "provisioningState"}


def _both(properties: Json, singular: str, rule: str) -> list[str]:
    one, many = properties.get(singular), properties.get(singular + "es")
    if singular.endswith("Range"):
        many = properties.get(singular + "s")
    values = [one] if isinstance(one, str) and one else []
    if isinstance(many, list):
        values += [v for v in many if isinstance(v, str) and v]
    if not values:
        raise ApiError(400, "SecurityRuleParameterNullOrEmpty",
                       f"Security rule {rule} needs '{singular}' or its plural form.")
    return values


def _check_prefix(prefix: str, rule: str) -> None:
    if prefix == "*" or re.fullmatch(r"[A-Za-z][A-Za-z0-9.]*", prefix):
        return
    try:
        ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        raise ApiError(400, "SecurityRuleInvalidAddressPrefix",
                       f"Security rule {rule} has invalid address prefix {prefix!r}.") from None


async def rule_delete(request: web.Request, match: re.Match[str]) -> web.Response:
    nsg = _nsg_or_404(request, match)
    rule = _find_rule(nsg, match["rule"])
    if rule is None:
        return web.Response(status=204)
    nsg["properties"]["securityRules"].remove(rule)
    log.info("sandbox security rule deleted", nsg=nsg["name"], rule=match["rule"])
    return _accepted(request)


# IP groups.


async def ip_group_get(request: web.Request, match: re.Match[str]) -> web.Response:
    _check_subscription(request, match)
    group = _tenant(request).ip_groups.get(match.group(0).lower())
    if group is None:
        raise _not_found("Microsoft.Network/ipGroups", match["group"], match["rg"])
    return web.json_response(_ip_group_view(group))


def _ip_group_view(group: Json) -> Json:
    return {**group, "etag": group.setdefault("etag", f'W/"{uuid.uuid4()}"'),
            "properties": {**group.get("properties", {}), "provisioningState": "Succeeded"}}


async def ip_group_put(request: web.Request, match: re.Match[str]) -> web.Response:
    _check_subscription(request, match)
    body = await json_object(request, "InvalidRequestFormat")
    addresses = (body.get("properties") or {}).get("ipAddresses")
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise ApiError(400, "InvalidRequestFormat",
                       "The body needs 'properties.ipAddresses', a list of addresses.")
    for address in addresses:
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise ApiError(400, "InvalidIpAddressOrRange",
                           f"'{address}' is not an IP address or CIDR range.") from None

    groups, key = _tenant(request).ip_groups, match.group(0).lower()
    created = key not in groups
    group = groups.setdefault(key, {
        "id": _original_id(request),
        "name": match["group"],
        "type": "Microsoft.Network/ipGroups",
        "location": body.get("location", "westeurope"),
        "properties": {},
    })
    group["properties"] = {"ipAddresses": list(addresses)}
    group["etag"] = f'W/"{uuid.uuid4()}"'
    log.info("sandbox ip group written", group=group["name"], addresses=addresses)
    return web.json_response(_ip_group_view(group), status=201 if created else 200)


def _original_id(request: web.Request) -> str:
    return "/" + request.match_info["path"].strip("/")


# Virtual machines.


def _vm_or_404(request: web.Request, match: re.Match[str]) -> Json:
    _check_subscription(request, match)
    vm = _tenant(request).vms.get(match["vmid"].lower())
    if vm is None:
        raise _not_found("Microsoft.Compute/virtualMachines", match["vm"], match["rg"])
    return vm


def _instance_view(vm: Json) -> Json:
    power = vm.get("powerState", "running")
    return {
        "computerName": vm.get("properties", {}).get("osProfile", {}).get("computerName"),
        "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info",
             "displayStatus": "Provisioning succeeded"},
            {"code": f"PowerState/{power}", "level": "Info",
             "displayStatus": f"VM {power}"},
        ],
    }


async def vm_get(request: web.Request, match: re.Match[str]) -> web.Response:
    vm = _vm_or_404(request, match)
    view = {k: v for k, v in vm.items() if k != "powerState"}
    if "instanceview" in request.query.get("$expand", "").lower():
        view["properties"] = {**view["properties"], "instanceView": _instance_view(vm)}
    return web.json_response(view)


async def vm_instance_view(request: web.Request, match: re.Match[str]) -> web.Response:
    return web.json_response(_instance_view(_vm_or_404(request, match)))


async def vm_action(request: web.Request, match: re.Match[str]) -> web.Response:
    vm = _vm_or_404(request, match)
    vm["powerState"] = VM_ACTIONS[match["action"].lower()]
    log.info("sandbox vm power changed", vm=vm["name"], power_state=vm["powerState"])
    return _accepted(request)


async def operation_get(request: web.Request, match: re.Match[str]) -> web.Response:
    now = utc_now()
    name = request.path.rsplit("/", 1)[-1]
    return web.json_response({"name": name, "status": "Succeeded", "startTime": now,
                              "endTime": now})


# Sentinel incidents.


def _incident_id(request: web.Request, match: re.Match[str]) -> str:
    _check_subscription(request, match)
    prefix = _tenant(request).workspace_prefix()
    original = _original_id(request)
    incident_id = original[:match.end("incident")]
    if not incident_id.lower().startswith(prefix + "/"):
        raise ApiError(404, "ResourceNotFound",
                       f"The workspace '{match['ws']}' in resource group '{match['rg']}' "
                       "was not found.")
    return incident_id


def _author(request: web.Request) -> Json:
    name = request.headers.get("X-Sandbox-Requestor", "Cordon")
    return {"objectId": None, "email": None, "name": name, "userPrincipalName": None}


async def incident_get(request: web.Request, match: re.Match[str]) -> web.Response:
    incident = sentinel.incident_at(_tenant(request), _incident_id(request, match))
    return web.json_response(incident, headers={"ETag": incident["etag"]})


async def incident_put(request: web.Request, match: re.Match[str]) -> web.Response:
    incident_id = _incident_id(request, match)
    body = await json_object(request)
    status, incident = sentinel.put_incident(_tenant(request), incident_id, body,
                                             request.headers.get("If-Match"))
    log.info("sandbox sentinel incident written", incident=incident["name"],
             status=incident["properties"]["status"])
    return web.json_response(incident, status=status, headers={"ETag": incident["etag"]})


async def comments_list(request: web.Request, match: re.Match[str]) -> web.Response:
    comments = sentinel.comments_of(_tenant(request), _incident_id(request, match))
    ordered = sorted(comments.values(), key=lambda c: c["properties"]["createdTimeUtc"])
    return web.json_response({"value": ordered})


async def comment_get(request: web.Request, match: re.Match[str]) -> web.Response:
    comments = sentinel.comments_of(_tenant(request), _incident_id(request, match))
    comment = comments.get(match["comment"].lower())
    if comment is None:
        raise ApiError(404, "NotFound", f"Comment {match['comment']} was not found.")
    return web.json_response(comment)


async def comment_put(request: web.Request, match: re.Match[str]) -> web.Response:
    incident_id = _incident_id(request, match)
    body = await json_object(request)
    status, comment = sentinel.put_comment(_tenant(request), incident_id, match["comment"],
                                           body, _author(request))
    log.info("sandbox incident comment written", incident=match["incident"],
             comment=match["comment"])
    return web.json_response(comment, status=status)


async def comment_delete(request: web.Request, match: re.Match[str]) -> web.Response:
    comments = sentinel.comments_of(_tenant(request), _incident_id(request, match))
    if comments.pop(match["comment"].lower(), None) is None:
        return web.Response(status=204)
    return web.Response(status=200)


# Dispatch by ARM id.


TABLE: list[tuple[str, str, Dispatch]] = [
    ("GET", _NSG + r"$", nsg_get),
    ("GET", _NSG + r"/securityrules$", rules_list),
    ("GET", _NSG + r"/securityrules/(?P<rule>[^/]+)$", rule_get),
    ("PUT", _NSG + r"/securityrules/(?P<rule>[^/]+)$", rule_put),
    ("DELETE", _NSG + r"/securityrules/(?P<rule>[^/]+)$", rule_delete),
    ("GET", _RG + r"/microsoft\.network/ipgroups/(?P<group>[^/]+)$", ip_group_get),
    ("PUT", _RG + r"/microsoft\.network/ipgroups/(?P<group>[^/]+)$", ip_group_put),
    ("GET", r"(?P<vmid>" + _VM + r")$", vm_get),
    ("GET", r"(?P<vmid>" + _VM + r")/instanceview$", vm_instance_view),
    ("POST", r"(?P<vmid>" + _VM + r")/(?P<action>deallocate|start|poweroff)$", vm_action),
    ("GET", _OPERATION + r"$", operation_get),
    ("GET", _INCIDENT + r"$", incident_get),
    ("PUT", _INCIDENT + r"$", incident_put),
    ("GET", _INCIDENT + r"/comments$", comments_list),
    ("GET", _INCIDENT + r"/comments/(?P<comment>[^/]+)$", comment_get),
    ("PUT", _INCIDENT + r"/comments/(?P<comment>[^/]+)$", comment_put),
    ("DELETE", _INCIDENT + r"/comments/(?P<comment>[^/]+)$", comment_delete),
]


@routes.route("*", ARM + "/{path:.*}")
async def dispatch(request: web.Request) -> web.Response:
    if not request.query.get("api-version"):
        raise ApiError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all "
                       "requests.")

    path = "/" + request.match_info["path"].strip("/")
    methods = set()
    for method, pattern, handler in TABLE:
        match = re.match(pattern, path, re.IGNORECASE)
        if match is None:
            continue
        methods.add(method)
        if method == request.method:
            return await handler(request, match)

    if methods:
        raise ApiError(405, "MethodNotAllowed",
                       f"{request.method} is not supported here; allowed: "
                       f"{', '.join(sorted(methods))}.")
    raise ApiError(404, "InvalidResourceType",
                   f"No resource type the sandbox serves matches '{path}'.")
