"""A scripted OpenAI-compatible chat server on 127.0.0.1, standing in for a model.

Each POST to `/v1/chat/completions` is recorded and answered with the next scripted reply: a
text answer, a (non-streaming) tool call, an HTTP error, or a hang that lasts until the server
stops. Tests read `requests` to see what the reasoner sent, including tool results.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    hang: bool = False


def text(content: str | dict[str, Any]) -> Reply:
    return Reply(content=content if isinstance(content, str) else json.dumps(content))


def tool_call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> Reply:
    return Reply(tool_calls=[{"id": call_id, "type": "function",
                              "function": {"name": name, "arguments": json.dumps(arguments)}}])


def failure(status: int) -> Reply:
    return Reply(status=status)


def hang() -> Reply:
    return Reply(hang=True)


class ScriptedChat:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def start(self) -> ScriptedChat:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if not self.replies:
            return web.json_response({"error": {"message": "no scripted reply left"}}, status=500)
        reply = self.replies.pop(0)
        if reply.hang:
            await self._released.wait()
        if reply.status != 200:
            return web.json_response({"error": {"message": "scripted failure",
                                                "type": "server_error"}}, status=reply.status)

        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        return web.json_response({
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 0,
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        })

    def tool_messages(self, request_index: int) -> list[dict[str, Any]]:
        return [m for m in self.requests[request_index]["messages"] if m.get("role") == "tool"]

    def offered_tools(self, request_index: int) -> list[str]:
        return [t["function"]["name"] for t in self.requests[request_index].get("tools") or []]


DANA = "dana.rossi@fabrikam.example"


def dana_answer(*actions: tuple[str, str], confidence: float = 0.93) -> dict:
    """A model's answer about Dana's impossible travel, proposing `actions` (action, target)."""
    return {
        "actions": [{"action": action, "target": target,
                     "rationale": f"{target} is used by an attacker [E1][E2]",
                     "evidence": ["E1", "E2"]} for action, target in actions],
        "confidence": confidence, "risk_score": 88,
        "rationale": "Identity Protection rates Dana Rossi at high risk [E1]. She signed in "
                     "from 203.0.113.77, a malicious address, 40 minutes after Milan [E2].",
        "evidence": [
            {"id": "E1", "source": "graph.riskyUsers", "fact": "riskLevel high", "entity": DANA},
            {"id": "E2", "source": "graph.signIns",
             "fact": "Milan 07:55 then Sao Paulo 08:35 UTC", "entity": DANA},
        ],
    }
