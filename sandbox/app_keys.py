"""The keys under which the sandbox application keeps its state.

`sandbox_app[TENANT_KEY]` is the `Tenant` (reset it with `.reset()`), `sandbox_app[FAULTS_KEY]`
the injected `Faults`. Handlers reach them through `request.app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.faults import Faults
    from sandbox.tenant import Tenant

TENANT_KEY: web.AppKey[Tenant] = web.AppKey("sandbox_tenant")
FAULTS_KEY: web.AppKey[Faults] = web.AppKey("sandbox_faults")
