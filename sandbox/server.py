"""The sandbox application: every emulated API on one aiohttp sub-application.

`build_sandbox_app(seed_path)` returns an `aiohttp.web.Application` that app.py mounts with
`app.add_subapp("/sandbox", sandbox_app)` (the mount point is fixed: paths are read relative to
`/sandbox`). It serves Graph under `/graph/v1.0`, Defender for Endpoint under `/defender/api`,
ARM (network, compute, Sentinel) under `/arm`, ServiceNow under `/servicenow`, Logs Ingestion
under `/ingest` and the Log Analytics query API under `/loganalytics`, all from one `Tenant`
(`sandbox_app[TENANT_KEY]`) seeded from the Fabrikam tenant file.

Test routes, which need no token and are never faulted or recorded:
- `POST /_reset` restores the seed and clears faults, recorded calls and ingested records;
- `/_faults` (see `faults.py`), `/_calls` (see `call_log.py`), `/ingest/_records`;
- `POST /_security_incidents` serves a Graph security incident (the body, with `id` and
  `alerts`) at `/graph/v1.0/security/incidents/{id}`;
- `POST /_sentinel_incidents` `{"id": <incident ARM id>, "properties": {...}}` registers a
  Sentinel incident with those properties.

Requests pass, in order: injected faults, the bearer check, the call record, then the API, whose
refusals come back in its own error shape (`api_errors.py`).

Limitation: it is an emulation held in memory in one process; it promises the shapes and the
state changes Cordon relies on, not the full behaviour of the services.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from aiohttp import web

from sandbox import arm, call_log, defender, faults, graph, ingest, loganalytics, servicenow
from sandbox.api_errors import shaped_errors
from sandbox.app_keys import FAULTS_KEY, TENANT_KEY
from sandbox.bearer import require_bearer
from sandbox.tenant import SEED_PATH, Tenant

log = structlog.get_logger(__name__)

control = web.RouteTableDef()


def _control_error(message: str) -> web.Response:
    return web.json_response({"error": {"code": "BadRequest", "message": message}}, status=400)


@control.post("/_reset")
async def reset(request: web.Request) -> web.Response:
    request.app[TENANT_KEY].reset()
    request.app[FAULTS_KEY].clear()
    log.info("sandbox reset")
    return web.json_response({"status": "reset"})


@control.post("/_security_incidents")
async def register_security_incident(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _control_error("The body must be a Graph security incident as JSON.")
    if not isinstance(body, dict) or not body.get("id"):
        return _control_error("The incident needs an 'id'.")
    return web.json_response(request.app[TENANT_KEY].add_security_incident(body), status=201)


@control.post("/_sentinel_incidents")
async def register_sentinel_incident(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _control_error("The body must be JSON: {\"id\": <ARM id>, \"properties\": {}}.")
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        return _control_error("The body needs 'id', the incident's ARM id.")
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        return _control_error("'properties' must be an object.")
    incident = request.app[TENANT_KEY].add_sentinel_incident(body["id"], properties)
    return web.json_response(incident, status=201)


async def _end_hangs(app: web.Application) -> None:
    app[FAULTS_KEY].clear()


def build_sandbox_app(seed_path: Path | None = None) -> web.Application:
    """The sandbox sub-application, seeded from `seed_path` (default: the Fabrikam copy)."""
    app = web.Application(middlewares=[faults.inject_faults, require_bearer,
                                       call_log.record_calls, shaped_errors])
    app[TENANT_KEY] = Tenant(seed_path or SEED_PATH)
    app[FAULTS_KEY] = faults.Faults()
    for table in (control, faults.routes, call_log.routes, ingest.routes, graph.routes,
                  defender.routes, servicenow.routes, loganalytics.routes, arm.routes):
        app.add_routes(table)
    app.on_shutdown.append(_end_hangs)
    return app
