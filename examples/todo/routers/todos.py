"""Your todos: list (filtered, paged), create, read, update, delete, and a WebSocket of changes."""

import asyncio
from typing import Annotated, Any

from fastrapi import APIRouter, Depends, Query, Response, WebSocket, status

from ..deps import CurrentUser, OwnedTodo, PageDep, StoreDep, get_websocket_user
from ..models import Priority, Todo, TodoCreate, TodoUpdate, UserInDB

router = APIRouter(
    prefix="/todos",
    tags=["todos"],
    responses={status.HTTP_401_UNAUTHORIZED: {"description": "Missing or invalid bearer token"}},
)


@router.get("", response_model=list[Todo])
async def list_todos(
    user: CurrentUser,
    store: StoreDep,
    page: PageDep,
    response: Response,
    done: bool | None = None,
    priority: Priority | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Text to find in the title")] = None,
) -> list[Todo]:
    """Your todos, oldest first; ``X-Total-Count`` is the number matching the filters."""
    todos = store.list_todos(user.username, done=done, priority=priority, q=q)
    response.headers["X-Total-Count"] = str(len(todos))
    return todos[page.skip : page.skip + page.limit]


@router.post("", response_model=Todo, status_code=status.HTTP_201_CREATED)
async def create_todo(todo: TodoCreate, user: CurrentUser, store: StoreDep, response: Response) -> Todo:
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
async def update_todo(changes: TodoUpdate, todo: OwnedTodo, store: StoreDep) -> Todo:
    return store.update_todo(todo, changes.model_dump(exclude_unset=True, exclude_none=True))


@router.delete("/{todo_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_todo(todo: OwnedTodo, store: StoreDep) -> None:
    store.delete_todo(todo)


@router.websocket("/ws")
async def todo_events(
    websocket: WebSocket, user: Annotated[UserInDB, Depends(get_websocket_user)], store: StoreDep
) -> None:
    """``ws://.../todos/ws?token=...``: one JSON message (a ``TodoEvent``) per change to your todos."""
    queue = store.subscribe(user.username)  # before accepting: no change is missed after connecting

    async def wait_for_disconnect() -> None:
        message: dict[str, Any] = {}
        while message.get("type") != "websocket.disconnect":
            message = await websocket.receive()  # what the client sends is ignored
        queue.put_nowait(None)

    await websocket.accept()
    watcher = asyncio.ensure_future(wait_for_disconnect())
    try:
        while (event := await queue.get()) is not None:
            await websocket.send_json(event)
    finally:
        watcher.cancel()
        store.unsubscribe(queue)
