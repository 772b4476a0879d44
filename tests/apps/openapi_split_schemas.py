"""The same models as openapi_shared_schemas, with the default Input/Output schema split."""

import enum
import importlib
import os
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI = fw.FastAPI

T = TypeVar("T")


class Status(str, enum.Enum):  # noqa: UP042 - the FastAPI docs style
    active = "active"
    retired = "retired"


class Node(BaseModel):
    name: str
    children: list["Node"] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    meows: int


class Dog(BaseModel):
    kind: Literal["dog"]
    barks: float


class Owner(BaseModel):
    model_config = ConfigDict(title="PetOwner", json_schema_extra={"examples": [{"pet": {"kind": "cat", "meows": 1}}]})
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]
    status: Status = Status.active


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class Item(BaseModel):
    name: str
    description: str | None = None
    price: float = Field(default=1.0, alias="cost")
    raw: bytes | None = None


app = FastAPI()


@app.post("/tree")
def tree(node: Node) -> Node:
    return node


@app.post("/owner")
def owner(owner: Owner) -> Owner:
    return owner


@app.get("/page")
def page() -> Page[Item]:
    return Page[Item](items=[], total=0)


@app.post("/items")
def create(item: Item) -> Item:
    return item


@app.get("/status/{status}")
def status(status: Status) -> list[Status]:
    return [status]
