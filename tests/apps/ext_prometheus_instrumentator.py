"""prometheus-fastapi-instrumentator on an unchanged FastAPI app: a pure ASGI middleware that labels each
request by walking ``app.routes`` with ``route.matches()``, and a ``/metrics`` route (documented usage)."""

from fastapi import APIRouter, FastAPI
from prometheus_fastapi_instrumentator import Instrumentator

app = FastAPI()
router = APIRouter()


@app.get("/items/{item_id}")
def read_item(item_id: int):
    return {"item_id": item_id}


@router.get("/users/{user_id}")
async def read_user(user_id: str):
    return {"user_id": user_id}


app.include_router(router, prefix="/api")  # the prefixed path exists only in FastAPI's route contexts
Instrumentator().instrument(app).expose(app)
