"""OpenAPI of responses: response models, status codes, response classes, extra responses, for both frameworks."""

import importlib
import os
from typing import Any

from pydantic import BaseModel, computed_field

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, status = fw.FastAPI, fw.status
responses_mod = importlib.import_module(f"{fw.__name__}.responses")
HTMLResponse, PlainTextResponse, RedirectResponse = (
    responses_mod.HTMLResponse, responses_mod.PlainTextResponse, responses_mod.RedirectResponse
)
JSONResponse, Response = responses_mod.JSONResponse, responses_mod.Response

app = FastAPI()


class Item(BaseModel):
    name: str
    price: float = 1.0
    tags: list[str] = []


class Message(BaseModel):
    message: str


class Rect(BaseModel):
    width: int
    height: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def area(self) -> int:
        return self.width * self.height


class UserIn(BaseModel):
    username: str
    password: str


class UserOut(BaseModel):
    username: str


@app.get("/model", response_model=Item)
def model() -> Any:
    return {}


@app.get("/annotated")
def annotated() -> Item:
    return Item(name="x")


@app.get("/list", response_model=list[Item])
def list_items() -> Any:
    return []


@app.get("/dict")
def dict_return() -> dict[str, int]:
    return {}


@app.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(user: UserIn) -> Any:
    return user


@app.put("/roundtrip")
def roundtrip(item: Item) -> Item:
    return item


@app.post("/rect")
def rect(r: Rect) -> Rect:
    return r


@app.delete("/no-content", status_code=204)
def no_content() -> None:
    return None


@app.get("/html", response_class=HTMLResponse)
def html():
    return "<p>hi</p>"


@app.get("/text", response_class=PlainTextResponse)
def text():
    return "hi"


@app.get("/redirect", response_class=RedirectResponse)
def redirect():
    return "/model"


@app.get("/plain-response")
def plain_response() -> Response:
    return Response("x")


@app.get(
    "/extra/{item_id}",
    response_model=Item,
    responses={
        404: {"model": Message, "description": "The item was not found"},
        403: {"description": "Forbidden"},
        "5XX": {"description": "Server trouble"},
        200: {"content": {"image/png": {}}, "description": "Return the JSON item or an image."},
    },
)
def extra(item_id: str) -> Any:
    return {}


@app.get("/extra-default", responses={"default": {"model": Message}, 418: {}})
def extra_default():
    return {}


@app.get("/validation-overridden/{n}", responses={422: {"description": "Custom", "model": Message}})
def validation_overridden(n: int):
    return {}


@app.get(
    "/meta",
    tags=["meta", "items"],
    summary="A summary",
    description="A description",
    response_description="The thing",
    deprecated=True,
    operation_id="custom_meta_op",
)
def meta():
    return {}


@app.get("/docstring")
def docstring_route():
    """Read the thing.

    - **a**: first
    \f
    :param nothing: hidden
    """
    return {}


@app.get("/hidden", include_in_schema=False)
def hidden():
    return {}


@app.post(
    "/extra-openapi",
    openapi_extra={
        "requestBody": {"content": {"application/x-yaml": {"schema": {"type": "object"}}}, "required": True},
        "x-aperture-labs-portal": "blue",
    },
)
def extra_openapi():
    return {}


@app.get("/json-class", response_class=JSONResponse, status_code=202)
def json_class():
    return {}


@app.get("/none-model", response_model=None)
def none_model() -> dict[str, str]:
    return {}
