"""The local Teams client of the end-to-end tests: Agents Playground in headless Chromium.

`Playground.start(bot_url)` runs `node_modules/.bin/agentsplayground` (npm
`@microsoft/m365agentsplayground` 0.2.28, installed by `scripts/install-e2e`) against a bot that
serves Bot Framework activities with an empty app id, and stops it again. `PlaygroundPage` wraps
a Playwright page on its web UI and speaks in the words a Teams user would: act as a person, open
a chat, send a message, wait for a text, click a card's button. Both are synchronous (Playwright's
sync API); the bot runs in another process. Typical use (fixtures in `conftest.py`):

    teams.open_chat("channel", "Incidents").as_user("Megan Bowen").send("subscribe")
    teams.wait_for_text("subscribed")
    answer = teams.click_card_button("Approve", within_card_containing="INC 42")
    assert answer.kind == "application/vnd.microsoft.card.adaptive" and answer.seconds < 1
    teams.card("approved by Megan Bowen")

Promises: bounded waits everywhere (seconds, raising `PlaygroundError` or Playwright's
`TimeoutError`); the Playground process is gone when `stop()` returns; each acting person is one
of the Playground's people, who are Fabrikam's (`.m365agentsplayground.yml` at the repo root).
Refuses: personal chat as anyone but the instance's current user (the Playground has only that
one 1:1 chat; start another instance with `current_user=`).

What running 0.2.28 here showed (REFERENCE.md's facts checked; the code wins):

Process and ports
- `agentsplayground -e <bot>/api/messages -c msteams -p PORT --disable-telemetry`. One port serves
  the web UI (`/`), the mock connector (`/_connector`, the `serviceUrl` of every activity the bot
  gets: `http://localhost:PORT/_connector`), the UI's API (`/_conversation/v1/...`,
  `/_internal/v1/config`) and `/_debug/ping` ("pong"). `--service-url` overrides the connector
  URL. Default port 56150, or env `TEAMSAPPTESTER_PORT`. If the port is taken it silently
  listens on a random one; stdout says `Listening on N` (~1 s after spawn): the harness reads it
  and refuses a port it did not ask for.
- Environment: `TEAMSAPPTESTER_BROWSER=none` (else it tries to open a browser),
  `M365_AGENTS_PLAYGROUND_LOGFILE` (default `./devTools/m365agentsplayground.log` under the
  working directory), `M365_AGENTS_PLAYGROUND_CONFIG_PATH` (default `./.m365agentsplayground.yml`
  of the working directory, else the built-in people), `BOT_ENDPOINT`, `DEFAULT_CHANNEL_ID`.
  SIGTERM ends it at once. It runs offline (its page tries a few external fonts: harmless).
- Nothing reaches the bot until a page loads: loading the UI (`GET /_internal/v1/config`) waits
  for the bot's port and then sends `installationUpdate` + `conversationUpdate` for the personal
  chat, again on every page load (a page is ready ~2 s after `goto`). The first visit to the
  group chat or a channel sends the same pair for that conversation. Their `from` carries only
  the aadObjectId (name null).
- `conversation.tenantId` is null: the tenant is in `channelData.tenant.id` (`tenantId` of the
  config); channel activities also carry `channelData.team` and `channelData.channel`.
- Conversation history lives in the Playground process (every page sees it, a restart clears
  it). Conversation ids come from the config: with the fixed ids of the repo config, a reference
  a bot stored keeps working across Playground restarts on the same port.

People ("user switching")
- There is no user picker in the UI; the header shows the config's `currentUser`. But the UI
  names the sender in every request (`from: {id}` in `POST /_conversation/v1/conversations/{id}/
  messages` and `POST /_conversation/v1/invoke`) and the server builds the activity from that
  person (`from.id`, `from.name`, `from.aadObjectId` of the config; the mock connector's member
  lookups, e.g. `TeamsInfo.get_member`, add UPN and email). `as_user(name)` rewrites `from.id`
  with a Playwright route, so one page acts as Alex, Megan or Adele in the group chat and in
  channels (all people are members); the bot sees that person, the UI still draws the sent bubble as
  the current user's. The personal chat only has the current user: another sender gets
  `400 UserNotFound` (the harness raises before sending). For a 1:1 as Megan, start a Playground
  with `current_user="Megan Bowen"` (the harness writes a config copy with her as current user
  and a personal chat id of her own).
- The schema wants exactly five `users` plus `currentUser`, and at most one channel besides
  General (whose conversation id is the team id).

Conversations and messages
- Left tree: treeitems "Personal Chat", the group chat's name, and "<team> - <channel>".
- Composer: `[role=textbox][data-lexical-editor=true]`; Enter sends (so does the "Send Message"
  button). In a channel the first box is "Start a new post"; each post (`[role=group]`) has its
  own reply box (`reply(text, in_post_containing=...)`). A user's new post reaches the bot with
  conversation id `<channel id>;messageid=<post id>`, so do replies in that post's thread, and
  so does whatever the bot sends to that reference; a proactive send to the bare channel id
  makes a new post (replies to it carry its id). Newest posts are on top.
- In the group chat and channels the bot only receives messages that @mention it, like Teams:
  type `@` and a prefix, then click the `menuitem` with the bot's name (Enter would send the
  half-typed text). The text arrives as `<at>Bot</at> rest` with a mention entity;
  `TurnContext.remove_recipient_mention` strips it.
- A chat message is the `div` whose direct child is `[aria-label="Message header"]` (author in
  `[aria-label="Message author"]`); a channel post is a `[role=group]` holding a card header.
  Text also appears in the chat list preview and the log panel, so waits are scoped to messages.
  Bot text arrives over a websocket (`/_ws_conversation/...`) within ~0.1 s of the bot's send;
  a card message's preview in the tree reads "Send a card".

Adaptive Cards and invokes
- Cards render with the Adaptive Cards JS renderer (root `.ac-adaptiveCard`, buttons
  `role=button` named by their title). Action.Execute posts `adaptiveCard/action` with
  `replyToId` = the card's activity id; the harness returns the Playground's answer and time.
- Answer `application/vnd.microsoft.card.adaptive`: the card is replaced for this viewer and a
  grey note "Your response was sent to the app" appears under it (the `div` holding the button
  "Dismiss Invoke Message"; only the grey kind is also labelled "Display Invoked Message").
- Answer `application/vnd.microsoft.activity.message` with a string: the string in that note.
  (botbuilder 4.17.1 types `AdaptiveCardInvokeResponse.value` as a dict, so a string value fails
  to serialize (HTTP 500) unless the model's `_attribute_map` types `value` as `object`.)
- Answer `application/vnd.microsoft.error`: `value.message` in the same place, red, with a
  warning icon; the card stays as it was.
- The bot failing (HTTP 500) becomes `502 {"code": "UserBotError", ...}` from the Playground
  and shows nothing at all in the UI: assert on the returned `CardActionAnswer`.
- No invoke timeout: an answer after 7 s still replaces the card, silently (Teams shows an error
  after about 5 s: assert `CardActionAnswer.seconds` instead).
- `update_activity` (PUT `/_connector/v3/conversations/{id}/activities/{activityId}`) redraws that
  message in place for everyone, also while its invoke is pending.
- `refresh` / `userIds` (per-user views) are not supported: no automatic invoke happens and a
  note "User specific view is not supported yet in Microsoft 365 Agents playground" is drawn
  under the card. Everyone sees the shared card.
- Proactive `continue_conversation` to a stored reference shows up like any bot message.

Limitation: one Playground process holds one conversation history; tests sharing an instance
see each other's messages, so they wait for texts unique to them (or use `count=`).
Limitation: the browser-side user is fixed per instance: messages sent `as_user` still render on
the right-hand side with the current user's bubble.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from playwright.sync_api import Browser, Locator, Page, Playwright, Request, Route

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND_BIN = REPO_ROOT / "node_modules" / ".bin" / "agentsplayground"
REPO_CONFIG = REPO_ROOT / ".m365agentsplayground.yml"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
COMPOSER = "[role=textbox][data-lexical-editor=true]"
CHAT_MESSAGE = 'div:has(> [aria-label="Message header"])'
CHANNEL_POST = '[role=group]:has([id^="fui-CardHeader"])'
CARD = ".ac-adaptiveCard"
INVOKE_NOTE = 'div:has(> button[aria-label="Dismiss Invoke Message"])'

ChatKind = Literal["personal", "group", "channel"]


class PlaygroundError(RuntimeError):
    """The Playground did not do what the test asked, with what it did instead."""


def free_port() -> int:
    """A TCP port nobody listens on right now (race-prone only against other processes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float) -> None:
    """Wait until `url` answers with any HTTP status, or raise PlaygroundError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - local test URL
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError) as error:
            if time.monotonic() > deadline:
                raise PlaygroundError(f"{url} did not answer within {timeout} s: {error}") from None
        time.sleep(0.1)


def config_for(current_user: str | None, source: Path = REPO_CONFIG) -> dict:
    """The Playground config of `source` with `current_user` (a display name) as current user.

    The previous current user joins `users` in that person's place; the personal chat gets an id
    of its own, as every person's 1:1 with a bot has in Teams.
    """
    config = yaml.safe_load(source.read_text())
    if current_user is None or current_user == config["currentUser"]["name"]:
        return config

    others = config["users"]
    chosen = next((user for user in others if user["name"] == current_user), None)
    if chosen is None:
        names = [config["currentUser"]["name"], *(user["name"] for user in others)]
        raise PlaygroundError(f"no person {current_user!r} in {source.name}; people: {names}")

    config["users"] = [config["currentUser"] if user is chosen else user for user in others]
    config["currentUser"] = chosen
    config["personalChat"] = {"id": f"{config['personalChat']['id']}-as-{chosen['id']}"}
    return config


@dataclass
class Playground:
    """A running Agents Playground process connected to one bot endpoint."""

    bot_url: str
    port: int
    config: dict
    process: subprocess.Popen
    work_dir: Path
    output: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        bot_url: str,
        *,
        port: int | None = None,
        current_user: str | None = None,
        config_source: Path = REPO_CONFIG,
        timeout: float = 20.0,
    ) -> Playground:
        """Spawn the Playground for `bot_url` (…/api/messages) and wait until it serves.

        `port` defaults to a free one; `current_user` (e.g. "Megan Bowen") to the config's.
        The config copy, log file and working directory go to a temporary directory.
        """
        if not PLAYGROUND_BIN.exists():
            raise PlaygroundError(f"{PLAYGROUND_BIN} is missing: run scripts/install-e2e")

        port = port or free_port()
        config = config_for(current_user, config_source)
        work_dir = Path(tempfile.mkdtemp(prefix="playground-"))
        config_path = work_dir / ".m365agentsplayground.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = {
            **os.environ,
            "TEAMSAPPTESTER_BROWSER": "none",
            "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(config_path),
            "M365_AGENTS_PLAYGROUND_LOGFILE": str(work_dir / "playground.log"),
        }
        command = [
            str(PLAYGROUND_BIN),
            "--app-endpoint",
            bot_url,
            "--channel-id",
            "msteams",
            "--port",
            str(port),
            "--disable-telemetry",
        ]
        process = subprocess.Popen(  # noqa: S603 - fixed local binary
            command,
            cwd=work_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        playground = cls(bot_url, port, config, process, work_dir)
        try:
            playground._wait_until_listening(timeout)
        except BaseException:
            playground.stop()
            raise
        return playground

    def _wait_until_listening(self, timeout: float) -> None:
        listening = threading.Event()
        actual: list[int] = []

        def read_output() -> None:
            for line in self.process.stdout:
                self.output.append(line.rstrip())
                found = re.match(r"Listening on (\d+)", line)
                if found:
                    actual.append(int(found.group(1)))
                    listening.set()
            listening.set()

        threading.Thread(target=read_output, daemon=True, name="playground-output").start()
        if not listening.wait(timeout) or not actual:
            raise PlaygroundError(
                f"Playground did not start within {timeout} s; output: {self.output[-20:]}"
            )
        if actual[0] != self.port:
            raise PlaygroundError(
                f"port {self.port} is taken: the Playground fell back to {actual[0]}"
            )
        wait_for_http(f"{self.url}/_debug/ping", timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connector_url(self) -> str:
        """The serviceUrl the bot sees in every activity, where its replies go."""
        return f"http://localhost:{self.port}/_connector"

    @property
    def bot_name(self) -> str:
        return self.config["bot"]["name"]

    @property
    def current_user(self) -> dict:
        return self.config["currentUser"]

    @property
    def people(self) -> dict[str, dict]:
        """Every person of this instance by display name (id, aadObjectId, UPN...)."""
        everyone = [self.config["currentUser"], *self.config["users"]]
        return {person["name"]: person for person in everyone}

    def person(self, name: str) -> dict:
        people = self.people
        if name not in people:
            raise PlaygroundError(f"no person {name!r} in the Playground; people: {list(people)}")
        return people[name]

    def chat_name(self, kind: ChatKind, channel: str = "General") -> str:
        """The name of the treeitem that opens this conversation in the UI."""
        if kind == "personal":
            return "Personal Chat"
        if kind == "group":
            return self.config["groupChat"]["name"]
        return f"{self.config['team']['name']} - {channel}"

    def conversation_id(self, kind: ChatKind, channel: str = "General") -> str:
        """The Bot Framework conversation id of a chat or channel (General = the team id)."""
        if kind == "personal":
            return self.config["personalChat"]["id"]
        if kind == "group":
            return self.config["groupChat"]["id"]
        if channel == "General":
            return self.config["team"]["id"]
        found = [c["id"] for c in self.config["team"]["channels"] if c["name"] == channel]
        if not found:
            raise PlaygroundError(f"no channel {channel!r} in team {self.config['team']['name']}")
        return found[0]

    def stop(self) -> None:
        """Terminate the process group and wait for it; safe to call twice."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> Playground:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless; Playwright's own browser download is not used."""
    executable = shutil.which("chromium")
    if executable is None:
        raise PlaygroundError("chromium is not installed: run scripts/install-e2e")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


