"""The README's example: `python examples/hello.py`, then open http://127.0.0.1:8000/hello."""

from fastrapi import FastAPI

app = FastAPI()


@app.get("/hello")
def hello():
    return {"Hello": "World"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


if __name__ == "__main__":
    app.serve(host="127.0.0.1", port=8000)
