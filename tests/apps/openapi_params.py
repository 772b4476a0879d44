"""OpenAPI of every parameter kind (path, query, header, cookie, parameter models), for both frameworks."""

import datetime
import decimal
import enum
import importlib
import os
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, Json

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, APIRouter, Query, Path, Header, Cookie = fw.FastAPI, fw.APIRouter, fw.Query, fw.Path, fw.Header, fw.Cookie

app = FastAPI(title="Params", version="2.0")


class Color(str, enum.Enum):  # noqa: UP042 - the FastAPI docs style
    red = "red"
    green = "green"


class Level(enum.IntEnum):
    low = 1
    high = 2


class Filters(BaseModel):
    limit: int = Field(100, gt=0, le=100)
    offset: int = Field(0, ge=0)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: list[str] = []


class CommonHeaders(BaseModel):
    host: str
    save_data: bool
    x_tag: list[str] = []


class Cookies(BaseModel):
    session_id: str
    tracker: str | None = None


@app.get("/items/{item_id}")
def read_item(
    item_id: Annotated[int, Path(title="The ID", ge=1, le=1000, description="which item")],
    q: Annotated[str | None, Query(alias="item-query", min_length=3, max_length=50, pattern="^fixed")] = None,
    size: Annotated[float, Query(gt=0, lt=10.5)] = 1.0,
    flag: bool = False,
):
    return {}


@app.get("/enum/{color}")
def enum_param(
    color: Color, level: Level = Level.low, mode: Literal["a", "b"] = "a", other: Color | None = None
):
    return {}


@app.get("/types/{uid}")
def types(
    uid: uuid.UUID,
    when: datetime.date,
    at: datetime.datetime | None = None,
    delta: datetime.timedelta | None = None,
    many: Annotated[list[int], Query()] = [],  # noqa: B006
    opt_many: Annotated[list[str] | None, Query()] = None,
):
    return {}


@app.get("/files/{file_path:path}")
def file_path(file_path: str):
    return {}


@app.get("/documented")
def documented(
    a: Annotated[str, Query(description="A thing", deprecated=True)],
    b: Annotated[int | None, Query(examples=[1, 2])] = None,
    c: Annotated[str | None, Query(openapi_examples={"one": {"summary": "One", "value": "1"}})] = None,
    d: Annotated[str | None, Query(include_in_schema=False)] = None,
    e: Annotated[str, Query(title="Custom title")] = "x",
    f: str = Query("old-style", max_length=20),
    g: Annotated[str | None, Query(json_schema_extra={"x-extra": True})] = None,
):
    return {}


@app.get("/headers")
def headers(
    user_agent: Annotated[str | None, Header()] = None,
    x_token: Annotated[list[str] | None, Header()] = None,
    strange_header: Annotated[str | None, Header(convert_underscores=False)] = None,
    x_aliased: Annotated[str | None, Header(alias="X-Custom-Alias")] = None,
):
    return {}


@app.get("/cookies")
def cookies(ads_id: Annotated[str | None, Cookie()] = None, n: Annotated[int, Cookie(ge=0)] = 0):
    return {}


@app.get("/query-model")
def query_model(filters: Annotated[Filters, Query()]):
    return filters


@app.get("/header-model")
def header_model(headers: Annotated[CommonHeaders, Header()]):
    return headers


@app.get("/cookie-model")
def cookie_model(cookies: Annotated[Cookies, Cookie()]):
    return cookies


@app.get("/optional-query-model")
def optional_query_model(filters: Annotated[Filters | None, Query()] = None):
    return filters


@app.get("/users/{user_id}/items/{item_id}")
async def user_item(user_id: int, item_id: str, q: str | None = None, short: bool = False):
    return {}


@app.get("/no-params")
def no_params():
    return {}


@app.get("/validators")
def validators(
    q: Annotated[str, Query(), AfterValidator(lambda v: v)] = "x",
    n: Annotated[int, Field(gt=2), Query()] = 5,
    dec: decimal.Decimal = decimal.Decimal("1.5"),
    j: Annotated[Json[list[int]] | None, Query()] = None,
    va: Annotated[str | None, Query(validation_alias="vee")] = None,
    untyped=None,  # noqa: ANN001
    anything: Any = 1,
    pair: Annotated[tuple[int, int] | None, Query()] = None,
    d: datetime.date = datetime.date(2020, 1, 2),
):
    return {}


prefixed = APIRouter(prefix="/users/{user_id}")


@prefixed.get("/things/{thing}")
def things(user_id: int, thing: str, q: str | None = None):
    return {}


app.include_router(prefixed)
