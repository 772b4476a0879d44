"""FastAPI reference app for the load benchmark (run by uvicorn).

    uvicorn fastapi_app:app --workers 1 --loop uvloop --http httptools --no-access-log --port N

Keep the endpoints identical to fastrapi_app.py. fastrapi serves this very file unchanged too
(run.py's fastrapi-run servers: `fastrapi.serve(fastapi_app.app)`).
"""

import os

from fastapi import Depends, FastAPI
from pydantic import BaseModel

app = FastAPI()

if os.environ.get("BENCH_EXCEPTION_HANDLER"):
    # An app with an exception handler of its own (a common production set-up).
    from fastapi.responses import JSONResponse

    @app.exception_handler(ValueError)
    async def value_error(request, exc):
        return JSONResponse({"detail": str(exc)}, status_code=400)


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/hello")
def hello():
    return {"Hello": "World"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/items")
def create_item(item: Item):
    return item


async def pagination(skip: int = 0, limit: int = 10) -> dict[str, int]:
    return {"skip": skip, "limit": limit}


@app.get("/page")
def page(params: dict[str, int] = Depends(pagination)):
    return params