@dataclass(frozen=True)
class CardActionAnswer:
    """What the Playground's `/v1/invoke` answered for one Action.Execute click."""

    status: int
    body: dict
    seconds: float

    @property
    def kind(self) -> str | None:
        """`application/vnd.microsoft.card.adaptive`, `...activity.message`, `...error`."""
        return self.body.get("type")


class PlaygroundPage:
    """One browser page on a Playground, acting as one person in one conversation."""

    def __init__(self, page: Page, playground: Playground) -> None:
        self.page = page
        self.playground = playground
        self.kind: ChatKind = "personal"
        self.acting_as: str = playground.current_user["name"]

    @classmethod
    def open(cls, browser: Browser, playground: Playground, timeout: float = 20) -> PlaygroundPage:
        """A fresh browser context on the UI, in the personal chat, log panel hidden."""
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(playground.url, timeout=timeout * 1000)
        page.locator(COMPOSER).first.wait_for(timeout=timeout * 1000)
        hide = page.get_by_role("button", name="Hide log panel")
        if hide.is_visible():
            hide.click()
        return cls(page, playground).open_chat("personal")

    def close(self) -> None:
        self.page.context.close()

    def as_user(self, name: str) -> PlaygroundPage:
        """Act as `name` (e.g. "Megan Bowen") in what this page sends from now on."""
        sender = self.playground.person(name)["id"]
        self.page.unroute("**/_conversation/v1/**")
        self.acting_as = name
        if name == self.playground.current_user["name"]:
            return self

        def send_as(route: Route, request: Request) -> None:
            body = request.post_data_json if request.method == "POST" else None
            if not isinstance(body, dict) or "from" not in body:
                route.continue_()
                return
            route.continue_(post_data=json.dumps({**body, "from": {"id": sender}}))

        self.page.route("**/_conversation/v1/**", send_as)
        return self

    def open_chat(self, kind: ChatKind = "personal", channel: str = "General") -> PlaygroundPage:
        """Open the personal chat, the group chat, or a channel of the team."""
        self.page.get_by_role("treeitem", name=self.playground.chat_name(kind, channel)).click()
        self.kind = kind
        self.page.locator(COMPOSER).first.wait_for()
        return self

    @property
    def messages(self) -> Locator:
        """Messages of the open conversation: chat messages, or channel posts with replies."""
        return self.page.locator(CHANNEL_POST if self.kind == "channel" else CHAT_MESSAGE)

    def send(self, text: str, *, mention_bot: bool | None = None) -> None:
        """Send `text` (a new post in a channel); @mention the bot outside the personal chat.

        Waits for the Playground to accept it and raises PlaygroundError if it refuses.
        """
        self._refuse_personal_chat_as_other_user()
        mention = self.kind != "personal" if mention_bot is None else mention_bot
        composer = self.page.locator(COMPOSER).first
        composer.click()
        if mention:
            self._mention_bot(composer)
        with self.page.expect_response(_is_message_post) as posted:
            self.page.keyboard.insert_text(text)
            composer.press("Enter")
        response = posted.value
        if response.status != 200:
            refusal = f"{response.status} {response.text()}"
            raise PlaygroundError(f"Playground refused {text!r}: {refusal}")

    def reply(self, text: str, *, in_post_containing: str | re.Pattern) -> None:
        """In a channel, reply with `text` (mentioning the bot) under the newest matching post."""
        if self.kind != "channel":
            raise PlaygroundError("replies to a post exist in channels only: open_chat('channel')")
        post = self.wait_for_text(in_post_containing)
        composer = post.locator(COMPOSER)
        composer.click()
        self._mention_bot(composer)
        with self.page.expect_response(_is_message_post) as posted:
            self.page.keyboard.insert_text(text)
            composer.press("Enter")
        if posted.value.status != 200:
            refusal = f"{posted.value.status} {posted.value.text()}"
            raise PlaygroundError(f"Playground refused reply {text!r}: {refusal}")

    def _mention_bot(self, composer: Locator) -> None:
        name = self.playground.bot_name
        composer.press_sequentially(f"@{name[:3]}")
        self.page.get_by_role("menuitem", name=name).first.click()
        self.page.keyboard.insert_text(" ")

    def _refuse_personal_chat_as_other_user(self) -> None:
        current = self.playground.current_user["name"]
        if self.kind != "personal" or self.acting_as == current:
            return
        raise PlaygroundError(
            f"the personal chat of this Playground is {current}'s; start a Playground with "
            f"current_user={self.acting_as!r} to chat 1:1 as them"
        )

    def wait_for_text(self, text: str | re.Pattern, timeout: float = 10, count: int = 1) -> Locator:
        """Wait until `count` messages of the open conversation contain `text`; the last one.

        A string matches case-insensitively as a substring, like Playwright's `has_text`.
        """
        matching = self.messages.filter(has_text=text)
        _wait_for_count(matching, count, timeout, f"{count} message(s) with {text!r}")
        return matching.first if self.kind == "channel" else matching.last

    def card(self, containing: str | re.Pattern, timeout: float = 10) -> Locator:
        """The newest rendered Adaptive Card whose text contains `containing`."""
        cards = self.page.locator(CARD).filter(has_text=containing)
        _wait_for_count(cards, 1, timeout, f"a card with {containing!r}")
        return cards.first if self.kind == "channel" else cards.last

    def click_card_button(
        self,
        name: str,
        *,
        within_card_containing: str | re.Pattern,
        timeout: float = 15,
    ) -> CardActionAnswer:
        """Click the Action.Execute button `name` of a card; return the invoke's answer.

        Waits for the Playground's answer to the click (not for the card to change: follow
        with `wait_for_text`). A bot failure shows nothing in the UI, only in the answer.
        """
        self._refuse_personal_chat_as_other_user()
        button = self.card(within_card_containing, timeout).get_by_role(
            "button", name=name, exact=True
        )
        started = time.monotonic()
        with self.page.expect_response(_is_invoke, timeout=timeout * 1000) as answered:
            button.click()
        response = answered.value
        seconds = time.monotonic() - started
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text()}
        return CardActionAnswer(response.status, body, seconds)

    def invoke_note(self, within_card_containing: str | re.Pattern, timeout: float = 10) -> str:
        """The note drawn under a card after a click: a toast, an error message or
        "Your response was sent to the app"."""
        holder = self.messages.filter(
            has=self.page.locator(CARD).filter(has_text=within_card_containing)
        )
        note = holder.locator(INVOKE_NOTE)
        _wait_for_count(note, 1, timeout, f"an invoke note under {within_card_containing!r}")
        return note.last.inner_text().strip()

    def screenshot(self, path: str | Path) -> Path:
        """A PNG of the whole page, for a failing test or a human to look at."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)
        return target


def _is_message_post(response) -> bool:
    request = response.request
    return (
        request.method == "POST"
        and re.search(r"/_conversation/v1/conversations/.+/messages$", request.url) is not None
    )


def _is_invoke(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/_conversation/v1/invoke")


def _wait_for_count(locator: Locator, count: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while locator.count() < count:
        if time.monotonic() > deadline:
            raise PlaygroundError(f"no {what} within {timeout} s (found {locator.count()})")
        locator.page.wait_for_timeout(50)
