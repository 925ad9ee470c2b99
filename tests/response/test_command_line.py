"""The command line as a security engineer uses it: `triage FILE` on every shared scenario,
`policy check FILE`, and `audit export`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.response.conftest import POLICY, SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = yaml.safe_load((SCENARIOS / "expected.yaml").read_text())


async def cli(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CORDON_", "AZURE_"))}
    base.pop("DATABASE_URL", None)
    base.update({"CORDON_DATA_DIR": str(tmp_path / "data"), **env})
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "app.py", *args], cwd=ROOT, env=base,
        capture_output=True, text=True, timeout=120)


def _matches(action: dict, want: dict) -> bool:
    return action["action"] == want["action"] and (
        "target" not in want or action["target"].lower() == str(want["target"]).lower())


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_triage_command_gives_the_expected_outcome(tmp_path, name):
    done = await cli("triage", str(SCENARIOS / f"{name}.json"), "--policy", str(POLICY),
                     tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    expected = EXPECTED[name]

    for want in expected.get("propose", []):
        found = [a for a in result["actions"] if _matches(a, want)]
        assert found, (name, want, result["actions"])
        if "verdict" in want:
            assert found[0]["verdict"] == want["verdict"], (name, found[0])
        if found[0]["verdict"] == "auto":
            assert found[0]["status"] == "succeeded", found[0]
    for never in expected.get("never", []):
        assert not any(_matches(a, never) and a["status"] in (
            "succeeded", "executing", "pending_approval") for a in result["actions"])
    if "incident_outcome" in expected:
        assert result["outcome"] == expected["incident_outcome"]


async def test_triage_command_names_a_bad_file(tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text('{"object": 42}')
    done = await cli("triage", str(junk), "--policy", str(POLICY), tmp_path=tmp_path)
    assert done.returncode == 2
    assert "invalid_incident" in done.stderr

    done = await cli("triage", str(tmp_path / "missing.json"), tmp_path=tmp_path)
    assert done.returncode == 2
    assert "cannot read" in done.stderr


async def test_policy_check_names_each_mistake_with_its_line(tmp_path):
    broken = tmp_path / "policy.yaml"
    broken.write_text(
        "autonomous_response_policy:\n"
        "  allowed_actions: [Disable-AzureADUsr, isolate_device]\n"
        "  requires_approval:\n"
        "    - action: isolate_device\n"
        "      condition: 'device.machineTags.exists(t, t == \"Server\"'\n"
        "  mode: automatic\n")
    done = await cli("policy", "check", str(broken), tmp_path=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith(f"{broken}:2:") and "Disable-AzureADUser" in line
               for line in lines), done.stdout
    assert any(line.startswith(f"{broken}:5:") for line in lines), done.stdout
    assert any(line.startswith(f"{broken}:6:") and "mode" in line for line in lines), done.stdout

    sound = await cli("policy", "check", str(POLICY), tmp_path=tmp_path)
    assert sound.returncode == 0, sound.stdout
    shipped = await cli("policy", "check", str(ROOT / "policy" / "default.yaml"),
                        tmp_path=tmp_path)
    assert shipped.returncode == 0 and "mode observe" in shipped.stdout, shipped.stdout


async def test_audit_export_writes_json_lines_since_a_time(tmp_path):
    db = f"sqlite+aiosqlite:///{tmp_path / 'cordon.db'}"
    done = await cli("triage", str(SCENARIOS / "password-spray-ip.json"), "--policy",
                     str(POLICY), tmp_path=tmp_path, DATABASE_URL=db)
    assert done.returncode == 0, done.stderr[-2000:]

    out = tmp_path / "audit.jsonl"
    exported = await cli("audit", "export", "--since", "2020-01-01", "--out", str(out),
                         tmp_path=tmp_path, DATABASE_URL=db)
    assert exported.returncode == 0, exported.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "incident received" and "action succeeded" in kinds
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))

    later = await cli("audit", "export", "--since", "2999-01-01", tmp_path=tmp_path,
                      DATABASE_URL=db)
    assert later.returncode == 0 and later.stdout == ""
    bad = await cli("audit", "export", "--since", "yesterday", tmp_path=tmp_path,
                    DATABASE_URL=db)
    assert bad.returncode == 2 and "ISO" in bad.stderr


async def test_a_policy_with_mistakes_stops_cordon_with_them_listed(tmp_path):
    broken = tmp_path / "policy.yaml"
    broken.write_text("autonomous_response_policy:\n  allowed_actions: [Disable-AzureADUsr]\n")
    done = await cli("triage", str(SCENARIOS / "password-spray-ip.json"), "--policy",
                     str(broken), tmp_path=tmp_path)
    assert done.returncode == 2
    assert f"{broken}:2:" in done.stderr and "Disable-AzureADUser" in done.stderr

    served = await cli(tmp_path=tmp_path, CORDON_POLICY=str(broken), PORT="0")
    assert served.returncode == 2
    assert "did not start" in served.stderr and f"{broken}:2:" in served.stderr
