"""url_path_for / url_for, route names, routers included twice, for both frameworks."""

import importlib
import os
import uuid

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, APIRouter, Request = fw.FastAPI, fw.APIRouter, fw.Request

router = APIRouter(prefix="/r", tags=["r"])


@router.get("/items/{item_id}")
def read_item(item_id: int):
    return {"item_id": item_id}


@router.get("/named", name="custom-name")
def named():
    return {"named": True}


app = FastAPI()
app.include_router(router)
app.include_router(router, prefix="/v2")


@app.get("/files/{file_path:path}")
def files(file_path: str):
    return {"file_path": file_path}


@app.get("/typed/{n:int}/{u:uuid}")
def typed(n: int, u: uuid.UUID):
    return {"n": n, "u": str(u)}


def _links(request: Request) -> dict[str, str]:
    return {
        "item": str(request.url_for("read_item", item_id=5)),
        "named": str(request.url_for("custom-name")),
        "files": str(request.url_for("files", file_path="a/b c.txt")),
        "typed": str(request.url_for("typed", n=3, u=uuid.UUID(int=1))),
        "docs": str(request.url_for("swagger_ui_html")),
        "openapi": str(request.url_for("openapi")),
        "base_url": str(request.base_url),
    }


@app.get("/links")
def links(request: Request):
    return {
        **_links(request),
        "path_for": app.url_path_for("read_item", item_id=7),
        "router_path_for": router.url_path_for("read_item", item_id=8),
        "app_router_path_for": app.router.url_path_for("files", file_path="x/y"),
    }


@app.get("/missing")
def missing(request: Request):
    try:
        request.url_for("read_item", wrong=1)
    except Exception as exc:  # noqa: BLE001 - the class and message are compared
        return {"error": type(exc).__name__, "message": str(exc)}
    return {"error": None}


rooted = FastAPI(root_path="/prefix")
rooted.include_router(router)


@rooted.get("/links")
def rooted_links(request: Request):
    return {
        "item": str(request.url_for("read_item", item_id=1)),
        "base_url": str(request.base_url),
        "openapi": str(request.url_for("openapi")),
    }
