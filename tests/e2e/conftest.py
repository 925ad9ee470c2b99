"""Fixtures for the end-to-end tests: a bot process, a Playground for it, a browser page on it.

- `e2e_tools` (session): Debian's `chromium` and `node_modules/.bin/agentsplayground` must exist
  (`scripts/install-e2e`). Without them the e2e tests are skipped, unless env `CI` is set (and not
  "0"/"false"): then they fail.
- `browser` (module): headless Chromium through Playwright's sync API. Module-scoped on purpose:
  while sync Playwright is alive it marks its own event loop as running in the main thread, which
  would break pytest-asyncio tests of other modules; closing it clears that.
- `bot_url` (module): the throwaway echo bot (`tests.e2e.echo_bot`) in a subprocess on a free
  port, its output in `build/e2e/echo-bot.log`. A test module of the real bot overrides this
  fixture with its own `bot_url`.
- `playground` (module): `Playground.start(bot_url)` with the repository's Fabrikam config;
  Alex Wilber is the current user.
- `teams` (function): a `PlaygroundPage` in a fresh browser context, on the personal chat. On a
  failing test it leaves a screenshot in `build/e2e/<test name>.png`.

E2e tests are plain (sync) functions marked `@pytest.mark.e2e`: no `async def` tests in modules
using these fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.playground import (
    PLAYGROUND_BIN,
    REPO_ROOT,
    Playground,
    PlaygroundPage,
    free_port,
    launch_chromium,
    wait_for_http,
)

SCREENSHOTS = REPO_ROOT / "build" / "e2e"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def e2e_tools() -> None:
    missing = []
    if shutil.which("chromium") is None:
        missing.append("chromium (apt-get install chromium)")
    if not PLAYGROUND_BIN.exists():
        missing.append(f"{PLAYGROUND_BIN.relative_to(REPO_ROOT)} (npm ci)")
    if not missing:
        return
    reason = f"e2e tools missing: {', '.join(missing)}; run scripts/install-e2e"
    if _in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(e2e_tools: None) -> Iterator[Browser]:
    playwright = sync_playwright().start()
    try:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def bot_url(e2e_tools: None) -> Iterator[str]:
    port = free_port()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log = (SCREENSHOTS / "echo-bot.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.echo_bot", str(port)],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=15)
        yield f"http://127.0.0.1:{port}/api/messages"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@pytest.fixture(scope="module")
def playground(bot_url: str) -> Iterator[Playground]:
    with Playground.start(bot_url) as running:
        yield running


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def teams(
    browser: Browser, playground: Playground, request: pytest.FixtureRequest
) -> Iterator[PlaygroundPage]:
    page = PlaygroundPage.open(browser, playground)
    try:
        yield page
        if request.node.stash.get(_FAILED, False):
            page.screenshot(SCREENSHOTS / f"{request.node.name}.png")
    finally:
        page.close()
