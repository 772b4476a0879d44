"""What the database test apps share: an ``/items`` CRUD API over a repository, its models, its SQL.

Each app in db_sqlite.py and db_postgres.py plugs a repository (one driver) into the same routes,
``def`` ones for a blocking driver and ``async def`` ones for an asyncio driver. Runs unchanged under
FastAPI and fastrapi (APP_FRAMEWORK picks which).
"""

import importlib
import os
from collections.abc import Callable
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, Field
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, Depends, HTTPException, Query = fw.FastAPI, fw.Depends, fw.HTTPException, fw.Query
Request = importlib.import_module(f"{fw.__name__}.requests").Request
Response = importlib.import_module(f"{fw.__name__}.responses").Response
JSONResponse = importlib.import_module(f"{fw.__name__}.responses").JSONResponse


class ItemCreate(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    price: float = Field(gt=0)
    quantity: int = Field(default=0, ge=0)


class ItemUpdate(BaseModel):
    """A partial update: fields left out or null keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=50)
    price: float | None = Field(default=None, gt=0)
    quantity: int | None = Field(default=None, ge=0)


class Item(ItemCreate):
    id: int


# Connection pools: big enough by default for the tests' 64 concurrent clients; the tests that
# queue requests for a connection make them small.
POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "64"))
POOL_TIMEOUT = float(os.environ.get("DB_POOL_TIMEOUT", "10"))


def schema_name(label: str) -> str:
    """A PostgreSQL schema of this server process's own: the FastAPI and the fastrapi server of a
    comparison (and any other server) never see each other's rows."""
    return f"{label}_{fw.__name__}_{os.getpid()}"


# The same statements for every DB-API driver; `%s` is rewritten to the driver's placeholder.
SQL = {
    "insert": "INSERT INTO items (name, price, quantity) VALUES (%s, %s, %s) RETURNING id, name, price, quantity",
    "get": "SELECT id, name, price, quantity FROM items WHERE id = %s",
    "list": "SELECT id, name, price, quantity FROM items ORDER BY id LIMIT %s OFFSET %s",
    "update": (
        "UPDATE items SET name = COALESCE(%s, name), price = COALESCE(%s, price), "
        "quantity = COALESCE(%s, quantity) WHERE id = %s RETURNING id, name, price, quantity"
    ),
    "delete": "DELETE FROM items WHERE id = %s RETURNING id",
}
POSTGRES_DDL = (
    "CREATE TABLE items (id serial PRIMARY KEY, name varchar(50) NOT NULL UNIQUE, "
    "price double precision NOT NULL, quantity integer NOT NULL)"
)


def sql(statement: str, placeholder: str = "%s") -> str:
    """``SQL[statement]`` with ``%s`` as ``placeholder``: ``?`` (sqlite3) or ``$n`` (asyncpg, numbered)."""
    parts = SQL[statement].split("%s")
    if placeholder == "$n":
        return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, 1))
    return placeholder.join(parts)


def item_from_row(row: Any) -> Item | None:
    return None if row is None else Item(id=row[0], name=row[1], price=row[2], quantity=row[3])


def update_params(item_id: int, changes: ItemUpdate) -> tuple[Any, ...]:
    return changes.name, changes.price, changes.quantity, item_id


class DbApiItems:
    """Items over a DB-API connection (sqlite3, psycopg): each write commits before the response."""

    def __init__(self, connection: Any, placeholder: str = "%s") -> None:
        self.connection = connection
        self.placeholder = placeholder

    def _one(self, statement: str, params: tuple[Any, ...], *, commit: bool = False) -> Any:
        row = self.connection.execute(sql(statement, self.placeholder), params).fetchone()
        if commit:
            self.connection.commit()
        return row

    def create(self, item: ItemCreate) -> Item | None:
        return item_from_row(self._one("insert", (item.name, item.price, item.quantity), commit=True))

    def get(self, item_id: int) -> Item | None:
        return item_from_row(self._one("get", (item_id,)))

    def list(self, limit: int, offset: int) -> list[Item]:
        rows = self.connection.execute(sql("list", self.placeholder), (limit, offset)).fetchall()
        return [Item(id=r[0], name=r[1], price=r[2], quantity=r[3]) for r in rows]

    def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        return item_from_row(self._one("update", update_params(item_id, changes), commit=True))

    def delete(self, item_id: int) -> bool:
        return self._one("delete", (item_id,), commit=True) is not None



class Base(DeclarativeBase):
    pass


class ItemRow(Base):
    """The ``items`` table for SQLAlchemy (the same columns as POSTGRES_DDL)."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    price: Mapped[float]
    quantity: Mapped[int]


def item_from_orm(row: ItemRow | None) -> Item | None:
    return None if row is None else Item.model_validate(row, from_attributes=True)


class SessionItems:
    """Items over a SQLAlchemy ``Session``: each write commits before the response."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, item: ItemCreate) -> Item | None:
        row = ItemRow(**item.model_dump())
        self.session.add(row)
        self.session.commit()
        return item_from_orm(row)

    def get(self, item_id: int) -> Item | None:
        return item_from_orm(self.session.get(ItemRow, item_id))

    def list(self, limit: int, offset: int) -> list[Item]:
        rows = self.session.scalars(select(ItemRow).order_by(ItemRow.id).limit(limit).offset(offset))
        return [Item.model_validate(row, from_attributes=True) for row in rows]

    def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        row = self.session.get(ItemRow, item_id)
        if row is not None:
            for field, value in changes.model_dump(exclude_none=True).items():
                setattr(row, field, value)
            self.session.commit()
        return item_from_orm(row)

    def delete(self, item_id: int) -> bool:
        row = self.session.get(ItemRow, item_id)
        if row is not None:
            self.session.delete(row)
            self.session.commit()
        return row is not None


