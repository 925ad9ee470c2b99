"""Serve the sandbox tenant on its own: `python -m sandbox --port 8081`.

Useful when its state must outlive Cordon's process (the crash-recovery tests restart Cordon
against one sandbox) or when several Cordon replicas share one tenant. Point Cordon at it with
`CORDON_SANDBOX_URL=http://127.0.0.1:8081/sandbox`.
"""

from __future__ import annotations

import argparse

from aiohttp import web

from sandbox import build_sandbox_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    root = web.Application()
    root.add_subapp("/sandbox", build_sandbox_app())
    web.run_app(root, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
