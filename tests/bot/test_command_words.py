"""How a message is read: a command with or without words that add nothing, a question, or
neither. Reading never acts."""

from __future__ import annotations

import pytest

from bot.commands import Command, Question, Unknown, parse


@pytest.mark.parametrize(("text", "command"), [
    ("pause", Command("pause")), ("pause automation", Command("pause")),
    ("Resume automation please", Command("resume")), ("/pending", Command("pending")),
    ("pending approvals", Command("pending")), ("subscribe this channel", Command("subscribe")),
    ("status 4521", Command("status", "4521")), ("status #4521", Command("status", "#4521")),
])
def test_commands_are_read_with_or_without_filler(text, command):
    assert parse(text) == command


@pytest.mark.parametrize("text", ["pause is broken", "policy for finance users",
                                  "resume the isolation of FAB-LT-0310"])
def test_a_command_word_followed_by_more_is_not_the_command(text):
    assert isinstance(parse(text), Question | Unknown)


def test_a_question_about_a_command_is_a_question():
    assert parse("pause automation?") == Question("pause automation?")
