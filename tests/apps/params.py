"""Parameter types, constraints, bodies and response models, under FastAPI and fastrapi."""

import datetime
import decimal
import enum
import importlib
import os
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, Query, Path, Header, Cookie, Body = fw.FastAPI, fw.Query, fw.Path, fw.Header, fw.Cookie, fw.Body

app = FastAPI()


class Color(str, enum.Enum):  # noqa: UP042 - the FastAPI docs style
    red = "red"
    green = "green"


class Level(enum.IntEnum):
    low = 1
    high = 2


class Image(BaseModel):
    url: str
    name: str


class Item(BaseModel):
    name: str = Field(min_length=2, max_length=10)
    price: float = Field(gt=0)
    tax: float | None = None
    tags: set[str] = set()
    images: list[Image] | None = None

    @field_validator("name")
    @classmethod
    def no_bad(cls, v: str) -> str:
        if v == "bad":
            raise ValueError("name must not be bad")
        return v


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int


class Cat(BaseModel):
    kind: Literal["cat"]
    meows: int


class Dog(BaseModel):
    kind: Literal["dog"]
    barks: float


class Pet(BaseModel):
    pet: Cat | Dog = Field(discriminator="kind")


class User(BaseModel):
    username: str
    full_name: str | None = None


class UserIn(User):
    password: str


class Filters(BaseModel):
    limit: int = Field(100, gt=0, le=100)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: list[str] = []


@app.get("/enum/{color}")
def enum_path(color: Color, level: Level = Level.low):
    return {"color": color, "level": level}


@app.get("/uuid/{u}")
def uuid_path(u: uuid.UUID):
    return {"u": u}


@app.get("/dates")
def dates(d: datetime.date, dt: datetime.datetime | None = None, delta: datetime.timedelta | None = None):
    return {"d": d, "dt": dt, "delta": delta}


@app.get("/decimal")
def dec(x: decimal.Decimal = Query(max_digits=5, decimal_places=2)):
    return {"x": x}


@app.get("/literal")
def literal(mode: Literal["a", "b"] = "a"):
    return {"mode": mode}


@app.get("/bounds/{n}")
def bounds(n: Annotated[int, Path(ge=1, le=10)], f: Annotated[float, Query(gt=0, lt=1)] = 0.5,
           m: Annotated[int, Query(multiple_of=3)] = 3):
    return {"n": n, "f": f, "m": m}


@app.get("/strings")
def strings(s: Annotated[str, Query(min_length=2, max_length=4, pattern="^[a-z]+$")] = "ab"):
    return {"s": s}


@app.get("/alias")
def alias(item_query: str = Query(alias="item-query"), v: str | None = Query(None, validation_alias="vee")):
    return {"item_query": item_query, "v": v}


@app.get("/headers")
def headers(user_agent: str = Header("none"), x_plain: str | None = Header(None, convert_underscores=False),
            x_num: int | None = Header(None)):
    return {"ua": user_agent, "plain": x_plain, "num": x_num}


@app.get("/cookies")
def cookies(ads_id: str | None = Cookie(None), n: int | None = Cookie(None)):
    return {"ads_id": ads_id, "n": n}


@app.get("/query-list")
def query_list(q: Annotated[list[str] | None, Query()] = None, n: Annotated[list[int], Query()] = []):  # noqa: B006
    return {"q": q, "n": n}


@app.get("/query-model")
def query_model(filters: Annotated[Filters, Query()]):
    return filters


@app.get("/bools")
def bools(b: bool):
    return {"b": b}


@app.post("/item")
def create_item(item: Item):
    return item


@app.post("/item-embed")
def item_embed(item: Annotated[Item, Body(embed=True)]):
    return {"item": item}


@app.post("/multi")
def multi(item: Item, user: User, importance: Annotated[int, Body()]):
    return {"item": item, "user": user, "importance": importance}


@app.post("/singular")
def singular(importance: Annotated[int, Body(gt=0)], note: Annotated[str | None, Body()] = None):
    return {"importance": importance, "note": note}


@app.post("/images")
def images(images: list[Image]):
    return images


@app.post("/strict")
def strict(body: Strict):
    return body


@app.post("/pet")
def pet(body: Pet):
    return body


@app.post("/dict-int")
def dict_int(weights: dict[int, float]):
    return weights


@app.post("/user", response_model=User)
def create_user(user: UserIn):
    return user


@app.post("/user-ret")
def create_user_ret(user: UserIn) -> User:
    return user


@app.get("/exclude-unset", response_model=Item, response_model_exclude_unset=True)
def exclude_unset():
    return Item(name="abc", price=1.5)


@app.get("/exclude-none", response_model=Item, response_model_exclude_none=True)
def exclude_none():
    return {"name": "abc", "price": 1.5, "tax": None}


@app.get("/include", response_model=Item, response_model_include={"name"})
def include():
    return {"name": "abc", "price": 1.5}


@app.get("/invalid-response", response_model=Item)
def invalid_response():
    return {"name": "x"}


class Orm:
    def __init__(self) -> None:
        self.username = "orm"
        self.full_name = "From Attributes"


@app.get("/orm", response_model=User)
def orm():
    return Orm()


@app.delete("/no-content", status_code=204)
def no_content():
    return None


@app.get("/encoders")
def encoders():
    return {
        "dt": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "date": datetime.date(2024, 1, 2),
        "time": datetime.time(1, 2, 3),
        "delta": datetime.timedelta(hours=1, milliseconds=5),
        "dec": decimal.Decimal("1.50"),
        "dec_int": decimal.Decimal("10"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "enum": Color.red,
        "int_enum": Level.high,
        "set": {1},
        "frozenset": frozenset(["x"]),
        "bytes": b"raw",
        "model": Image(url="u", name="n"),
        "nested": [Image(url="a", name="b")],
        Color.green: "enum key",
    }
