"""Action plugins: the only code that changes anything in the tenant, each call authorized twice.

Every action function takes the entity key it is aimed at (`target`), an `authorization` token
and `dry_run`. Its first step is `ActionGuard.check(authorization, action, target)`, which asks
the response engine's `core.ports.Authorizer` and raises `NotAuthorizedToAct` unless that exact
action on that exact target is authorized: the kernel's function-invocation filter asks the
same question before the function runs, so neither a model's tool call nor a stray direct call
acts alone. Deny by default: an empty token, or an authorizer that fails, refuses.

With `dry_run` a function builds the exact request it would send and returns it unsent; reads
that only serve to complete a request (a free NSG priority, a machine id from its name) are
skipped too, and `unresolved` names what would have been looked up.

Every function returns an action outcome:
`{"action", "target", "dry_run", "request": {method, url, body} | None, "requests": [...],
"response": {...}, "inverse_parameters": {...}, "unresolved": [...]}` where `request` is the
main write, `requests` every write in order, and `inverse_parameters` what the inverse action
needs to undo this one.
"""

from __future__ import annotations

from typing import Any

import structlog

from core.errors import CordonError, NotAuthorizedToAct
from core.ports import Authorizer

log = structlog.get_logger(__name__)


class InvalidActionRequest(CordonError):
    """An action was called with a target or parameters it cannot act on."""

    status = 422
    code = "invalid_action_request"


class ActionGuard:
    """The in-plugin authorization check: the same question the kernel filter asks."""

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    async def check(self, authorization: str, action: str, target: str) -> None:
        if not authorization:
            log.warning("action refused", action=action, target=target, reason="no token")
            raise NotAuthorizedToAct(
                f"{action} on {target} needs an authorization token; none was given",
                action=action, target=target)
        try:
            await self._authorizer.check(authorization, action, target)
        except NotAuthorizedToAct:
            log.warning("action refused", action=action, target=target, reason="not authorized")
            raise
        except Exception as exc:
            log.error("action refused", action=action, target=target,
                      reason="authorizer failed", error=type(exc).__name__)
            raise NotAuthorizedToAct(
                f"{action} on {target} could not be authorized: the check itself failed",
                action=action, target=target) from exc


def outcome(action: str, target: str, *, dry_run: bool,
            requests: list[dict[str, Any]] | None = None,
            response: dict[str, Any] | None = None,
            inverse_parameters: dict[str, Any] | None = None,
            unresolved: list[str] | None = None) -> dict[str, Any]:
    """The action outcome every action function returns (see module docstring)."""
    writes = list(requests or [])
    return {
        "action": action,
        "target": target,
        "dry_run": dry_run,
        "request": writes[0] if writes else None,
        "requests": writes,
        "response": response if response is not None else {},
        "inverse_parameters": inverse_parameters or {},
        "unresolved": unresolved or [],
    }


def arm_resource_id(value: str, field: str) -> str:
    """An ARM resource id, refused unless it is one (it becomes part of a URL path)."""
    text = (value or "").strip()
    if (not text.lower().startswith("/subscriptions/")
            or any(bad in text for bad in ("..", "?", "#", "\\", " "))):
        raise InvalidActionRequest(
            f"{field} must be an ARM resource id starting with /subscriptions/, got {text!r}",
            field=field, value=text)
    return text.rstrip("/")


def required(value: Any, field: str, action: str) -> Any:
    """`value`, or a refusal naming the missing parameter."""
    if value in (None, "", [], {}):
        raise InvalidActionRequest(f"{action} needs `{field}`", field=field, action=action)
    return value
