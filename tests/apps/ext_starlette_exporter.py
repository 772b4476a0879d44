"""starlette-exporter on an unchanged FastAPI app: a pure ASGI middleware that reads ``scope["endpoint"]`` and
``scope["router"]`` from the scope dict after the app returns, and a Starlette ``/metrics`` route."""

from fastapi import APIRouter, FastAPI
from starlette_exporter import PrometheusMiddleware, handle_metrics

app = FastAPI()
app.add_middleware(PrometheusMiddleware)  # group_paths and filter_unhandled_paths are on by default
app.add_route("/metrics", handle_metrics)
router = APIRouter()


@app.get("/items/{item_id}")
def read_item(item_id: int):
    return {"item_id": item_id}


@router.get("/users/{user_id}")
async def read_user(user_id: str):
    return {"user_id": user_id}


app.include_router(router, prefix="/api")