class AsyncSessionItems:
    """Items over a SQLAlchemy ``AsyncSession`` (made with ``expire_on_commit=False``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, item: ItemCreate) -> Item | None:
        row = ItemRow(**item.model_dump())
        self.session.add(row)
        await self.session.commit()
        return item_from_orm(row)

    async def get(self, item_id: int) -> Item | None:
        return item_from_orm(await self.session.get(ItemRow, item_id))

    async def list(self, limit: int, offset: int) -> list[Item]:
        rows = await self.session.scalars(select(ItemRow).order_by(ItemRow.id).limit(limit).offset(offset))
        return [Item.model_validate(row, from_attributes=True) for row in rows]

    async def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        row = await self.session.get(ItemRow, item_id)
        if row is not None:
            for field, value in changes.model_dump(exclude_none=True).items():
                setattr(row, field, value)
            await self.session.commit()
        return item_from_orm(row)

    async def delete(self, item_id: int) -> bool:
        row = await self.session.get(ItemRow, item_id)
        if row is not None:
            await self.session.delete(row)
            await self.session.commit()
        return row is not None


class SyncItems(Protocol):
    def create(self, item: ItemCreate) -> Item | None: ...
    def get(self, item_id: int) -> Item | None: ...
    def list(self, limit: int, offset: int) -> list[Item]: ...
    def update(self, item_id: int, changes: ItemUpdate) -> Item | None: ...
    def delete(self, item_id: int) -> bool: ...


class AsyncItems(Protocol):
    async def create(self, item: ItemCreate) -> Item | None: ...
    async def get(self, item_id: int) -> Item | None: ...
    async def list(self, limit: int, offset: int) -> list[Item]: ...
    async def update(self, item_id: int, changes: ItemUpdate) -> Item | None: ...
    async def delete(self, item_id: int) -> bool: ...


def found(item: Item | None) -> Item:
    if item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return item


Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]


def items_app(lifespan: Any, get_items: Callable[..., Any], conflict_error: type[Exception], *, blocking: bool) -> Any:
    """An app whose ``/items`` routes are ``def`` (``blocking``: ``get_items`` gives a repository over a
    blocking driver) or ``async def`` (it gives one over an asyncio driver)."""
    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(conflict_error)
    async def conflict(request: Request, exc: Exception) -> Any:
        return JSONResponse(status_code=409, content={"detail": "An item with this name already exists"})

    add_routes = _add_sync_routes if blocking else _add_async_routes
    add_routes(app, Annotated[SyncItems if blocking else AsyncItems, Depends(get_items)])
    return app


# Not `from __future__ import annotations`: the routes' annotations name a local (Items).
def _add_sync_routes(app: Any, Items: Any) -> None:
    @app.post("/items", status_code=201, response_model=Item)
    def create_item(item: ItemCreate, items: Items, response: Response) -> Item:
        created = found(items.create(item))
        response.headers["Location"] = f"/items/{created.id}"
        return created

    @app.get("/items", response_model=list[Item])
    def list_items(items: Items, limit: Limit = 20, offset: Offset = 0) -> list[Item]:
        return items.list(limit, offset)

    @app.get("/items/{item_id}", response_model=Item)
    def read_item(item_id: int, items: Items) -> Item:
        return found(items.get(item_id))

    @app.patch("/items/{item_id}", response_model=Item)
    def update_item(item_id: int, changes: ItemUpdate, items: Items) -> Item:
        return found(items.update(item_id, changes))

    @app.delete("/items/{item_id}", status_code=204)
    def delete_item(item_id: int, items: Items) -> None:
        if not items.delete(item_id):
            raise HTTPException(status_code=404, detail="Item not found")


def _add_async_routes(app: Any, Items: Any) -> None:
    @app.post("/items", status_code=201, response_model=Item)
    async def create_item(item: ItemCreate, items: Items, response: Response) -> Item:
        created = found(await items.create(item))
        response.headers["Location"] = f"/items/{created.id}"
        return created

    @app.get("/items", response_model=list[Item])
    async def list_items(items: Items, limit: Limit = 20, offset: Offset = 0) -> list[Item]:
        return await items.list(limit, offset)

    @app.get("/items/{item_id}", response_model=Item)
    async def read_item(item_id: int, items: Items) -> Item:
        return found(await items.get(item_id))

    @app.patch("/items/{item_id}", response_model=Item)
    async def update_item(item_id: int, changes: ItemUpdate, items: Items) -> Item:
        return found(await items.update(item_id, changes))

    @app.delete("/items/{item_id}", status_code=204)
    async def delete_item(item_id: int, items: Items) -> None:
        if not await items.delete(item_id):
            raise HTTPException(status_code=404, detail="Item not found")
