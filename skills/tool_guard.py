"""What a model may call: the read-only enrichment plugins, and nothing that changes the tenant.

`READ_ONLY_PLUGINS` names them. `refuse_acting_tools` is the auto-function-invocation filter
every kernel a model talks to carries: a tool call to any other plugin is not run, and the
model is told why (and may go on to give its answer, which is judged like any other). The
action plugins also refuse a call without a live authorization, so this is the first of two
locks, not the only one.
"""

from __future__ import annotations

from typing import Any

import structlog
from semantic_kernel.functions import FunctionResult

log = structlog.get_logger(__name__)

READ_ONLY_PLUGINS = ("Identity", "Devices", "ThreatIntel", "Watchlists", "Mail", "Apps",
                     "Incidents")


async def refuse_acting_tools(context: Any, next: Any) -> None:
    """Let a model's tool call through only to a read-only plugin."""
    plugin = context.function.plugin_name
    if plugin in READ_ONLY_PLUGINS:
        await next(context)
        return
    log.warning("model tool call refused", plugin=plugin, function=context.function.name)
    context.function_result = FunctionResult(
        function=context.function.metadata,
        value=(f"Refused: {plugin}-{context.function.name} is not a read-only lookup. You can "
               "only look things up; the policy and people decide what is done."),
    )
