"""HTTP intake: `POST /api/incidents`, `GET /api/incidents/{id}`, `/healthz`, `/readyz`.

Every answer is JSON. Client mistakes get a 4xx whose body says what was wrong:
401 without a valid bearer token, 413 for a body over the size limit, 415 for a body that is not
JSON, 400 for JSON that does not parse, 422 for JSON of the wrong shape, 404 for an unknown
incident. Nothing is stored for a refused request. A 500 means a bug in Cordon, and is logged.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from core.errors import CordonError, InvalidIncident

log = structlog.get_logger(__name__)

ENGINE_KEY = web.AppKey("engine", object)
AUTH_KEY = web.AppKey("intake_auth", object)
READY_KEY = web.AppKey("ready", object)
MAX_BYTES_KEY = web.AppKey("max_bytes", int)


def _error(status: int, code: str, message: str, **details) -> web.Response:
    body = {"error": code, "message": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status)


@web.middleware
async def json_errors(request: web.Request, handler):
    """Turn Cordon's errors, and aiohttp's own client errors, into JSON bodies."""
    try:
        return await handler(request)
    except CordonError as exc:
        return web.json_response(exc.to_json(), status=exc.status)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app.get(MAX_BYTES_KEY, 0)
        return _error(413, "payload_too_large",
                      f"the body is larger than the {limit} bytes Cordon accepts",
                      max_bytes=limit)
    except web.HTTPException as exc:
        if exc.status >= 400 and not request.path.startswith("/sandbox"):
            return _error(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)
        raise
    except Exception:
        log.exception("request failed", path=request.path, method=request.method)
        return _error(500, "internal_error", "Cordon failed on this request; it is logged")


async def post_incident(request: web.Request) -> web.Response:
    await request.app[AUTH_KEY].check(request.headers.get("Authorization"))
    content_type = request.content_type or ""
    if content_type and content_type not in ("application/json", "text/plain") \
            and not content_type.endswith("+json"):
        return _error(415, "unsupported_media_type",
                      f"send the incident as application/json, not {content_type}")
    body = await request.read()
    if not body.strip():
        raise InvalidIncident("the body is empty; send the Sentinel incident as JSON")
    result = await request.app[ENGINE_KEY].intake(body)
    status = 200 if result.duplicate else 201
    return web.json_response(result.model_dump(mode="json"), status=status)


async def get_incident(request: web.Request) -> web.Response:
    await request.app[AUTH_KEY].check(request.headers.get("Authorization"))
    engine = request.app[ENGINE_KEY]
    result = await engine.get(request.match_info["incident_id"])
    return web.json_response(result.model_dump(mode="json"))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready = request.app.get(READY_KEY)
    if ready is None:
        return _error(503, "starting", "Cordon is starting")
    problems = await ready()
    if problems:
        return _error(503, "not_ready", "; ".join(problems))
    return web.json_response({"status": "ready"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/incidents", post_incident)
    # ARM incident ids contain slashes: take the rest of the path.
    app.router.add_get("/api/incidents/{incident_id:.+}", get_incident)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
