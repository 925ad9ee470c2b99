"""The bench runs end to end with tiny counts: both servers come up, every incident is triaged
once (answered with its verdicts, or accepted and triaged in the background), its automatic
actions execute, Alex's approval clicks are answered, and the table a
reader would paste into an issue is printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_bench_on_sqlite_prints_the_table_and_writes_every_number(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--requests", "6", "--paced", "4", "--concurrency", "2",
         "--warmup", "1",
         "--clicks", "2", "--policy-iterations", "20", "--databases", "sqlite",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=55)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "| metric | sqlite | target | ok |" in done.stdout
    assert "| respond-async p50 ÷ floor p50, one at a time |" in done.stdout

    run = json.loads(out.read_text())
    sqlite = run["databases"]["sqlite"]
    assert sqlite["floor_intake"]["statuses"] == {"201": 6}
    assert sqlite["cordon_intake"]["statuses"] == {"201": 6}, "a delivery was not triaged anew"
    assert sqlite["cordon_intake"]["paced"]["statuses"] == {"201": 4}
    assert sqlite["cordon_accept"]["statuses"] == {"202": 6}, "respond-async was not honoured"
    assert sqlite["cordon_intake"]["settled"] and sqlite["cordon_accept"]["settled"]
    for part in ("arrival_to_executed", "accepted_to_executed"):
        executed = sqlite[part]
        assert set(executed["run_statuses"]) == {"succeeded"}, part
        assert executed["latency_ms"]["count"] == executed["incidents"] > 0, part
    assert sqlite["approval_clicks"]["approved"] == sqlite["approval_clicks"]["clicks"] == 2
    assert run["policy"]["latency_us"]["count"] > 0
    assert sqlite["cordon_peak_rss_mb"] > 0
