"""Your todos: list (filtered, paged), create, read, update, delete, and a WebSocket of changes.

The HTTP endpoints are ``def``: they use the store's blocking database session.
"""

import asyncio
from typing import Annotated, Any

from fastrapi import APIRouter, Depends, Query, Response, WebSocket, status
from fastrapi.concurrency import run_in_threadpool

from ..deps import CurrentUser, OwnedTodo, PageDep, StoreDep, get_websocket_user
from ..models import Priority, Todo, TodoCreate, TodoUpdate, UserInDB
from ..store import POLL_SECONDS, watchers

router = APIRouter(
    prefix="/todos",
    tags=["todos"],
    responses={status.HTTP_401_UNAUTHORIZED: {"description": "Missing or invalid bearer token"}},
)


@router.get("", response_model=list[Todo])
def list_todos(
    user: CurrentUser,
    store: StoreDep,
    page: PageDep,
    response: Response,
    done: bool | None = None,
    priority: Priority | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Text to find in the title")] = None,
) -> list[Todo]:
    """Your todos, oldest first; ``X-Total-Count`` is the number matching the filters."""
    total, todos = store.list_todos(
        user.username, done=done, priority=priority, q=q, skip=page.skip, limit=page.limit
    )
    response.headers["X-Total-Count"] = str(total)
    return todos


@router.post("", response_model=Todo, status_code=status.HTTP_201_CREATED)
def create_todo(todo: TodoCreate, user: CurrentUser, store: StoreDep, response: Response) -> Todo:
    created = store.add_todo(user.username, todo)
    response.headers["Location"] = f"/todos/{created.id}"
    return created


@router.get(
    "/{todo_id}",
    response_model=Todo,
    responses={403: {"description": "Someone else's todo"}, 404: {"description": "No such todo"}},
)
async def read_todo(todo: OwnedTodo) -> Todo:
    return todo


@router.patch("/{todo_id}", response_model=Todo)
def update_todo(changes: TodoUpdate, todo: OwnedTodo, store: StoreDep) -> Todo:
    return store.update_todo(todo, changes.model_dump(exclude_unset=True, exclude_none=True))


@router.delete("/{todo_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_todo(todo: OwnedTodo, store: StoreDep) -> None:
    store.delete_todo(todo)


@router.websocket("/ws")
async def todo_events(
    websocket: WebSocket, user: Annotated[UserInDB, Depends(get_websocket_user)], store: StoreDep
) -> None:
    """``ws://.../todos/ws?token=...``: one JSON message (a ``TodoEvent``) per change to your todos,
    made through any worker process."""
    # Before accepting: no change is missed after connecting.
    seen = await run_in_threadpool(store.last_event_id)
    woken = watchers.add(user.username)

    async def wait_for_disconnect() -> None:
        message: dict[str, Any] = {}
        while message.get("type") != "websocket.disconnect":
            message = await websocket.receive()  # what the client sends is ignored

    await websocket.accept()
    disconnected = asyncio.ensure_future(wait_for_disconnect())
    try:
        while not disconnected.done():
            woken.clear()
            events = await run_in_threadpool(store.events_after, user.username, seen)
            for event_id, message in events:
                await websocket.send_json(message)
                seen = event_id
            # A change made in this process wakes us; one made in another is found by the next poll.
            wake = asyncio.ensure_future(woken.wait())
            await asyncio.wait({wake, disconnected}, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            wake.cancel()
    finally:
        disconnected.cancel()
        watchers.remove(woken)
