"""The servers under measurement, each its own process: Cordon (`python app.py`) and the floor.

`ServedProcess.start(...)` launches one on a free port with its output in a log file and waits
until `GET /readyz` answers; `peak_rss_mb()` is the kernel's high-water mark of its resident
memory (VmHWM), which covers every moment of the run without sampling; `stop()` terminates it.

Limitation: VmHWM is read from /proc, so peak memory is reported on Linux only (None elsewhere).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
INTAKE_TOKEN = "bench-intake-token"  # noqa: S105 - a local bench process's token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServedProcess:
    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int,
                 log: Path) -> None:
        self.name = name
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log_file,
                                     stderr=subprocess.STDOUT)

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as session:
            while asyncio.get_running_loop().time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                       f"{self.tail()}")
                try:
                    async with session.get(f"{self.base}/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-chars:]

    def peak_rss_mb(self) -> float | None:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log_file.close()


def start_floor(database_url: str, workdir: Path) -> ServedProcess:
    port = free_port()
    return ServedProcess(
        "floor", [sys.executable, "-m", "bench.floor", "--port", str(port),
                  "--database-url", database_url],
        {**os.environ, "PYTHONUNBUFFERED": "1"}, port, workdir / "floor.log")


def start_cordon(database_url: str, policy: Path, workdir: Path) -> ServedProcess:
    """Cordon with its embedded sandbox and the bot (no app id: Bot Framework auth is off)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CORDON_", "AZURE_", "Microsoft", "OPENAI_"))}
    env.update({
        "PORT": str(port), "HOST": "127.0.0.1", "DATABASE_URL": database_url,
        "CORDON_POLICY": str(policy), "CORDON_INTAKE_TOKEN": INTAKE_TOKEN,
        "CORDON_DATA_DIR": str(workdir / "cordon-data"),
        "PYTHONUNBUFFERED": "1",
    })
    return ServedProcess("cordon", [sys.executable, "app.py"], env, port,
                         workdir / "cordon.log")
