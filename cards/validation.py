"""Whether a card is one Teams will render: valid Adaptive Card 1.5, and small enough to send.

`validate_card` checks a card against the official Adaptive Card 1.5 JSON schema (draft-06,
local `$ref`s only, `additionalProperties: false` on every element, so a misspelt property is an
error, not a silent no-op) and answers with readable errors, none when the card is valid.
`card_size` is the card's serialized size in bytes, measured the way it costs the most (ASCII
escapes, default separators), so a card under `MAX_CARD_BYTES` by this measure is under it
however the Bot Framework serializes it.

The schema is read from `../shared/schemas/` beside the project unless a path is given; it is
loaded once per path.

Limitation: the schema's `uri` and `uri-reference` formats are only checked when the optional
`rfc3987` package is installed; without it a malformed URL in `Action.OpenUrl` passes here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import ValidationError, best_match

from core.settings import ROOT

SCHEMA_PATH = ROOT.parent / "shared" / "schemas" / "adaptive-card-1.5.schema.json"

MAX_CARD_BYTES = 28 * 1024
"""Teams refuses cards above 28 KB."""


def card_size(card: dict[str, Any]) -> int:
    """The card's serialized size in bytes, by the most expensive common serialization."""
    return len(json.dumps(card).encode("utf-8"))


def validate_card(card: dict[str, Any], schema_path: Path | None = None) -> list[str]:
    """Schema errors of `card`, each as `path: message`; an empty list means valid."""
    validator = _validator(schema_path or SCHEMA_PATH)
    messages: list[str] = []
    for error in validator.iter_errors(card):
        for leaf in _leaves(error):
            message = f"{_path(leaf)}: {leaf.message}"
            if message not in messages:
                messages.append(message)
    return messages


def _leaves(error: ValidationError) -> list[ValidationError]:
    """Follow the alternatives that match the element's `type`: the schema is one big anyOf.

    An element is tried against every element definition; the branches that fail on `type`
    itself are the wrong definitions, and what fails in the remaining one is the real mistake.
    """
    if not error.context:
        return [error]

    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    own_type = [errs for errs in branches.values() if not any(_wrong_type(e, error) for e in errs)]
    if not own_type:
        return [best_match(error.context)]
    return [leaf for errs in own_type for sub in errs for leaf in _leaves(sub)]


def _wrong_type(sub: ValidationError, parent: ValidationError) -> bool:
    """True when `sub` says the element is not of the branch's `type` at all."""
    for candidate in [sub, *_all_context(sub)]:
        path = list(candidate.absolute_path)
        if path == [*parent.absolute_path, "type"] and candidate.validator == "enum":
            return True
    return False


def _all_context(error: ValidationError) -> list[ValidationError]:
    found = []
    for sub in error.context or []:
        found.append(sub)
        found.extend(_all_context(sub))
    return found


def _path(error: ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(card)"


@lru_cache(maxsize=4)
def _validator(path: Path) -> Any:
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)
