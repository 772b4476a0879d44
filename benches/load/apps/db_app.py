"""The database benchmark's app (benches/load/db_run.py), one file for both frameworks so the
endpoints are the same code: BENCH_FRAMEWORK=fastapi|fastrapi (default fastrapi).

    POSTGRES_DSN=postgresql://... BENCH_SQLITE=/path/rows.db python db_app.py PORT [io_uring|epoll|auto]
    BENCH_FRAMEWORK=fastapi POSTGRES_DSN=... BENCH_SQLITE=... uvicorn db_app:app --workers 1 \\
        --loop uvloop --http httptools --no-access-log --port PORT

The table ``bench_rows (id, name, score, active)`` is seeded by the runner, in PostgreSQL and in
the SQLite file. `app.serve` blocks until SIGTERM/SIGINT; workers=1 runs in-process.
"""

import importlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

FRAMEWORK = os.environ.get("BENCH_FRAMEWORK", "fastrapi")
if FRAMEWORK not in ("fastapi", "fastrapi"):
    raise SystemExit(f"BENCH_FRAMEWORK must be fastapi or fastrapi, not {FRAMEWORK!r}")
fw = importlib.import_module(FRAMEWORK)
FastAPI, HTTPException, Query = fw.FastAPI, fw.HTTPException, fw.Query

DSN = os.environ.get("POSTGRES_DSN", "")
SQLITE_PATH = os.environ.get("BENCH_SQLITE", "")
POOL_SIZE = 20  # connections per pool: fewer than FastAPI's 40 threads, as in a usual deployment
SELECT_ONE = "SELECT id, name, score, active FROM bench_rows WHERE id = "
SELECT_MANY = "SELECT id, name, score, active FROM bench_rows WHERE id = ANY($1::int[]) ORDER BY id"

psycopg_pool = ConnectionPool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE, open=False,
                              kwargs={"row_factory": dict_row})
sqlite_connections = threading.local()  # sqlite3 connections stay on the thread that made them


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    psycopg_pool.open(wait=True)
    app.state.asyncpg = await asyncpg.create_pool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE)
    yield
    await app.state.asyncpg.close()
    psycopg_pool.close()


app = FastAPI(lifespan=lifespan)


def found(row: Any) -> dict[str, Any]:
    if row is None:
        raise HTTPException(status_code=404, detail="No such row")
    return dict(row)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"Hello": "World"}


@app.get("/asyncpg/rows/{row_id}")
async def asyncpg_row(row_id: int) -> dict[str, Any]:
    return found(await app.state.asyncpg.fetchrow(SELECT_ONE + "$1", row_id))


@app.get("/asyncpg/rows")
async def asyncpg_rows(ids: Annotated[list[int], Query(max_length=100)]) -> list[dict[str, Any]]:
    return [dict(row) for row in await app.state.asyncpg.fetch(SELECT_MANY, ids)]


@app.get("/psycopg/rows/{row_id}")
def psycopg_row(row_id: int) -> dict[str, Any]:
    with psycopg_pool.connection() as connection:
        return found(connection.execute(SELECT_ONE + "%s", (row_id,)).fetchone())


@app.get("/sqlite/rows/{row_id}")
def sqlite_row(row_id: int) -> dict[str, Any]:
    connection = getattr(sqlite_connections, "connection", None)
    if connection is None:
        connection = sqlite_connections.connection = sqlite3.connect(SQLITE_PATH)
        connection.row_factory = sqlite3.Row
    row = connection.execute(SELECT_ONE + "?", (row_id,)).fetchone()
    return found(None if row is None else {**dict(row), "active": bool(row["active"])})


@app.get("/sleep")
def sleep() -> dict[str, float]:
    """Blocks for 5 ms: a stand-in for a slow query or a call to another service."""
    time.sleep(0.005)
    return {"slept": 0.005}


if __name__ == "__main__":
    if FRAMEWORK != "fastrapi":
        raise SystemExit("serve FastAPI with uvicorn: BENCH_FRAMEWORK=fastapi uvicorn db_app:app ...")
    app.serve(host="127.0.0.1", port=int(sys.argv[1]), workers=1, driver=sys.argv[2] if len(sys.argv) > 2 else "auto")
