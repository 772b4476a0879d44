"""The in-memory store: users, todos and the WebSocket subscribers of one worker process.

State lives in the memory of the worker process that serves the request: every worker process
has its own store, and it is gone when the process exits. ``python -m examples.todo`` serves
one worker for that reason; put a database behind the same methods to run several.

No lock is needed. Records are immutable (frozen pydantic models) and every change is one dict
operation (``setdefault``, an assignment, ``pop``), which CPython performs atomically; and the
endpoints that use the store are ``async def`` functions that do not ``await`` between reading
and writing it, so on a worker's event loop the store calls of two requests never interleave.
"""

import asyncio
import contextlib
import itertools
from datetime import UTC, datetime
from typing import Any, Literal

from .models import Todo, TodoCreate, TodoEvent, UserInDB


class Store:
    def __init__(self) -> None:
        self.users: dict[str, UserInDB] = {}
        self.todos: dict[int, Todo] = {}
        self._ids = itertools.count(1)
        # queue -> (owner, the event loop the queue's reader runs on)
        self._subscribers: dict[asyncio.Queue[dict[str, Any] | None], tuple[str, asyncio.AbstractEventLoop]] = {}

    # -- users ------------------------------------------------------------------------------
    def add_user(self, user: UserInDB) -> bool:
        """Adds the user; ``False`` if the username is taken (checked and set in one step)."""
        return self.users.setdefault(user.username, user) is user

    def get_user(self, username: str) -> UserInDB | None:
        return self.users.get(username)

    # -- todos ------------------------------------------------------------------------------
    def add_todo(self, owner: str, data: TodoCreate) -> Todo:
        todo = Todo(id=next(self._ids), owner=owner, created_at=datetime.now(UTC), **data.model_dump())
        self.todos[todo.id] = todo
        self._publish("created", todo)
        return todo

    def get_todo(self, todo_id: int) -> Todo | None:
        return self.todos.get(todo_id)

    def list_todos(
        self, owner: str, *, done: bool | None = None, priority: str | None = None, q: str | None = None
    ) -> list[Todo]:
        """The owner's todos matching the filters, oldest first."""
        needle = q.casefold() if q else None
        return [
            todo
            for todo in list(self.todos.values())
            if todo.owner == owner
            and (done is None or todo.done == done)
            and (priority is None or todo.priority == priority)
            and (needle is None or needle in todo.title.casefold())
        ]

    def update_todo(self, todo: Todo, changes: dict[str, Any]) -> Todo:
        updated = todo.model_copy(update=changes)
        self.todos[todo.id] = updated
        self._publish("updated", updated)
        return updated

    def delete_todo(self, todo: Todo) -> None:
        if self.todos.pop(todo.id, None) is not None:
            self._publish("deleted", todo)

    # -- change notifications ---------------------------------------------------------------
    def subscribe(self, owner: str) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue that receives the owner's todo events (call it on the reader's event loop)."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._subscribers[queue] = (owner, asyncio.get_running_loop())
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.pop(queue, None)

    def _publish(self, event: Literal["created", "updated", "deleted"], todo: Todo) -> None:
        message = TodoEvent(event=event, todo=todo).model_dump(mode="json")
        for queue, (owner, loop) in list(self._subscribers.items()):
            if owner == todo.owner:
                # Thread-safe: the writer may run on another thread or loop than the reader
                # (FastAPI's TestClient runs each request on its own loop).
                with contextlib.suppress(RuntimeError):  # that loop has closed
                    loop.call_soon_threadsafe(queue.put_nowait, message)


store = Store()
