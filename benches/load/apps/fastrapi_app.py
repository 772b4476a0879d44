"""fastrapi app for the load benchmark: the same endpoints as fastapi_app.py.

    python fastrapi_app.py PORT [io_uring|epoll|auto]

`app.serve` blocks until SIGTERM/SIGINT; workers=1 runs in-process.
"""

import os
import sys

from pydantic import BaseModel

from fastrapi import Depends, FastAPI

app = FastAPI()

if os.environ.get("FASTRAPI_BENCH_MIDDLEWARE"):
    # The middleware benchmark: the usual trio, configured as a production app would.
    from fastrapi.middleware.cors import CORSMiddleware
    from fastrapi.middleware.gzip import GZipMiddleware
    from fastrapi.middleware.trustedhost import TrustedHostMiddleware

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"], allow_methods=["*"])


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


if __name__ == "__main__":
    app.serve(
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=1,
        driver=sys.argv[2] if len(sys.argv) > 2 else "auto",
    )
