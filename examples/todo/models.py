"""Pydantic models: what the API accepts and what it returns."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{3,32}$")]
Priority = Literal["low", "normal", "high"]


class UserCreate(BaseModel):
    username: Username = Field(description="3 to 32 lowercase letters, digits or underscores")
    password: str = Field(min_length=8, max_length=128)
    full_name: str | None = Field(default=None, max_length=100)


class User(BaseModel):
    username: str
    full_name: str | None = None


class UserInDB(User):
    model_config = ConfigDict(frozen=True)

    hashed_password: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class TodoCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    priority: Priority = "normal"


class TodoUpdate(BaseModel):
    """A partial update: fields left out (or null) keep their value."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    priority: Priority | None = None
    done: bool | None = None


class Todo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    owner: str
    title: str
    description: str | None = None
    priority: Priority = "normal"
    done: bool = False
    created_at: datetime


class TodoEvent(BaseModel):
    """What the ``/todos/ws`` WebSocket sends when one of your todos changes."""

    event: Literal["created", "updated", "deleted"]
    todo: Todo
