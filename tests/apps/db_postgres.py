"""The ``/items`` API on PostgreSQL (``POSTGRES_DSN``), in a schema of each server process's own:

- ``psycopg_app``: psycopg 3 with a ``psycopg_pool.ConnectionPool``, ``def`` routes;
- ``asyncpg_app``: an asyncpg pool made in the lifespan, ``async def`` routes;
- ``sqlalchemy_app``: SQLAlchemy's asyncio extension over asyncpg, an ``AsyncSession`` dependency.

Runs under FastAPI and fastrapi (APP_FRAMEWORK).
"""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

import asyncpg
import psycopg
from psycopg_pool import ConnectionPool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from tests.apps.db_items import (
    POOL_SIZE,
    POOL_TIMEOUT,
    POSTGRES_DDL,
    AsyncSessionItems,
    DbApiItems,
    Depends,
    Item,
    ItemCreate,
    ItemUpdate,
    Request,
    item_from_row,
    items_app,
    schema_name,
    sql,
    update_params,
)

DSN = os.environ.get("POSTGRES_DSN", "postgresql://fastrapi:fastrapi@127.0.0.1:5432/fastrapi")


@contextmanager
def own_schema(label: str) -> Iterator[str]:
    """A new schema holding an empty ``items`` table; dropped afterwards."""
    schema = schema_name(label)
    with psycopg.connect(DSN, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.execute(f"SET search_path TO {schema}")
        connection.execute(POSTGRES_DDL)
    try:
        yield schema
    finally:
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


# -- psycopg 3 + ConnectionPool ----------------------------------------------------------------------
@asynccontextmanager
async def psycopg_lifespan(app: Any) -> AsyncIterator[None]:
    with own_schema("psycopg") as schema:
        pool = ConnectionPool(DSN, min_size=2, max_size=POOL_SIZE, timeout=POOL_TIMEOUT, open=False,
                              kwargs={"options": f"-c search_path={schema}"})
        pool.open(wait=True)
        app.state.pool = pool
        try:
            yield
        finally:
            pool.close()


def psycopg_items(request: Request) -> Iterator[DbApiItems]:
    with request.app.state.pool.connection() as connection:  # rolled back on an exception
        yield DbApiItems(connection)


psycopg_app = items_app(psycopg_lifespan, psycopg_items, psycopg.errors.UniqueViolation, blocking=True)


# -- asyncpg -------------------------------------------------------------------------------------------
@asynccontextmanager
async def asyncpg_lifespan(app: Any) -> AsyncIterator[None]:
    with own_schema("asyncpg") as schema:
        app.state.pool = await asyncpg.create_pool(DSN, min_size=2, max_size=POOL_SIZE,
                                                   server_settings={"search_path": schema})
        try:
            yield
        finally:
            await app.state.pool.close()


class AsyncpgItems:
    """Items over an asyncpg connection: every statement commits on its own."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def _one(self, statement: str, *params: Any) -> Any:
        return await self.connection.fetchrow(sql(statement, "$n"), *params)

    async def create(self, item: ItemCreate) -> Item | None:
        return item_from_row(await self._one("insert", item.name, item.price, item.quantity))

    async def get(self, item_id: int) -> Item | None:
        return item_from_row(await self._one("get", item_id))

    async def list(self, limit: int, offset: int) -> list[Item]:
        rows = await self.connection.fetch(sql("list", "$n"), limit, offset)
        return [Item(**dict(row)) for row in rows]

    async def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        return item_from_row(await self._one("update", *update_params(item_id, changes)))

    async def delete(self, item_id: int) -> bool:
        return await self._one("delete", item_id) is not None


async def asyncpg_items(request: Request) -> AsyncIterator[AsyncpgItems]:
    async with request.app.state.pool.acquire() as connection:
        yield AsyncpgItems(connection)


asyncpg_app = items_app(asyncpg_lifespan, asyncpg_items, asyncpg.UniqueViolationError, blocking=False)


# -- SQLAlchemy asyncio + asyncpg ----------------------------------------------------------------------
@asynccontextmanager
async def sqlalchemy_lifespan(app: Any) -> AsyncIterator[None]:
    with own_schema("sqlalchemy") as schema:
        engine = create_async_engine(
            DSN.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=POOL_SIZE, max_overflow=0,
            pool_timeout=POOL_TIMEOUT, connect_args={"server_settings": {"search_path": schema}},
        )
        app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            yield
        finally:
            await engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


async def session_items(session: Annotated[AsyncSession, Depends(get_session)]) -> AsyncSessionItems:
    return AsyncSessionItems(session)


sqlalchemy_app = items_app(sqlalchemy_lifespan, session_items, IntegrityError, blocking=False)
