"""The sandbox's authentication: every API request must carry `Authorization: Bearer <token>`.

Any non-empty token is accepted — it is an emulation: there is no identity provider to check a
signature against, and in sandbox mode Cordon sends `Bearer sandbox-…`. ServiceNow also takes
`Basic` credentials, which is how its Table API is usually called. A request without them gets
401 in the API's own error shape with a `WWW-Authenticate` header. Test routes need no token.

Limitation: tokens are not validated, so the sandbox cannot show a permission being missing.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.api_errors import Handler, api_of, error_response
from sandbox.faults import is_control

CODES = {
    "graph": ("InvalidAuthenticationToken", "Access token is empty."),
    "defender": ("Unauthorized", "Authorization header is missing or is not a bearer token."),
    "arm": ("AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
            "missing or is not a bearer token."),
    "servicenow": ("User Not Authenticated", "Required to provide Auth information"),
    "loganalytics": ("AuthorizationRequiredError", "Valid authentication was not provided."),
    "ingest": ("InvalidAuthenticationToken", "Authorization header is missing or is not a "
               "bearer token."),
}


def _accepted(header: str, api: str) -> bool:
    scheme, _, credential = header.strip().partition(" ")
    if not credential.strip():
        return False
    if scheme.lower() == "bearer":
        return True
    return api == "servicenow" and scheme.lower() == "basic"


@web.middleware
async def require_bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_control(request.path):
        return await handler(request)
    api = api_of(request.path)
    if _accepted(request.headers.get("Authorization", ""), api):
        return await handler(request)
    code, message = CODES.get(api, ("Unauthorized", "A bearer token is required."))
    return error_response(request.path, 401, code, message,
                          {"WWW-Authenticate": 'Bearer realm="sandbox"'})
