"""Cordon's benchmark: `python -m bench` measures what the performance issue asks and prints a
table to paste into it.

For each database kind (SQLite file, PostgreSQL) it starts, as separate processes, a bare
aiohttp handler (`bench.floor`, the floor: parse the payload, insert one row) and a whole Cordon
(`python app.py`, its sandbox embedded, the bot on with no app id), and drives both with the
same client: unique incidents from the shared scenarios, one at a time and then at a fixed
concurrency. It reports

- intake throughput and latency (p50/p99), Cordon beside the floor, for both ways Cordon can
  answer: with the verdicts (201), and with `Prefer: respond-async` (202 once the incident is
  stored, the triage in the background);
- arrival-to-executed: from an incident's POST until its last `auto` action succeeded in the
  sandbox (p50/p99), read from the runs' own timestamps, so no polling loads the server;
- the answer time of an approval click (`adaptiveCard/action`, verb `approve`) on
  finance-impossible-travel incidents, whose `disable_user` needs approval;
- Cordon's peak resident memory (the kernel's high-water mark, VmHWM);
- once, in-process: `Policy.decide` per proposed action on contexts built from real sandbox
  enrichment of every scenario (p50/p99 in µs).

The load uses the shared scenario policy with its circuit breakers raised (limits and cool-off),
since hundreds of identical incidents would otherwise trip them and turn `auto` into
`approval`; everything else in the policy is as shipped, and the breakers are still counted.

Limitation: client, floor and Cordon share the machine's cores, so absolute numbers depend on
it; the ratio to the floor is what carries from one machine to another.
"""
