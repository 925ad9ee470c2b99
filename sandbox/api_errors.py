"""The error bodies each emulated API answers with, and the middleware that applies them.

Every refusal of the sandbox, whether a handler's (`raise ApiError(...)`), an unknown path or
method, a missing token or an injected fault, is answered in the shape of the API the path
belongs to, so the real clients parse it the way they parse Microsoft's:

- Graph: `{"error": {"code", "message", "innerError": {"date", "request-id",
  "client-request-id"}}}`
- Defender for Endpoint: `{"error": {"code", "message", "target"}}`
- ARM, Log Analytics query and Logs Ingestion: `{"error": {"code", "message"}}`
- ServiceNow: `{"error": {"message", "detail"}, "status": "failure"}`

Bad input is a 4xx, never a 500: handlers validate and raise `ApiError`; a handler that fails
anyway is logged and answered with a shaped 500 rather than aiohttp's text page.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from sandbox.clock import utc_now

log = structlog.get_logger(__name__)

MOUNT = "/sandbox"
APIS = ("graph", "defender", "arm", "servicenow", "ingest", "loganalytics")

DEFAULT_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Forbidden",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "RequestEntityTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class ApiError(Exception):
    """A refusal in the API's own terms: HTTP status, the API's error code, a message."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def relative_path(path: str) -> str:
    """The request path after the sandbox's mount point (`/graph/v1.0/users/...`)."""
    if path.startswith(MOUNT + "/") or path == MOUNT:
        return path[len(MOUNT):] or "/"
    return path


def api_of(path: str) -> str:
    """Which emulated API a request path belongs to, or `control` for the test routes."""
    first = relative_path(path).lstrip("/").split("/", 1)[0]
    return first if first in APIS else "control"


def error_body(api: str, code: str, message: str) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    if api == "graph":
        inner = {"date": utc_now(), "request-id": request_id, "client-request-id": request_id}
        return {"error": {"code": code, "message": message, "innerError": inner}}
    if api == "defender":
        return {"error": {"code": code, "message": message, "target": request_id}}
    if api == "servicenow":
        return {"error": {"message": code, "detail": message}, "status": "failure"}
    return {"error": {"code": code, "message": message}}


def error_response(path: str, status: int, code: str | None, message: str,
                   headers: dict[str, str] | None = None) -> web.Response:
    """An error answer shaped for the API `path` belongs to."""
    body = error_body(api_of(path), code or DEFAULT_CODES.get(status, "Error"), message)
    return web.json_response(body, status=status, headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def shaped_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn `ApiError`, unknown routes and unexpected failures into the API's error shape."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(request.path, exc.status, exc.code, exc.message, exc.headers)
    except web.HTTPNotFound:
        message = f"No {request.method} resource at '{relative_path(request.path)}'."
        return error_response(request.path, 404, _not_found_code(request.path), message)
    except web.HTTPMethodNotAllowed as exc:
        message = (f"{request.method} is not supported on '{relative_path(request.path)}'; "
                   f"allowed: {', '.join(sorted(exc.allowed_methods))}.")
        return error_response(request.path, 405, None, message)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("sandbox handler failed", path=request.path, method=request.method)
        return error_response(request.path, 500, None, "The sandbox failed on this request.")


def _not_found_code(path: str) -> str:
    api = api_of(path)
    if api == "graph":
        return "Request_ResourceNotFound"
    if api == "arm":
        return "InvalidResourceType"
    return "ResourceNotFound"


async def json_body(request: web.Request, code: str = "BadRequest") -> Any:
    """The request's JSON body, or an `ApiError` 400 saying why it could not be read."""
    raw = await request.read()
    if not raw.strip():
        raise ApiError(400, code, "The request body is empty; a JSON body is required.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, code, f"The request body is not valid JSON: {exc}.") from None


async def json_object(request: web.Request, code: str = "BadRequest") -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    body = await json_body(request, code)
    if not isinstance(body, dict):
        raise ApiError(400, code, "The request body must be a JSON object.")
    return body
