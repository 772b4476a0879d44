"""OpenAPI of request bodies: JSON models, embedded and multiple bodies, forms, files, for both frameworks."""

import dataclasses
import importlib
import os
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, Body, Form, File, UploadFile = fw.FastAPI, fw.Body, fw.Form, fw.File, fw.UploadFile

app = FastAPI()


class Image(BaseModel):
    url: str
    name: str


class Item(BaseModel):
    """An item.

    \fNot published."""

    name: str = Field(examples=["Foo"])
    description: str | None = Field(default=None, title="The description", max_length=300)
    price: float = Field(gt=0, description="Must be positive")
    tax: float | None = None
    tags: set[str] = set()
    images: list[Image] | None = None


class User(BaseModel):
    username: str
    full_name: str | None = None


class Login(BaseModel):
    username: str
    password: str
    remember: bool = False


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@app.post("/items")
def create_item(item: Item):
    return item


@app.put("/items/{item_id}")
def update_item(item_id: int, item: Item, user: User, importance: Annotated[int, Body(gt=0)]):
    return {}


@app.put("/embed/{item_id}")
def embed(item_id: int, item: Annotated[Item, Body(embed=True)]):
    return {}


@app.post("/optional-body")
def optional_body(item: Item | None = None):
    return {}


@app.post("/dict-body")
def dict_body(data: dict[str, Any]):
    return data


@app.post("/list-body")
def list_body(items: list[Item]):
    return items


@app.post("/scalar-body")
def scalar_body(value: Annotated[int, Body()], note: Annotated[str | None, Body()] = None):
    return {}


@app.post("/single-scalar-body")
def single_scalar_body(value: Annotated[str, Body(min_length=1)]):
    return {}


@app.post("/dataclass-body")
def dataclass_body(point: Point):
    return point


@app.post("/body-examples")
def body_examples(
    item: Annotated[
        Item,
        Body(
            openapi_examples={
                "normal": {"summary": "A normal example", "value": {"name": "Foo", "price": 35.4}},
                "invalid": {"summary": "Invalid", "value": {"name": "Baz", "price": "thirty five"}},
            }
        ),
    ],
):
    return item


@app.post("/body-example")
def body_example(item: Annotated[Item, Body(example={"name": "Foo", "price": 1})]):
    return item


@app.post("/vendor-media-type")
def vendor_media_type(item: Annotated[Item, Body(media_type="application/vnd.api+json")]):
    return item


@app.post("/login")
def login(username: Annotated[str, Form()], password: Annotated[str, Form(min_length=3)]):
    return {}


@app.post("/optional-form")
def optional_form(note: Annotated[str | None, Form()] = None, count: Annotated[int, Form()] = 1):
    return {}


@app.post("/form-model")
def form_model(data: Annotated[Login, Form()]):
    return data


@app.post("/files")
async def files(
    file: Annotated[bytes, File(description="raw bytes")],
    upload: UploadFile,
    many: Annotated[list[UploadFile], File()],
    token: Annotated[str, Form()],
):
    return {}


@app.post("/optional-file")
async def optional_file(upload: UploadFile | None = None):
    return {}


@app.post("/single-upload")
async def single_upload(upload: UploadFile):
    return {}


@app.post("/single-bytes")
def single_bytes(data: Annotated[bytes, File()]):
    return {}


@app.post("/mixed-json")
def mixed(item: Item, extra: Annotated[dict[str, int], Body()]):
    return {}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int = 1


@app.post("/nullable-form-model")
def nullable_form_model(data: Annotated[Login | None, Form()] = None):
    return {}


@app.post("/form-model-plus")
def form_model_plus(data: Annotated[Login, Form()], extra: Annotated[str, Form()]):
    return {}


@app.post("/strict-form-model")
def strict_form_model(data: Annotated[Strict | None, Form()] = None, note: Annotated[str, Form()] = ""):
    return {}


@app.post("/default-factory")
def default_factory(items: Annotated[list[int], Body(default_factory=list)]):
    return {}


@app.post("/union-body")
def union_body(x: Login | Strict):
    return {}
