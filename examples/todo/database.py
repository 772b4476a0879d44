"""The database: SQLAlchemy 2 tables, the engine and a session per request.

``DATABASE_URL`` picks it: by default a SQLite file next to this module (``todo.db``, made on
first start, nothing to set up); ``postgresql://user:password@host/db`` for PostgreSQL (through
psycopg 3). Every worker process opens its own connections to the same database, so all workers
see the same users and todos.
"""

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, ForeignKey, String, TypeDecorator, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

DEFAULT_DATABASE_URL = f"sqlite:///{Path(__file__).resolve().parent / 'todo.db'}"


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime`` in Python, stored as a naive UTC timestamp (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    full_name: Mapped[str | None] = mapped_column(String(100))
    hashed_password: Mapped[str] = mapped_column(String(200))


class TodoRow(Base):
    __tablename__ = "todos"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    priority: Mapped[str] = mapped_column(String(6))
    done: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TodoEventRow(Base):
    """A change to a todo, for the ``/todos/ws`` watchers of every worker process (kept a few minutes)."""

    __tablename__ = "todo_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL: readers do not block the writer, so worker processes share the file well; busy_timeout:
    # a writer waits for another process's commit instead of failing with "database is locked".
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 (SQLAlchemy's default is psycopg2)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    # Sessions move between threads (FastAPI runs `def` code on a thread pool): allow it.
    engine = create_engine(parsed, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_tables(engine: Engine) -> None:
    """Creates the tables that are missing. Worker processes start together: if another one
    created a table between our check and our ``CREATE TABLE``, look again."""
    for attempt in range(5):
        try:
            Base.metadata.create_all(engine)
            return
        except DatabaseError:
            if attempt == 4:
                raise
            time.sleep(0.1 * (attempt + 1))


engine = create_db_engine(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
SessionLocal = sessionmaker(engine)


def get_session() -> Iterator[Session]:
    """A session per request; tests can swap it with ``app.dependency_overrides[get_session]``."""
    with SessionLocal() as session:
        yield session
