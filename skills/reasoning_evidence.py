"""The evidence ledger: numbered facts a recommendation's sentences cite.

A `EvidenceLedger` hands out ids `E1`, `E2`, ... in the order facts are noted, gives the same
id back when the same fact about the same entity is noted twice, and renders citations
(`[E1][E3]`). It promises that every id it cites exists in `items()`; it never judges a fact.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.models import Evidence


class EvidenceLedger:
    def __init__(self) -> None:
        self._items: list[Evidence] = []
        self._index: dict[tuple[str, str, str], str] = {}

    def note(self, source: str, fact: str, entity: str = "") -> str:
        """Record a fact from `source` about `entity` and return its id."""
        key = (source, fact, entity)
        known = self._index.get(key)
        if known:
            return known

        evidence_id = f"E{len(self._items) + 1}"
        self._items.append(Evidence(id=evidence_id, source=source, fact=fact, entity=entity))
        self._index[key] = evidence_id
        return evidence_id

    def items(self) -> list[Evidence]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)


def evidence_order(evidence_id: str) -> tuple[int, str]:
    digits = evidence_id[1:]
    return (int(digits), evidence_id) if digits.isdigit() else (1 << 30, evidence_id)


def cite(evidence_ids: Iterable[str]) -> str:
    """`[E1][E3]` for the given ids, each once, in ledger order."""
    unique = sorted({e for e in evidence_ids if e}, key=evidence_order)
    return "".join(f"[{evidence_id}]" for evidence_id in unique)


def sentence(text: str, evidence_ids: Iterable[str]) -> str:
    """One rationale sentence ending with the citations it rests on."""
    body = text.rstrip(". ")
    return f"{body} {cite(evidence_ids)}.".replace(" .", ".")
