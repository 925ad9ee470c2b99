"""Read-only enrichment plugins: the only Semantic Kernel functions a model may call.

Each plugin is a small class of `@kernel_function` methods returning JSON-able dicts (the API's
own payloads, trimmed to what matters). None of them changes anything anywhere.
"""

from __future__ import annotations

from core.errors import UpstreamError


def is_not_found(exc: UpstreamError) -> bool:
    """True when the API said the object does not exist (a fact, not a failure)."""
    return exc.facts.get("status") == 404
