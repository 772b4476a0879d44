"""fastrapi app for the load benchmark: the same endpoints as fastapi_app.py.

    python fastrapi_app.py PORT [io_uring|epoll|auto]

`app.serve` blocks until SIGTERM/SIGINT; workers=1 runs in-process.
"""

import sys

from pydantic import BaseModel

from fastrapi import FastAPI

app = FastAPI()


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


if __name__ == "__main__":
    app.serve(
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=1,
        driver=sys.argv[2] if len(sys.argv) > 2 else "auto",
    )
