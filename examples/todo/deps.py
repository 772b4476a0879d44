"""Dependencies shared by the routers: the store, the current user, an owned todo, paging.

The ones that use the database are ``def`` functions: the SQLAlchemy session blocks while it waits
for the database, and FastAPI runs ``def`` dependencies where blocking is allowed.
"""

from dataclasses import dataclass
from typing import Annotated

from sqlalchemy.orm import Session

from fastrapi import Depends, HTTPException, Path, Query, WebSocketException, status
from fastrapi.security import OAuth2PasswordBearer

from .database import get_session
from .models import Todo, UserInDB
from .security import read_access_token
from .store import Store

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="auth/token")


def get_store(session: Annotated[Session, Depends(get_session)]) -> Store:
    """The store, in this request's database session."""
    return Store(session)


StoreDep = Annotated[Store, Depends(get_store)]


def _user_for_token(token: str | None, store: Store) -> UserInDB | None:
    username = read_access_token(token) if token else None
    return store.get_user(username) if username else None


def get_current_user(token: Annotated[str, Depends(oauth2_scheme)], store: StoreDep) -> UserInDB:
    user = _user_for_token(token, store)
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Could not validate credentials",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[UserInDB, Depends(get_current_user)]


def get_owned_todo(todo_id: Annotated[int, Path(ge=1)], user: CurrentUser, store: StoreDep) -> Todo:
    """The todo in the path: 404 if there is none, 403 if it is someone else's."""
    todo = store.get_todo(todo_id)
    if todo is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Todo not found")
    if todo.owner != user.username:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Not your todo")
    return todo


OwnedTodo = Annotated[Todo, Depends(get_owned_todo)]


def get_websocket_user(store: StoreDep, token: Annotated[str | None, Query()] = None) -> UserInDB:
    """Browsers cannot set headers on a WebSocket, so the token comes as ``?token=``."""
    user = _user_for_token(token, store)
    if user is None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="Not authenticated")
    return user


@dataclass
class Page:
    skip: int
    limit: int


async def pagination(
    skip: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=100, description="Items to return")] = 20,
) -> Page:
    return Page(skip=skip, limit=limit)


PageDep = Annotated[Page, Depends(pagination)]
