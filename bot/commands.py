"""What a chat message asks for: one of the bot's commands, a question, or neither.

`parse(text)` reads the text left after the @mention is removed. A command is its first word
(`help`, `subscribe`, `pending`, `status 4521`, `policy`, `pause`, `resume`), in any case, with
an optional leading slash and words that add nothing (`pause automation`, `pending approvals`).
Anything else that reads as a question (a question mark, or a question word or `show`/`explain`
first) is a `Question`; the rest is `Unknown`, which the bot answers with help rather than
silence. Parsing never acts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMAND_NAMES = frozenset({"help", "subscribe", "pending", "status", "policy", "pause", "resume"})

_QUESTION_WORDS = frozenset({
    "why", "what", "who", "whom", "whose", "when", "where", "which", "how", "is", "are", "was",
    "were", "did", "does", "do", "can", "could", "should", "would", "will", "show", "explain",
    "tell", "list", "describe",
})


_FILLER = frozenset({
    "automation", "approvals", "approval", "incidents", "incident", "cards", "please", "now",
    "here", "the", "all", "list", "this", "chat", "channel", "again",
})


@dataclass(frozen=True)
class Command:
    name: str
    argument: str = ""


@dataclass(frozen=True)
class Question:
    text: str


@dataclass(frozen=True)
class Unknown:
    text: str


def parse(text: str) -> Command | Question | Unknown:
    cleaned = " ".join((text or "").split())
    words = cleaned.split(" ", 1)
    first = words[0].lstrip("/").lower().rstrip(".!:,")
    rest = words[1].strip() if len(words) > 1 else ""

    takes_argument = first == "status"
    if first in COMMAND_NAMES and not cleaned.endswith("?") and (
            takes_argument or not rest or _only_filler(rest)):
        return Command(first, rest if takes_argument else "")
    if _is_question(cleaned, first):
        return Question(cleaned)
    return Unknown(cleaned)


def _only_filler(rest: str) -> bool:
    """`pause automation`, `pending approvals please`: words that add nothing to a command."""
    return all(word.lower().strip(".!,") in _FILLER for word in rest.split())


def incident_number(text: str) -> int | None:
    """The incident number a text names (`4521`, `#4521`, `incident 4521`), if any."""
    found = re.search(r"(?<![\w.:/-])#?(\d{1,9})(?![\w.:/-])", text or "")
    return int(found.group(1)) if found else None


def _is_question(text: str, first: str) -> bool:
    return bool(text) and (text.endswith("?") or first in _QUESTION_WORDS)
