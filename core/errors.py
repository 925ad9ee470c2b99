"""Errors that cross part boundaries, each carrying what a user needs to act on it.

A `CordonError` has an HTTP status and a stable `code`; the HTTP layer turns it into
`{"error": code, "message": ...}` and nothing else. Anything not a `CordonError` is a bug.
"""

from __future__ import annotations

from typing import Any


class CordonError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, **facts: Any) -> None:
        super().__init__(message)
        self.message = message
        self.facts = facts

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.facts:
            body["details"] = self.facts
        return body


class InvalidJson(CordonError):
    status = 400
    code = "invalid_json"


class InvalidIncident(CordonError):
    status = 422
    code = "invalid_incident"


class NotFound(CordonError):
    status = 404
    code = "not_found"


class Unauthorized(CordonError):
    status = 401
    code = "unauthorized"


class Forbidden(CordonError):
    status = 403
    code = "forbidden"


class Conflict(CordonError):
    status = 409
    code = "conflict"


class NotAuthorizedToAct(CordonError):
    """An action plugin was called without a live authorization. Never retried."""

    status = 403
    code = "no_authorization"


class ApprovalRefused(CordonError):
    """An approval click that may not count: who, what and why are in the message."""

    status = 403
    code = "approval_refused"


class UpstreamError(CordonError):
    """A Microsoft (or sandbox) API failed. `retryable` says whether backoff may help."""

    status = 502
    code = "upstream_error"

    def __init__(self, message: str, *, retryable: bool = False,
                 retry_after: float | None = None, **facts: Any) -> None:
        super().__init__(message, **facts)
        self.retryable = retryable
        self.retry_after = retry_after
