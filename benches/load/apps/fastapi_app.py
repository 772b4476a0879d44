"""FastAPI reference app for the load benchmark (run by uvicorn).

    uvicorn fastapi_app:app --workers 1 --loop uvloop --http httptools --no-access-log --port N

Keep the endpoints identical to fastrapi_app.py.
"""

from fastapi import FastAPI
from pydantic import BaseModel

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
