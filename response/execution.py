"""Exactly-once execution of one action run, with retries, dry runs and an audit of each step.

The state machine is the store's: `pending` (or `pending_approval` once granted) →
`executing` → `succeeded | failed | dry_run`, and `succeeded → rolled_back` when its inverse
succeeds. The step into `executing` is a conditional update in the shared database, so of any
number of callers on any number of replicas exactly one executes a run; the others return.

While `executing`, the run holds a live authorization (see `authorization.py`); the action
plugin is invoked through the kernel with it. A 429 or 5xx is retried with exponential backoff
that honours `Retry-After`; anything else fails the run with the API's reason. A run never
executes again after success: a retry only happens inside the one claim.

An approved run is judged by the policy again before it is handed here (`approvals.py`); this
module executes what it is given and judges nothing.

Limitation: an automatic run is not judged again before it executes. Its verdict was decided
with breaker counts read while enrichment was out, so incidents arriving together can each see
a limit not yet reached and all run `auto`; a pause or a switch to observe mode does not stop
`pending` runs the recovery sweep resumes either. A recheck here (hand the run to a human when
its verdict is no longer `auto`) would close both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from core.errors import CordonError, NotAuthorizedToAct, UpstreamError
from core.models import ActionRun, RunStatus

log = structlog.get_logger(__name__)

MAX_BACKOFF_S = 30.0

RunListener = Callable[[ActionRun], Awaitable[None]]


class Executor:
    def __init__(self, *, store, skills, authorizer, max_attempts: int = 4,
                 base_backoff_s: float = 0.5) -> None:
        self._store = store
        self._skills = skills
        self._authorizer = authorizer
        self._max_attempts = max(1, max_attempts)
        self._base_backoff_s = base_backoff_s
        self._listeners: list[RunListener] = []
        self._tasks: set[asyncio.Task] = set()

    def on_run_finished(self, listener: RunListener) -> None:
        self._listeners.append(listener)

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task:
        """Run a coroutine in the background and keep a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for background executions (used on shutdown and by the CLI)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def execute(self, run_id: str, *, from_statuses: set[RunStatus], actor: str,
                      dry_run: bool) -> ActionRun | None:
        """Claim the run and execute it; None when another caller has it already."""
        now = datetime.now(UTC)
        async with self._store.db.transaction() as session:
            run = await self._store.runs.transition(
                run_id, from_statuses, RunStatus.EXECUTING, executed_at=now, updated_at=now,
                session=session)
            if run is not None:
                await self._store.audit.append("action executing", actor, run.incident_id, {
                    "run_id": run.id, "action": run.proposed.action,
                    "target": run.proposed.target, "dry_run": dry_run,
                    "idempotency_key": run.idempotency_key,
                }, session=session)
        if run is None:
            log.info("run not claimed", run_id=run_id, reason="already taken or not ready")
            return None

        finished = await self._attempt(run, actor=actor, dry_run=dry_run)
        for listener in self._listeners:
            try:
                await listener(finished)
            except Exception:  # a listener (a card update) must not undo an execution
                log.exception("run listener failed", run_id=finished.id)
        return finished

    async def _attempt(self, run: ActionRun, *, actor: str, dry_run: bool) -> ActionRun:
        token = self._authorizer.mint(run.id, run.proposed.action, run.proposed.target)
        attempts = 0
        while True:
            attempts += 1
            try:
                outcome = await self._skills.execute(
                    run.proposed.action, run.proposed.target, run.proposed.parameters,
                    authorization=token, dry_run=dry_run,
                )
            except UpstreamError as exc:
                if exc.retryable and attempts < self._max_attempts:
                    delay = self._backoff(attempts, exc.retry_after)
                    log.info("action retry", run_id=run.id, action=run.proposed.action,
                             attempt=attempts, delay_s=delay, error=exc.message)
                    await self._store.audit.append("action retry", "cordon", run.incident_id, {
                        "run_id": run.id, "attempt": attempts, "delay_s": delay,
                        "error": exc.message,
                    })
                    await asyncio.sleep(delay)
                    continue
                return await self._finish(run, RunStatus.FAILED, actor, attempts,
                                          error=exc.message, facts=exc.facts)
            except NotAuthorizedToAct as exc:
                return await self._finish(run, RunStatus.FAILED, actor, attempts,
                                          error=exc.message)
            except CordonError as exc:
                return await self._finish(run, RunStatus.FAILED, actor, attempts,
                                          error=exc.message, facts=exc.facts)
            except Exception as exc:  # an unexpected client failure is a failed run, not a crash
                log.exception("action crashed", run_id=run.id, action=run.proposed.action)
                return await self._finish(run, RunStatus.FAILED, actor, attempts,
                                          error=f"{type(exc).__name__}: {exc}")

            status = RunStatus.DRY_RUN if dry_run else RunStatus.SUCCEEDED
            return await self._finish(run, status, actor, attempts, outcome=outcome)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(float(retry_after), MAX_BACKOFF_S)
        return min(self._base_backoff_s * (2 ** (attempt - 1)), MAX_BACKOFF_S)

    async def _finish(self, run: ActionRun, status: RunStatus, actor: str, attempts: int, *,
                      outcome: dict[str, Any] | None = None, error: str | None = None,
                      facts: dict[str, Any] | None = None) -> ActionRun:
        outcome = outcome or {}
        kind = {RunStatus.SUCCEEDED: "action succeeded", RunStatus.DRY_RUN: "action dry run",
                RunStatus.FAILED: "action failed"}[status]
        async with self._store.db.transaction() as session:
            updated = await self._store.runs.transition(
                run.id, {RunStatus.EXECUTING}, status, session=session,
                attempts=run.attempts + attempts,
                request=outcome.get("request"),
                result={"response": outcome.get("response"),
                        "inverse_parameters": outcome.get("inverse_parameters") or {}}
                if outcome else None,
                error=error,
                updated_at=datetime.now(UTC),
            )
            await self._store.audit.append(kind, actor, run.incident_id, {
                "run_id": run.id, "action": run.proposed.action, "target": run.proposed.target,
                "attempts": attempts, "request": outcome.get("request"),
                "response": outcome.get("response"), "error": error, "details": facts or {},
            }, session=session)
        final = updated or run
        log.info(kind, run_id=run.id, action=run.proposed.action, target=run.proposed.target,
                 attempts=attempts, error=error)
        return final
