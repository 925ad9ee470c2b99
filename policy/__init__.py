"""Cordon's policy: the file that says what may happen without a human, and its verdicts.

The package judges plain contexts and calls nothing: no API, no database, no other part of
Cordon. Its public face:

- `load_policy(path)`, `load_policy_text(text, name)` → `Policy`, or `PolicyError` listing
  every mistake; `check_policy(path or text)` → `[Problem]`; `run_check(path)` for the CLI;
- `Policy.decide(context, usage)` → `Decision` (verdict, reasons, rules, approvers_required,
  escalate_incident); `Policy.usage_windows()`, `Policy.cool_off_tripped(usage)` and `Usage`
  for the circuit breakers the caller counts;
- `resolve_action(name)` → `ActionSpec` from the catalog of actions and their aliases,
  `catalog_ids()` the canonical ids a reasoner may propose;
- `summary(policy)` → a few lines saying what the policy allows.
"""

from policy.breaker import Usage, UsageWindow
from policy.catalog import CATALOG, ActionSpec, catalog_ids, resolve_action, suggest_action
from policy.check import run_check
from policy.loader import check_policy, load_policy, load_policy_text
from policy.model import Policy
from policy.problem import PolicyError, Problem
from policy.summary import summary
from policy.verdict import Decision

__all__ = [
    "CATALOG", "ActionSpec", "Decision", "Policy", "PolicyError", "Problem", "Usage",
    "UsageWindow", "catalog_ids", "check_policy", "load_policy", "load_policy_text",
    "resolve_action", "run_check", "suggest_action", "summary",
]
