"""The Log Analytics query API, for Sentinel watchlists, under `/sandbox/loganalytics`.

`POST /v1/workspaces/{workspaceId}/query` with `{"query": "_GetWatchlist('VIPUsers')"}` (or
`GET` with `?query=`) answers in the API's table shape:
`{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [[...]]}]}`. The
columns are those Sentinel's `_GetWatchlist` gives: `_DTItemId`, `LastUpdatedTimeUTC`,
`SearchKey` (the item's first column), the watchlist's own columns, and `WatchlistItem` (the
whole item, a `dynamic` column, sent as a JSON string like the service sends dynamics).
A trailing `| project A, B` keeps those columns; `| where Col == 'value'` (or `=~` to ignore
case) keeps matching rows.

Anything other than a watchlist query is refused with 400 `BadArgumentError`; an unknown
watchlist with 400 `SemanticError`; another workspace id with 404 `WorkspaceNotFoundError`.

Limitation: this is not KQL. Only the `_GetWatchlist` shapes above are understood.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from aiohttp import web

from sandbox.api_errors import ApiError, json_object
from sandbox.app_keys import TENANT_KEY
from sandbox.clock import utc_now

routes = web.RouteTableDef()
QUERY = "/loganalytics/v1/workspaces/{workspace}/query"

_WATCHLIST = re.compile(r"^\s*_GetWatchlist\(\s*['\"](?P<alias>[^'\"]+)['\"]\s*\)\s*(?P<rest>.*)$",
                        re.DOTALL)
_PROJECT = re.compile(r"^project\s+(?P<columns>[\w\s,]+)$")
_WHERE = re.compile(r"^where\s+(?P<column>\w+)\s*(?P<op>==|=~)\s*['\"](?P<value>[^'\"]*)['\"]$")


def _column_type(values: list[Any]) -> str:
    if values and all(isinstance(v, bool) for v in values):
        return "bool"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "long"
    return "string"


def _table(items: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[list[Any]]]:
    own: list[str] = []
    for item in items:
        own += [k for k in item if k not in own]
    now = utc_now()
    columns = [{"name": "_DTItemId", "type": "string"},
               {"name": "LastUpdatedTimeUTC", "type": "datetime"},
               {"name": "SearchKey", "type": "string"}]
    columns += [{"name": c, "type": _column_type([i.get(c) for i in items])} for c in own]
    columns.append({"name": "WatchlistItem", "type": "dynamic"})
    rows = []
    for item in items:
        search_key = str(item.get(own[0], "")) if own else ""
        rows.append([str(uuid.uuid5(uuid.NAMESPACE_OID, json.dumps(item, sort_keys=True))), now,
                     search_key, *[item.get(c) for c in own], json.dumps(item)])
    return columns, rows


def _apply(step: str, columns: list[dict[str, str]],
           rows: list[list[Any]]) -> tuple[list[dict[str, str]], list[list[Any]]]:
    names = [c["name"] for c in columns]
    if match := _PROJECT.match(step):
        wanted = [c.strip() for c in match["columns"].split(",") if c.strip()]
        missing = [c for c in wanted if c not in names]
        if missing:
            raise ApiError(400, "SemanticError",
                           f"'project' names unknown columns: {', '.join(missing)}.")
        idx = [names.index(c) for c in wanted]
        return [columns[i] for i in idx], [[r[i] for i in idx] for r in rows]
    if match := _WHERE.match(step):
        if match["column"] not in names:
            raise ApiError(400, "SemanticError", f"'where' names unknown column "
                           f"'{match['column']}'.")
        i, value = names.index(match["column"]), match["value"]
        if match["op"] == "=~":
            return columns, [r for r in rows if str(r[i]).lower() == value.lower()]
        return columns, [r for r in rows if str(r[i]) == value]
    raise ApiError(400, "BadArgumentError",
                   f"The sandbox reads only '| project' and '| where' after _GetWatchlist; "
                   f"got '| {step}'.")


async def _answer(request: web.Request, query: Any) -> web.Response:
    tenant = request.app[TENANT_KEY]
    workspace = request.match_info["workspace"]
    known = tenant.info.get("sentinelWorkspace", {}).get("workspaceId", "")
    if workspace.lower() != known.lower():
        raise ApiError(404, "WorkspaceNotFoundError",
                       f"The workspace {workspace} could not be found.")
    if not isinstance(query, str) or not query.strip():
        raise ApiError(400, "BadArgumentError", "The request needs 'query', a KQL text.")

    match = _WATCHLIST.match(query)
    if match is None:
        raise ApiError(400, "BadArgumentError",
                       "The sandbox answers only _GetWatchlist('<alias>') queries.")
    alias = match["alias"]
    items = tenant.watchlists.get(alias)
    if items is None:
        raise ApiError(400, "SemanticError",
                       f"Watchlist '{alias}' was not found; the workspace has "
                       f"{', '.join(sorted(tenant.watchlists))}.")

    columns, rows = _table(items)
    for step in filter(None, (s.strip() for s in match["rest"].split("|"))):
        columns, rows = _apply(step, columns, rows)
    return web.json_response(
        {"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]}
    )


@routes.post(QUERY)
async def query_post(request: web.Request) -> web.Response:
    body = await json_object(request, "BadArgumentError")
    return await _answer(request, body.get("query"))


@routes.get(QUERY)
async def query_get(request: web.Request) -> web.Response:
    return await _answer(request, request.query.get("query"))
