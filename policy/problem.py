"""A mistake in a policy file, located by line, column and key path, and the error that carries
them all.

`check_policy` returns every `Problem` it finds; `load_policy` raises one `PolicyError` holding
all of them, so an author fixes the file in one pass instead of one error per start.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake. `line` and `column` count from 1; `path` reads like
    `requires_approval[2].condition`, relative to `autonomous_response_policy`."""

    line: int
    column: int
    path: str
    message: str

    def located(self, source: str) -> str:
        """`FILE:LINE:COL: path: message`, the shape editors and CI annotations understand."""
        where = f"{self.path}: " if self.path else ""
        return f"{source}:{self.line}:{self.column}: {where}{self.message}"


class PolicyError(ValueError):
    """The policy file has mistakes; `problems` lists every one of them."""

    def __init__(self, problems: list[Problem], source: str = "policy") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{self.source}: {count} mistake{'s' if count != 1 else ''} in the policy"
        lines = [f"{self.source}:{p.line}: {p.path + ': ' if p.path else ''}{p.message}"
                 for p in self.problems]
        return "\n".join([head, *lines])
