"""The store: users, todos and their change events, in the database (see database.py).

A ``Store`` works in one request's session and commits each change before returning, so the
next request, whichever worker process serves it, sees it. Each change to a todo also writes a
``todo_events`` row in the same transaction: the ``/todos/ws`` watchers of every process read
those. A watcher in the process that made the change is woken at once (``watchers``); the others
find it when they next poll, within ``POLL_SECONDS``.
"""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .database import TodoEventRow, TodoRow, UserRow
from .models import Todo, TodoCreate, TodoEvent, UserInDB

POLL_SECONDS = 0.5
EVENTS_KEPT = timedelta(minutes=5)  # longer than any watcher takes to read them


class Store:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- users ------------------------------------------------------------------------------
    def add_user(self, user: UserInDB) -> bool:
        """Adds the user; ``False`` if the username is taken (the primary key decides, atomically)."""
        self.session.add(UserRow(**user.model_dump()))
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            return False
        return True

    def get_user(self, username: str) -> UserInDB | None:
        row = self.session.get(UserRow, username)
        return None if row is None else UserInDB.model_validate(row, from_attributes=True)

    # -- todos ------------------------------------------------------------------------------
    def add_todo(self, owner: str, data: TodoCreate) -> Todo:
        row = TodoRow(owner=owner, created_at=datetime.now(UTC), **data.model_dump())
        self.session.add(row)
        self.session.flush()  # assigns the id
        return self._commit_change("created", Todo.model_validate(row, from_attributes=True))

    def get_todo(self, todo_id: int) -> Todo | None:
        row = self.session.get(TodoRow, todo_id)
        return None if row is None else Todo.model_validate(row, from_attributes=True)

    def list_todos(
        self,
        owner: str,
        *,
        done: bool | None = None,
        priority: str | None = None,
        q: str | None = None,
        skip: int = 0,
        limit: int = 20,
    ) -> tuple[int, list[Todo]]:
        """How many of the owner's todos match the filters, and the page ``skip:skip + limit`` of them, oldest first."""
        query = select(TodoRow).where(TodoRow.owner == owner)
        if done is not None:
            query = query.where(TodoRow.done == done)
        if priority is not None:
            query = query.where(TodoRow.priority == priority)
        if q:
            query = query.where(TodoRow.title.icontains(q, autoescape=True))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(query.order_by(TodoRow.id).offset(skip).limit(limit))
        return total, [Todo.model_validate(row, from_attributes=True) for row in rows]

    def update_todo(self, todo: Todo, changes: dict[str, Any]) -> Todo:
        row = self.session.get_one(TodoRow, todo.id)
        for field, value in changes.items():
            setattr(row, field, value)
        self.session.flush()
        return self._commit_change("updated", Todo.model_validate(row, from_attributes=True))

    def delete_todo(self, todo: Todo) -> None:
        self.session.execute(delete(TodoRow).where(TodoRow.id == todo.id))
        self._commit_change("deleted", todo)

    # -- change events ----------------------------------------------------------------------
    def _commit_change(self, event: Literal["created", "updated", "deleted"], todo: Todo) -> Todo:
        now = datetime.now(UTC)
        message = TodoEvent(event=event, todo=todo).model_dump(mode="json")
        self.session.add(TodoEventRow(owner=todo.owner, message=message, created_at=now))
        self.session.execute(delete(TodoEventRow).where(TodoEventRow.created_at < now - EVENTS_KEPT))
        self.session.commit()
        watchers.wake(todo.owner)
        return todo

    def last_event_id(self) -> int:
        """Where a new watcher starts: it is sent the changes after this one."""
        try:
            return self.session.scalar(select(func.max(TodoEventRow.id))) or 0
        finally:
            self.session.rollback()  # end the read: a watcher keeps its session while connected

    def events_after(self, owner: str, event_id: int) -> list[tuple[int, dict[str, Any]]]:
        """The owner's change events after ``event_id``, oldest first, as ``(id, message)``."""
        query = (
            select(TodoEventRow.id, TodoEventRow.message)
            .where(TodoEventRow.owner == owner, TodoEventRow.id > event_id)
            .order_by(TodoEventRow.id)
        )
        try:
            return [(row.id, row.message) for row in self.session.execute(query)]
        finally:
            self.session.rollback()


class Watchers:
    """This process's ``/todos/ws`` watchers, to wake when a change to their owner's todos is
    committed here. Each has an ``asyncio.Event`` and the event loop it waits on."""

    def __init__(self) -> None:
        self.waiting: dict[asyncio.Event, tuple[str, asyncio.AbstractEventLoop]] = {}

    def add(self, owner: str) -> asyncio.Event:
        """The event to wait on (call it on the watcher's event loop)."""
        woken = asyncio.Event()
        self.waiting[woken] = (owner, asyncio.get_running_loop())
        return woken

    def remove(self, woken: asyncio.Event) -> None:
        self.waiting.pop(woken, None)

    def wake(self, owner: str) -> None:
        for woken, (watched, loop) in list(self.waiting.items()):
            if watched == owner:
                # Thread-safe: the change may be made on another thread or loop than the watcher's
                # (FastAPI runs `def` endpoints on a thread pool).
                with contextlib.suppress(RuntimeError):  # that loop has closed
                    loop.call_soon_threadsafe(woken.set)


watchers = Watchers()
