"""Microsoft Defender for Endpoint's API as the sandbox serves it under `/sandbox/defender/api`.

Paths, PascalCase request bodies, camelCase answers, OData envelopes and the
`{"error": {"code", "message", "target"}}` error body are Defender's:

- `GET /machines` (`$filter=computerDnsName eq '…'`, `$top`, `$skip`), `GET /machines/{id}`
  (the machine id or its DNS name, without regard to case).
- `POST /machines/{id}/isolate` `{"Comment", "IsolationType": "Full"|"Selective"}` → 201 with a
  MachineAction; the machine's `isolationState` becomes `Isolated`.
  `POST /machines/{id}/unisolate` `{"Comment"}` → 201; `isolationState` becomes `NotIsolated`.
  `POST /machines/{id}/StopAndQuarantineFile` `{"Comment", "Sha1"}` → 201; the hash joins the
  machine's quarantined files (`GET /machines/{id}` shows them as `quarantinedFiles`, a
  sandbox-only field).
  The answer to the POST shows the action `Pending`, as Defender's does; the effect is applied
  at once and `GET /machineactions/{id}` reads `Succeeded`.
- `GET /machineactions`, `GET /machineactions/{id}`.
- `POST /indicators` → 200 with the indicator and its id (submitting the same value and type
  again updates it, as Defender does); `GET /indicators` (`$filter` on indicatorValue,
  indicatorType, action); `DELETE /indicators/{id}` → 204.

Limitation: actions never fail, never stay pending and are not rejected while another action of
the same kind is pending; the sandbox has no agents to wait for. Machine tags, live response and
investigation packages are not served.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from typing import Any

import structlog
from aiohttp import web

from sandbox.api_errors import ApiError, json_object
from sandbox.app_keys import TENANT_KEY
from sandbox.clock import utc_now
from sandbox.odata import InvalidFilter, QueryOptions, query_options
from sandbox.tenant import Json, Tenant

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()
API = "/defender/api"

ISOLATION_TYPES = ("Full", "Selective", "UnManagedDevice")
INDICATOR_TYPES = ("FileSha1", "FileSha256", "FileMd5", "CertificateThumbprint", "IpAddress",
                   "DomainName", "Url")
INDICATOR_ACTIONS = ("Warn", "Block", "Audit", "Alert", "AlertAndBlock", "BlockAndRemediate",
                     "Allowed")
SEVERITIES = ("Informational", "Low", "Medium", "High")
HASH_LENGTHS = {"FileSha1": 40, "FileSha256": 64, "FileMd5": 32, "CertificateThumbprint": 40}


def _tenant(request: web.Request) -> Tenant:
    return request.app[TENANT_KEY]


def _context(request: web.Request, entity_set: str) -> str:
    return f"{request.url.origin()}{request.path.split(API, 1)[0]}{API}/$metadata#{entity_set}"


def _options(request: web.Request) -> QueryOptions:
    try:
        return query_options(dict(request.query), max_top=10_000)
    except InvalidFilter as exc:
        raise ApiError(400, "InvalidRequestBody", f"Invalid OData query: {exc}.") from None


def _collection(request: web.Request, entity_set: str, items: list[Json]) -> web.Response:
    options = _options(request)
    page, _ = options.apply(items)
    return web.json_response({"@odata.context": _context(request, entity_set),
                              "value": [options.project(i) for i in page]})


def _entity(request: web.Request, entity_set: str, item: Json, status: int = 200) -> web.Response:
    body = {"@odata.context": f"{_context(request, entity_set)}/$entity", **item}
    return web.json_response(body, status=status)


def _machine_or_404(request: web.Request) -> Json:
    key = request.match_info["id"]
    machine = _tenant(request).machine(key)
    if machine is None:
        raise ApiError(404, "ResourceNotFound", f"Machine {key} was not found.")
    return machine


def _comment(body: Json) -> str:
    comment = body.get("Comment")
    if not isinstance(comment, str) or not comment.strip():
        raise ApiError(400, "InvalidRequestBody", "'Comment' is required.")
    return comment


def _requestor(request: web.Request) -> str:
    return request.headers.get("X-Sandbox-Requestor", "cordon@fabrikam.example")


def _record_action(request: web.Request, machine: Json, kind: str, comment: str,
                   **extra: Any) -> web.Response:
    now = utc_now()
    action = {
        "id": str(uuid.uuid4()),
        "type": kind,
        "scope": extra.pop("scope", None),
        "requestor": _requestor(request),
        "requestorComment": comment,
        "status": "Succeeded",
        "machineId": machine["id"],
        "computerDnsName": machine.get("computerDnsName"),
        "creationDateTimeUtc": now,
        "lastUpdateDateTimeUtc": now,
        "relatedFileInfo": extra.pop("related_file", None),
        **extra,
    }
    _tenant(request).machine_actions[action["id"]] = action
    log.info("sandbox machine action", action=kind, machine=machine.get("computerDnsName"),
             action_id=action["id"])
    return _entity(request, "MachineActions", {**action, "status": "Pending"}, status=201)


# Machines.


@routes.get(API + "/machines")
async def list_machines(request: web.Request) -> web.Response:
    return _collection(request, "Machines", list(_tenant(request).machines.values()))


@routes.get(API + "/machines/{id}")
async def get_machine(request: web.Request) -> web.Response:
    return _entity(request, "Machines", _machine_or_404(request))


@routes.post(API + "/machines/{id}/isolate")
async def isolate(request: web.Request) -> web.Response:
    machine, body = _machine_or_404(request), await json_object(request, "InvalidRequestBody")
    comment = _comment(body)
    isolation_type = body.get("IsolationType", "Full")
    if isolation_type not in ISOLATION_TYPES:
        raise ApiError(400, "InvalidRequestBody",
                       f"'IsolationType' must be one of {', '.join(ISOLATION_TYPES)}; "
                       f"got {isolation_type!r}.")
    machine["isolationState"] = "Isolated"
    return _record_action(request, machine, "Isolate", comment, scope=isolation_type)


@routes.post(API + "/machines/{id}/unisolate")
async def unisolate(request: web.Request) -> web.Response:
    machine, body = _machine_or_404(request), await json_object(request, "InvalidRequestBody")
    comment = _comment(body)
    machine["isolationState"] = "NotIsolated"
    return _record_action(request, machine, "Unisolate", comment)


@routes.post(API + "/machines/{id}/StopAndQuarantineFile")
async def stop_and_quarantine_file(request: web.Request) -> web.Response:
    machine, body = _machine_or_404(request), await json_object(request, "InvalidRequestBody")
    comment = _comment(body)
    sha1 = str(body.get("Sha1") or "")
    if not re.fullmatch(r"[0-9a-fA-F]{40}", sha1):
        raise ApiError(400, "InvalidRequestBody", "'Sha1' must be a SHA-1 hash (40 hex digits).")
    quarantined = machine.setdefault("quarantinedFiles", [])
    if sha1.lower() not in quarantined:
        quarantined.append(sha1.lower())
    related = {"fileIdentifier": sha1.lower(), "fileIdentifierType": "Sha1"}
    return _record_action(request, machine, "StopAndQuarantineFile", comment,
                          related_file=related)


@routes.get(API + "/machineactions")
async def list_machine_actions(request: web.Request) -> web.Response:
    return _collection(request, "MachineActions",
                       list(_tenant(request).machine_actions.values()))


@routes.get(API + "/machineactions/{id}")
async def get_machine_action(request: web.Request) -> web.Response:
    key = request.match_info["id"]
    action = _tenant(request).machine_actions.get(key)
    if action is None:
        raise ApiError(404, "ResourceNotFound", f"Machine action {key} was not found.")
    return _entity(request, "MachineActions", action)


# Indicators.


def _checked_indicator(body: Json) -> Json:
    for required in ("indicatorValue", "indicatorType", "action", "title", "description"):
        if not isinstance(body.get(required), str) or not body[required].strip():
            raise ApiError(400, "InvalidRequestBody", f"'{required}' is required.")
    kind, value = body["indicatorType"], body["indicatorValue"].strip()
    if kind not in INDICATOR_TYPES:
        raise ApiError(400, "InvalidRequestBody",
                       f"'indicatorType' must be one of {', '.join(INDICATOR_TYPES)}.")
    if body["action"] not in INDICATOR_ACTIONS:
        raise ApiError(400, "InvalidRequestBody",
                       f"'action' must be one of {', '.join(INDICATOR_ACTIONS)}.")
    if body.get("severity") not in (None, *SEVERITIES):
        raise ApiError(400, "InvalidRequestBody",
                       f"'severity' must be one of {', '.join(SEVERITIES)}.")
    _check_value(kind, value)
    return {**body, "indicatorValue": value}


def _check_value(kind: str, value: str) -> None:
    if kind in HASH_LENGTHS and not re.fullmatch(rf"[0-9a-fA-F]{{{HASH_LENGTHS[kind]}}}", value):
        raise ApiError(400, "InvalidRequestBody", f"'{value}' is not a valid {kind}.")
    if kind == "IpAddress":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ApiError(400, "InvalidRequestBody",
                           f"'{value}' is not an IP address.") from None
    if kind == "DomainName" and not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", value):
        raise ApiError(400, "InvalidRequestBody", f"'{value}' is not a domain name.")


@routes.post(API + "/indicators")
async def submit_indicator(request: web.Request) -> web.Response:
    body = _checked_indicator(await json_object(request, "InvalidRequestBody"))
    indicators = _tenant(request).indicators
    existing = next((i for i in indicators.values()
                     if i["indicatorType"] == body["indicatorType"]
                     and i["indicatorValue"].lower() == body["indicatorValue"].lower()), None)
    now = utc_now()
    indicator = {
        "id": existing["id"] if existing else str(max((int(k) for k in indicators), default=0) + 1),
        "indicatorValue": body["indicatorValue"],
        "indicatorType": body["indicatorType"],
        "action": body["action"],
        "title": body["title"],
        "description": body["description"],
        "severity": body.get("severity", "Informational"),
        "expirationTime": body.get("expirationTime"),
        "recommendedActions": body.get("recommendedActions"),
        "rbacGroupNames": body.get("rbacGroupNames", []),
        "generateAlert": body.get("generateAlert", body["action"] in ("Alert", "AlertAndBlock")),
        "source": "cordon",
        "sourceType": "AadApp",
        "createdBy": _requestor(request),
        "creationTimeDateTimeUtc": existing["creationTimeDateTimeUtc"] if existing else now,
        "lastUpdateTime": now,
    }
    indicators[indicator["id"]] = indicator
    log.info("sandbox indicator submitted", indicator_id=indicator["id"],
             value=indicator["indicatorValue"], kind=indicator["indicatorType"])
    return _entity(request, "Indicators", indicator)


@routes.get(API + "/indicators")
async def list_indicators(request: web.Request) -> web.Response:
    return _collection(request, "Indicators", list(_tenant(request).indicators.values()))


@routes.delete(API + "/indicators/{id}")
async def delete_indicator(request: web.Request) -> web.Response:
    key = request.match_info["id"]
    indicator = _tenant(request).indicators.pop(key, None)
    if indicator is None:
        raise ApiError(404, "ResourceNotFound", f"Indicator {key} was not found.")
    log.info("sandbox indicator deleted", indicator_id=key, value=indicator["indicatorValue"])
    return web.Response(status=204)
