"""HTTP intake: `POST /api/incidents`, `GET /api/incidents/{id}`, `/healthz`, `/readyz`.

Every answer is JSON. Client mistakes get a 4xx whose body says what was wrong:
401 without a valid bearer token, 413 for a body over the size limit, 415 for a body that is not
JSON, 400 for JSON that does not parse, 422 for JSON of the wrong shape, 404 for an unknown
incident. Nothing is stored for a refused request. A 500 means a bug in Cordon, and is logged.

`POST /api/incidents` answers once the verdicts are decided (201, or 200 for a redelivery).
A caller that sends `Prefer: respond-async` (RFC 7240) gets 202 Accepted as soon as the
incident is stored, with `Location` naming where the result will be, `Retry-After` and
`Preference-Applied: respond-async`; `GET` on that location answers 202 while the incident is
being triaged and then the result. (A redelivery sent without the preference, while another
replica is still triaging the first delivery after ten seconds, gets the same 202.)

That is the asynchronous pattern Logic Apps' HTTP action follows by itself, so a Sentinel
playbook waits for the result without holding a request open, and a storm of incidents costs
Cordon one insert each at intake.
"""

from __future__ import annotations

from urllib.parse import quote

import structlog
from aiohttp import web

from core.errors import CordonError, InvalidIncident
from core.models import Accepted

log = structlog.get_logger(__name__)

POLL_AFTER_S = 1
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
    engine = request.app[ENGINE_KEY]
    respond_async = _prefers_async(request)
    result = await (engine.accept(body) if respond_async else engine.intake(body))
    if isinstance(result, Accepted):
        response = _accepted(request, result)
    else:
        response = web.json_response(result.model_dump(mode="json"),
                                     status=200 if result.duplicate else 201)
    if respond_async:
        response.headers["Preference-Applied"] = "respond-async"
    return response


async def get_incident(request: web.Request) -> web.Response:
    await request.app[AUTH_KEY].check(request.headers.get("Authorization"))
    engine = request.app[ENGINE_KEY]
    revision = request.query.get("revision")
    result = await engine.get(request.match_info["incident_id"], revision)
    if isinstance(result, Accepted):
        return _accepted(request, result)
    return web.json_response(result.model_dump(mode="json"))


def _prefers_async(request: web.Request) -> bool:
    """True when a `Prefer` header asks for `respond-async` (tokens are case-insensitive)."""
    for header in request.headers.getall("Prefer", []):
        for preference in header.split(","):
            name = preference.split(";", 1)[0].split("=", 1)[0].strip().lower()
            if name == "respond-async":
                return True
    return False


def _accepted(request: web.Request, accepted: Accepted) -> web.Response:
    """202 with where and when to ask for the result."""
    path = (f"/api/incidents/{quote(accepted.incident_id, safe='/')}"
            f"?revision={quote(accepted.revision, safe='')}")
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return web.json_response(accepted.model_dump(mode="json"), status=202, headers={
        "Location": f"{scheme}://{host}{path}", "Retry-After": str(POLL_AFTER_S)})


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
