"""The policy Cordon runs under load: the shared scenario policy with its breakers raised.

Hundreds of incidents in a minute would trip the shared policy's limits (ten `disable_user`
a day, a hundred actions a day) and its cool-off (thirty actions in ten minutes), after which
every `auto` verdict becomes `approval` and nothing would be left to execute. The bench raises
those numbers out of reach; the windows are still counted on every triage, as in production.
Everything else is the shared file as it is.
"""

from __future__ import annotations

import io
from pathlib import Path

from ruamel.yaml import YAML

from bench.incidents import SHARED_POLICY

OUT_OF_REACH = 1_000_000


def write_bench_policy(folder: Path, source: Path = SHARED_POLICY) -> Path:
    yaml = YAML()
    document = yaml.load(source.read_text())
    policy = document["autonomous_response_policy"]
    for limit in policy.get("limits") or []:
        limit["max"] = OUT_OF_REACH
    if policy.get("cool_off"):
        policy["cool_off"]["after"] = OUT_OF_REACH
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    path = folder / "bench-policy.yaml"
    path.write_text(buffer.getvalue())
    return path
