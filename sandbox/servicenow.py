"""ServiceNow's Table API for incidents, as the sandbox serves it under `/sandbox/servicenow`.

- `POST /api/now/table/incident` with a JSON object of fields (`short_description`,
  `description`, `urgency`, `impact`, `caller_id`, `correlation_id`, ...) → 201
  `{"result": {...}}` with the fields as strings plus `sys_id` (32 hex digits), `number`
  (`INC0010001`, `INC0010002`, ...), `state` "1" (New) and `sys_created_on`.
- `GET /api/now/table/incident` lists them under `result`, filtered by `sysparm_query`
  (conditions joined by `^`: `field=value`, `field!=value`, `fieldLIKEtext`,
  `fieldSTARTSWITHtext`, and `ORDERBYfield` / `ORDERBYDESCfield`), limited by `sysparm_limit`.
- `GET /api/now/table/incident/{sys_id}` → `{"result": {...}}`.
Errors are ServiceNow's `{"error": {"message", "detail"}, "status": "failure"}`.

Limitation: one table (incident), no `^OR`/`^NQ` conditions, no reference fields resolved to
links, and no ACLs: any bearer or basic credential may write.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import web

from sandbox.api_errors import ApiError, json_object
from sandbox.app_keys import TENANT_KEY
from sandbox.clock import servicenow_now
from sandbox.tenant import Json, Tenant

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()
TABLE = "/servicenow/api/now/table/incident"
_CONDITION = re.compile(r"^(?P<field>[A-Za-z_][\w.]*?)(?P<op>!=|=|LIKE|STARTSWITH)(?P<value>.*)$")


def _tenant(request: web.Request) -> Tenant:
    return request.app[TENANT_KEY]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@routes.post(TABLE)
async def create_incident(request: web.Request) -> web.Response:
    body = await json_object(request, "Exception while reading request")
    if not body:
        raise ApiError(400, "Exception while reading request",
                       "The body holds no fields; send at least short_description.")
    tickets = _tenant(request).tickets
    now = servicenow_now()
    record = {
        **{k: _text(v) for k, v in body.items()},
        "sys_id": uuid.uuid4().hex,
        "number": f"INC{10001 + len(tickets):07d}",
        "state": _text(body.get("state", "1")),
        "urgency": _text(body.get("urgency", "3")),
        "impact": _text(body.get("impact", "3")),
        "active": "true",
        "sys_created_on": now,
        "sys_updated_on": now,
        "sys_created_by": "cordon",
        "opened_at": now,
    }
    tickets.append(record)
    log.info("sandbox ticket created", number=record["number"],
             short_description=record.get("short_description"))
    return web.json_response({"result": record}, status=201,
                             headers={"Location": f"{request.url.origin()}{request.path}/"
                                                  f"{record['sys_id']}"})


def _conditions(query: str) -> tuple[list[Callable[[Json], bool]], tuple[str, bool] | None]:
    predicates: list[Callable[[Json], bool]] = []
    order: tuple[str, bool] | None = None
    for part in filter(None, query.split("^")):
        if part.startswith("ORDERBYDESC"):
            order = (part[len("ORDERBYDESC"):], True)
            continue
        if part.startswith("ORDERBY"):
            order = (part[len("ORDERBY"):], False)
            continue
        if part.startswith(("OR", "NQ")):
            raise ApiError(400, "Invalid query", f"'{part}': OR and NQ are not supported.")
        match = _CONDITION.match(part)
        if match is None:
            raise ApiError(400, "Invalid query", f"Cannot read the condition '{part}'.")
        predicates.append(_predicate(match["field"], match["op"], match["value"]))
    return predicates, order


def _predicate(field: str, op: str, value: str) -> Callable[[Json], bool]:
    if op == "=":
        return lambda r: r.get(field, "") == value
    if op == "!=":
        return lambda r: r.get(field, "") != value
    if op == "LIKE":
        return lambda r: value.lower() in r.get(field, "").lower()
    return lambda r: r.get(field, "").lower().startswith(value.lower())


@routes.get(TABLE)
async def list_incidents(request: web.Request) -> web.Response:
    predicates, order = _conditions(request.query.get("sysparm_query", ""))
    rows = [t for t in _tenant(request).tickets if all(p(t) for p in predicates)]
    if order:
        rows.sort(key=lambda r: r.get(order[0], ""), reverse=order[1])
    limit = request.query.get("sysparm_limit", "")
    if limit:
        if not limit.isdigit():
            raise ApiError(400, "Invalid query", f"sysparm_limit must be a number, got {limit!r}.")
        rows = rows[: int(limit)]
    return web.json_response({"result": rows}, headers={"X-Total-Count": str(len(rows))})


@routes.get(TABLE + "/{sys_id}")
async def get_incident(request: web.Request) -> web.Response:
    sys_id = request.match_info["sys_id"]
    for ticket in _tenant(request).tickets:
        if ticket["sys_id"] == sys_id:
            return web.json_response({"result": ticket})
    raise ApiError(404, "No Record found",
                   "Record doesn't exist or ACL restricts the record retrieval")
