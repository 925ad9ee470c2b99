"""The evidence a recommendation rests on, as `E1` → `graph.riskyUsers: Dana Rossi is at high
risk`, the cited items first, capped with a count of the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cards.summary import capped
from cards.untrusted_text import plain
from core.models import Evidence


def evidence_facts(
    evidence: Sequence[Evidence], cited: Iterable[str], limit: int, chars: int
) -> tuple[list[tuple[str, str]], int]:
    """Fact pairs for the first `limit` items, cited ones first, and how many were left out."""
    cited_ids = list(dict.fromkeys(cited))
    order = {eid: i for i, eid in enumerate(cited_ids)}
    ranked = sorted(evidence, key=lambda e: order.get(e.id, len(order)))
    kept, more = capped(ranked, limit)
    return [(plain(e.id, 12), _line(e, chars)) for e in kept], more


def _line(item: Evidence, chars: int) -> str:
    source = plain(item.source, 40)
    return plain(f"{source}: {item.fact}", chars) if source else plain(item.fact, chars)
