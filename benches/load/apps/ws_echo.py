"""WebSocket echo app for the WebSocket benchmark (benches/load/ws_run.py), one file for both
frameworks so the endpoint is the same code: BENCH_FRAMEWORK=fastapi|fastrapi (default fastrapi).

    python ws_echo.py PORT [io_uring|epoll|auto]                                    # fastrapi
    BENCH_FRAMEWORK=fastapi uvicorn ws_echo:app --ws websockets --workers 1 \\
        --loop uvloop --http httptools --no-access-log --port PORT                   # FastAPI

`app.serve` blocks until SIGTERM/SIGINT; workers=1 runs in-process.
"""

import importlib
import os
import sys

FRAMEWORK = os.environ.get("BENCH_FRAMEWORK", "fastrapi")
if FRAMEWORK not in ("fastapi", "fastrapi"):
    raise SystemExit(f"BENCH_FRAMEWORK must be fastapi or fastrapi, not {FRAMEWORK!r}")
fw = importlib.import_module(FRAMEWORK)
WebSocket = fw.WebSocket

app = fw.FastAPI()


@app.websocket("/ws")
async def echo(websocket: WebSocket):
    await websocket.accept()
    async for msg in websocket.iter_text():
        await websocket.send_text(msg)


if __name__ == "__main__":
    if FRAMEWORK != "fastrapi":
        raise SystemExit("serve FastAPI with uvicorn: BENCH_FRAMEWORK=fastapi uvicorn ws_echo:app ...")
    app.serve(
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=1,
        driver=sys.argv[2] if len(sys.argv) > 2 else "auto",
    )
