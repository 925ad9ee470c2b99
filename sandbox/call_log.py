"""The record of mutating calls the emulated APIs handled, so tests can assert exactly which
actions were executed and no others.

Every POST, PUT, PATCH and DELETE that reached an API (past authentication and injected faults)
is recorded with its method, path after `/sandbox`, query, JSON body (gunzipped; `null` when
the body is not JSON), the status it got and the time, whatever that status was. Log Analytics
queries are reads sent as POST and are not recorded; neither are the test routes.

`GET /sandbox/_calls` → `{"calls": [...]}` oldest first (`?method=`, `?path=` regex narrow it);
`DELETE /sandbox/_calls` forgets them.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from typing import Any

from aiohttp import web

from sandbox.api_errors import Handler, api_of, relative_path
from sandbox.app_keys import TENANT_KEY
from sandbox.clock import utc_now
from sandbox.faults import is_control
from sandbox.tenant import RecordedCall

routes = web.RouteTableDef()
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


async def _body_json(request: web.Request) -> Any:
    raw = await request.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            return None
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


@web.middleware
async def record_calls(request: web.Request, handler: Handler) -> web.StreamResponse:
    recorded = (request.method in MUTATING and not is_control(request.path)
                and api_of(request.path) not in ("loganalytics", "control"))
    response = await handler(request)
    if recorded:
        request.app[TENANT_KEY].calls.append(RecordedCall(
            method=request.method,
            path=relative_path(request.path),
            query=dict(request.query),
            json=await _body_json(request),
            status=response.status,
            time=utc_now(),
        ))
    return response


@routes.get("/_calls")
async def list_calls(request: web.Request) -> web.Response:
    method = request.query.get("method", "").upper()
    try:
        path = re.compile(request.query.get("path", ""))
    except re.error as exc:
        return web.json_response({"error": {"code": "BadRequest", "message": str(exc)}},
                                 status=400)
    calls = [c.to_json() for c in request.app[TENANT_KEY].calls
             if (not method or c.method == method) and path.search(c.path)]
    return web.json_response({"calls": calls})


@routes.delete("/_calls")
async def clear_calls(request: web.Request) -> web.Response:
    request.app[TENANT_KEY].calls.clear()
    return web.Response(status=204)
