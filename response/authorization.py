"""Live authorizations: the only thing that lets an action plugin act.

An authorization is a token the executor mints for one run it has claimed (`executing` in the
shared store). The token names the run and carries an HMAC over the run id, the action and the
target, keyed by a secret that never leaves this process. `check` accepts it only when:

1. the MAC is ours and binds exactly this action and target;
2. the run still exists and is `executing` in the store (so a finished, rejected or rolled back
   run's token is dead, and so is one whose claim another replica took).

Anything else raises `NotAuthorizedToAct`. A model's tool call has no token; a stray direct call
to a plugin has none either. Both are refused by the kernel's filter and again by the plugin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import structlog

from core.errors import NotAuthorizedToAct
from core.models import RunStatus

log = structlog.get_logger(__name__)


class RunAuthorizer:
    """Implements `core.ports.Authorizer` over the store's runs."""

    def __init__(self, runs) -> None:
        self._runs = runs
        self._secret = secrets.token_bytes(32)

    def mint(self, run_id: str, action: str, target: str) -> str:
        return f"{run_id}.{self._mac(run_id, action, target)}"

    def _mac(self, run_id: str, action: str, target: str) -> str:
        message = f"{run_id}\x1f{action}\x1f{target}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    async def check(self, token: str, action: str, target: str) -> None:
        run_id, _, mac = (token or "").rpartition(".")
        if not run_id or not hmac.compare_digest(mac, self._mac(run_id, action, target)):
            log.warning("authorization refused", reason="unknown token", action=action,
                        target=target)
            raise NotAuthorizedToAct(
                f"no live authorization for {action} on {target}: the token is missing or was "
                "not issued for this action and target",
                action=action, target=target,
            )

        run = await self._runs.get(run_id)
        if run is None or run.status != RunStatus.EXECUTING:
            status = run.status.value if run else "missing"
            log.warning("authorization refused", reason="run not executing", run_id=run_id,
                        status=status, action=action, target=target)
            raise NotAuthorizedToAct(
                f"no live authorization for {action} on {target}: run {run_id} is {status}",
                action=action, target=target, run_id=run_id,
            )
