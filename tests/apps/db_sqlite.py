"""The ``/items`` API on SQLite, in a fresh file per server process: through ``sqlite3`` and
through SQLAlchemy 2 (a sync ``Session`` from a ``yield`` dependency). Blocking drivers, so the
routes are ``def``. Runs under FastAPI and fastrapi (APP_FRAMEWORK)."""

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.apps.db_items import POOL_SIZE, POOL_TIMEOUT, Base, DbApiItems, Depends, Request, SessionItems, items_app

SQLITE_DDL = (
    "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(50) NOT NULL UNIQUE, "
    "price FLOAT NOT NULL, quantity INTEGER NOT NULL)"
)


@asynccontextmanager
async def database_file(app: Any) -> Any:
    directory = Path(tempfile.mkdtemp(prefix="fastrapi-sqlite-test-"))
    app.state.database = directory / "items.db"
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- sqlite3 ------------------------------------------------------------------------------------
@asynccontextmanager
async def sqlite3_lifespan(app: Any) -> Any:
    async with database_file(app):
        with sqlite3.connect(app.state.database) as connection:
            connection.execute(SQLITE_DDL)
        yield


def sqlite3_items(request: Request) -> Iterator[DbApiItems]:
    # FastAPI runs a `def` dependency's setup and teardown on pool threads: not the same thread.
    # A long busy timeout: 200 concurrent writers on a loaded 2-core machine can queue for seconds.
    connection = sqlite3.connect(request.app.state.database, timeout=60, check_same_thread=False)
    try:
        yield DbApiItems(connection, "?")
    finally:
        connection.close()


sqlite3_app = items_app(sqlite3_lifespan, sqlite3_items, sqlite3.IntegrityError, blocking=True)


# -- SQLAlchemy, sync Session ---------------------------------------------------------------------
@asynccontextmanager
async def sqlalchemy_lifespan(app: Any) -> Any:
    async with database_file(app):
        engine = create_engine(f"sqlite:///{app.state.database}", connect_args={"check_same_thread": False, "timeout": 60},
                               pool_size=POOL_SIZE, max_overflow=0, pool_timeout=POOL_TIMEOUT)
        Base.metadata.create_all(engine)
        app.state.sessions = sessionmaker(engine)
        yield
        engine.dispose()


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def session_items(session: Annotated[Session, Depends(get_session)]) -> SessionItems:
    return SessionItems(session)


sqlalchemy_app = items_app(sqlalchemy_lifespan, session_items, IntegrityError, blocking=True)
