"""Injected faults: latency, throttling, server errors and hangs, per path pattern, for tests.

`POST /sandbox/_faults` takes one rule or a list of rules:
`{"method": "POST" | "*", "path": "<regex searched in the path after /sandbox>",
"status": 429 | 500 | 503 | ..., "retry_after": seconds, "latency_ms": n, "timeout": true,
"times": n}`. A request to an emulated API that matches a rule (the first that matches, in the
order added) is delayed by `latency_ms`, then:
- with `timeout`, hangs for `hang_s` seconds (default 30, at most 30) — longer than any client
  should wait — and then answers 504; clearing the faults or stopping the server ends the hang;
- with `status`, is answered with that status in the API's own error shape, with a
  `Retry-After` header when `retry_after` is given;
- otherwise reaches the API, only later.
`times` is how many matching requests the rule affects; then it clears itself (absent: until
`DELETE /sandbox/_faults`). `GET /sandbox/_faults` lists the rules still armed. A request a
fault answered never reaches the API and is not recorded in `/sandbox/_calls`.

Test routes (paths with a segment starting with `_`) are never faulted.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from sandbox.api_errors import Handler, error_response, relative_path
from sandbox.app_keys import FAULTS_KEY

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()
MAX_HANG_S = 30.0
METHODS = ("*", "GET", "POST", "PUT", "PATCH", "DELETE")


class InvalidFault(ValueError):
    """A fault rule that cannot be armed; the message says which field and why."""


@dataclass
class FaultRule:
    method: str
    path: re.Pattern[str]
    status: int | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    timeout: bool = False
    hang_s: float = MAX_HANG_S
    times: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self.path.search(path) is not None

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path.pattern, "status": self.status,
                "retry_after": self.retry_after, "latency_ms": self.latency_ms,
                "timeout": self.timeout, "hang_s": self.hang_s, "times": self.times}


def parse_rule(raw: Any) -> FaultRule:
    """A `FaultRule` from its JSON form, or `InvalidFault` naming what is wrong."""
    if not isinstance(raw, dict):
        raise InvalidFault("each fault rule must be a JSON object")
    unknown = set(raw) - {"method", "path", "status", "retry_after", "latency_ms", "timeout",
                          "hang_s", "times"}
    if unknown:
        raise InvalidFault(f"unknown fields {sorted(unknown)}")

    method = str(raw.get("method", "*")).upper()
    if method not in METHODS:
        raise InvalidFault(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    try:
        path = re.compile(str(raw.get("path", "")))
    except re.error as exc:
        raise InvalidFault(f"path is not a regular expression: {exc}") from None

    status = raw.get("status")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise InvalidFault(f"status must be an HTTP error status 400-599; got {status!r}")
    retry_after = _number(raw, "retry_after", 0, 3600)
    latency_ms = int(_number(raw, "latency_ms", 0, 30_000) or 0)
    hang_s = _number(raw, "hang_s", 0, MAX_HANG_S)
    times = raw.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise InvalidFault(f"times must be a whole number of at least 1; got {times!r}")
    timeout = raw.get("timeout", False)
    if not isinstance(timeout, bool):
        raise InvalidFault("timeout must be true or false")
    if status is None and not timeout and not latency_ms:
        raise InvalidFault("a rule needs a status, timeout or latency_ms to have any effect")

    return FaultRule(method, path, status, retry_after, latency_ms, timeout,
                     MAX_HANG_S if hang_s is None else hang_s, times)


def _number(raw: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidFault(f"{name} must be a number from {low} to {high}; got {value!r}")
    return float(value)


class Faults:
    """The armed fault rules of one sandbox, and the hangs in progress."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._release = asyncio.Event()

    def add(self, rules: list[FaultRule]) -> None:
        self.rules.extend(rules)

    def clear(self) -> None:
        """Disarm every rule and end every hang."""
        self.rules.clear()
        self._release.set()
        self._release = asyncio.Event()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule matching this request, counting it against the rule's `times`."""
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
            return rule
        return None

    async def hang(self, seconds: float) -> None:
        release = self._release
        try:
            await asyncio.wait_for(release.wait(), timeout=seconds)
        except TimeoutError:
            return


def is_control(path: str) -> bool:
    """Test routes (`/_faults`, `/_reset`, `/ingest/_records`, ...) are never faulted."""
    return any(part.startswith("_") for part in relative_path(path).split("/"))


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = relative_path(request.path)
    if is_control(request.path):
        return await handler(request)
    rule = request.app[FAULTS_KEY].take(request.method, path)
    if rule is None:
        return await handler(request)

    log.info("sandbox fault injected", method=request.method, path=path, status=rule.status,
             latency_ms=rule.latency_ms, timeout=rule.timeout)
    if rule.latency_ms:
        await asyncio.sleep(rule.latency_ms / 1000)
    if rule.timeout:
        await request.app[FAULTS_KEY].hang(rule.hang_s)
        return error_response(request.path, 504, None, "The sandbox held this request on "
                              "purpose (an injected timeout).")
    if rule.status is None:
        return await handler(request)

    headers = {}
    if rule.retry_after is not None:
        headers["Retry-After"] = str(math.ceil(rule.retry_after))
    return error_response(request.path, rule.status, None,
                          f"Injected fault: {rule.status} for {request.method} {path}.", headers)


def _control_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"code": "InvalidFault", "message": message}},
                             status=status)


@routes.post("/_faults")
async def arm_faults(request: web.Request) -> web.Response:
    try:
        raw = await request.json()
    except ValueError:
        return _control_error(400, "The body must be a JSON fault rule or a list of them.")
    try:
        rules = [parse_rule(r) for r in (raw if isinstance(raw, list) else [raw])]
    except InvalidFault as exc:
        return _control_error(400, str(exc))
    request.app[FAULTS_KEY].add(rules)
    return web.json_response({"faults": [r.to_json() for r in request.app[FAULTS_KEY].rules]},
                             status=201)


@routes.get("/_faults")
async def list_faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": [r.to_json() for r in request.app[FAULTS_KEY].rules]})


@routes.delete("/_faults")
async def clear_faults(request: web.Request) -> web.Response:
    request.app[FAULTS_KEY].clear()
    return web.Response(status=204)
