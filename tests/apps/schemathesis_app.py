"""A small API for schemathesis (`tests/test_schemathesis.py`): every documented response is what
the server answers, and no input makes it fail with a 5xx."""

import enum
import importlib
import os
from typing import Annotated, Literal

from pydantic import BaseModel, Field

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, APIRouter, Body, Header, HTTPException, Path, Query, Depends, Form = (
    fw.FastAPI, fw.APIRouter, fw.Body, fw.Header, fw.HTTPException, fw.Path, fw.Query, fw.Depends, fw.Form
)
sec = importlib.import_module(f"{fw.__name__}.security")


class Color(str, enum.Enum):  # noqa: UP042 - the FastAPI docs style
    red = "red"
    green = "green"


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    price: float = Field(ge=0, le=1_000_000)
    color: Color = Color.red
    tags: list[Annotated[str, Field(max_length=20)]] = Field(default=[], max_length=10)


class Item(ItemIn):
    id: int


class Message(BaseModel):
    detail: str


class Page(BaseModel):
    items: list[Item]
    total: int
    offset: int


ITEMS: dict[int, Item] = {1: Item(id=1, name="first", price=1.5), 2: Item(id=2, name="second", price=2, tags=["x"])}

api_key = sec.APIKeyHeader(name="X-Key", auto_error=False)


def pagination(offset: Annotated[int, Query(ge=0, le=1000)] = 0, limit: Annotated[int, Query(ge=1, le=50)] = 10):
    return offset, limit


items = APIRouter(prefix="/items", tags=["items"], responses={404: {"model": Message}})


@items.get("/")
def list_items(
    page: Annotated[tuple[int, int], Depends(pagination)],
    color: Color | None = None,
    q: Annotated[str | None, Query(max_length=20)] = None,
) -> Page:
    offset, limit = page
    found = [i for i in ITEMS.values() if (color is None or i.color == color) and (q is None or q in i.name)]
    return Page(items=found[offset:offset + limit], total=len(found), offset=offset)


@items.get("/{item_id}")
def get_item(item_id: Annotated[int, Path(ge=1, le=10_000)]) -> Item:
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail="Item not found")
    return ITEMS[item_id]


@items.post("/", status_code=201)
def create_item(item: ItemIn) -> Item:
    return Item(id=len(ITEMS) + 1, **item.model_dump())


@items.put("/{item_id}")
def replace_item(item_id: Annotated[int, Path(ge=1, le=10_000)], item: ItemIn,
                 note: Annotated[str | None, Body(max_length=100)] = None) -> Item:
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail="Item not found")
    return Item(id=item_id, **item.model_dump())


app = FastAPI(title="Schemathesis target", version="1.0")
app.include_router(items)


@app.get("/echo/{word}")
def echo(
    word: Annotated[str, Path(max_length=30)],
    times: Annotated[int, Query(ge=1, le=3)] = 1,
    mode: Literal["upper", "lower", "same"] = "same",
    x_trace: Annotated[str | None, Header(max_length=40)] = None,
) -> dict[str, str | None]:
    text = " ".join([word] * times)
    text = text.upper() if mode == "upper" else text.lower() if mode == "lower" else text
    return {"text": text, "trace": x_trace}


@app.post("/login")
def login(username: Annotated[str, Form(max_length=50)], password: Annotated[str, Form(max_length=50)]) -> Message:
    return Message(detail=f"hello {username}")


@app.get("/whoami", responses={401: {"model": Message}})
def whoami(key: Annotated[str | None, Depends(api_key)]) -> Message:
    if key is None:
        raise HTTPException(status_code=401, detail="Missing key")
    return Message(detail=key)
