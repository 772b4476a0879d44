#!/usr/bin/env python3
"""CPU per call of the ASGI benchmark apps (apps/asgi_apps.py) in one process, with no server at all:
what any server must spend on top of its own HTTP work to serve them (the floor under run.py's
asgi-bare and asgi-starlette rows).

    taskset -c 1 python benches/load/asgi_app_cost.py [calls]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "apps"))
from asgi_apps import app  # noqa: E402

SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.4"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
    "state": {},
    "extensions": {},
}


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    pass


async def main(calls: int) -> None:
    for path in ("/bare", "/hello"):
        scope = dict(SCOPE, path=path, raw_path=path.encode())
        for _ in range(calls // 10):  # warm-up
            await app(dict(scope), receive, send)
        started = time.process_time()
        for _ in range(calls):
            await app(dict(scope), receive, send)
        print(f"{path}: {(time.process_time() - started) / calls * 1e6:.1f} µs per call")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
