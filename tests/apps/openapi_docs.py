"""Custom documentation URLs and Swagger UI settings; `disabled` and `no_pages` variants; an
app whose `openapi()` is replaced (the FastAPI "extending OpenAPI" recipe)."""

import importlib
import os

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI = fw.FastAPI
get_openapi = importlib.import_module(f"{fw.__name__}.openapi.utils").get_openapi

app = FastAPI(
    title="Docs",
    openapi_url="/api/schema.json",
    docs_url="/api/docs",
    redoc_url="/api/redoc",
    swagger_ui_oauth2_redirect_url="/api/docs/redirect",
    swagger_ui_parameters={"syntaxHighlight": False, "deepLinking": False, "defaultModelsExpandDepth": -1},
    swagger_ui_init_oauth={"clientId": "my-client", "appName": "<Docs & co>"},
)


@app.get("/items/{item_id}")
def read_item(item_id: int):
    return {"item_id": item_id}


disabled = FastAPI(openapi_url=None)


@disabled.get("/ping")
def disabled_ping():
    return {"ok": True}


no_pages = FastAPI(docs_url=None, redoc_url=None)


@no_pages.get("/ping")
def no_pages_ping():
    return {"ok": True}


custom = FastAPI()


@custom.get("/items/")
async def read_items():
    return [{"name": "Foo"}]


def custom_openapi():  # type: ignore[no-untyped-def]
    if custom.openapi_schema:
        return custom.openapi_schema
    schema = get_openapi(
        title="Custom title",
        version="2.5.0",
        summary="This is a very custom OpenAPI schema",
        description="Here's a longer description of the custom **OpenAPI** schema",
        routes=custom.routes,
    )
    schema["info"]["x-logo"] = {"url": "https://fastapi.tiangolo.com/img/logo-margin/logo-teal.png"}
    custom.openapi_schema = schema
    return custom.openapi_schema


custom.openapi = custom_openapi  # type: ignore[method-assign]
