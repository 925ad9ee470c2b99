"""`python app.py policy check FILE`: every mistake in a policy file, one line each.

`run_check` answers the exit code and the text to print: `FILE:LINE:COL: path: message` per
problem and a final line, exit 0 when the file is sound (the final line then summarises the
policy's mode and how many actions and rules it holds), 1 when it has mistakes.
"""

from __future__ import annotations

from pathlib import Path

from policy.loader import check_policy, load_policy


def run_check(path: str | Path) -> tuple[int, str]:
    """`(exit code, text)` for checking the policy file at `path`."""
    name = str(path)
    problems = check_policy(Path(path))
    if problems:
        lines = [problem.located(name) for problem in problems]
        count = len(problems)
        lines.append(f"{name}: {count} mistake{'s' if count != 1 else ''}; nothing was loaded")
        return 1, "\n".join(lines)

    policy = load_policy(path)
    return 0, (f"{name}: OK: mode {policy.mode}, {len(policy.allowed_actions)} allowed actions, "
               f"{len(policy.rules)} approval rules, {len(policy.limits)} limits")
