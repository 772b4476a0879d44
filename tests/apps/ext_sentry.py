"""sentry-sdk on an unchanged FastAPI app. ``sentry_sdk.init()`` patches Starlette and FastAPI (``Starlette.__call__``,
``Middleware.__init__``, ``ExceptionMiddleware.__init__``, ``fastapi.routing.get_request_handler``); events and
transactions go to a local transport and are read back from ``GET /_sentry/events``."""

import json

import sentry_sdk
from fastapi import APIRouter, FastAPI, HTTPException, Response
from sentry_sdk.transport import Transport

EVENTS_PATH = "/_sentry/events"
captured: list[dict] = []


class CapturingTransport(Transport):
    """Keeps what would be sent to Sentry (errors and transactions) in this process."""

    def capture_envelope(self, envelope):
        captured.extend(item.payload.json for item in envelope.items if item.type in ("event", "transaction"))


# Before the app is created, as Sentry documents: routes built earlier keep the unpatched request handler.
sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", transport=CapturingTransport, traces_sample_rate=1.0)
app = FastAPI()
router = APIRouter()


@app.get("/boom")
async def boom():
    return 1 / 0


@app.post("/orders")
async def create_order(order: dict):  # sentry's handler wrapper attaches the JSON body to the event
    raise RuntimeError(f"cannot place order {order['id']}")


@app.get("/items/{item_id}")
def read_item(item_id: int):
    if item_id == 503:
        raise HTTPException(status_code=503, detail="down")
    return {"item_id": item_id}


@router.get("/users/{user_id}")
async def read_user(user_id: str):
    return {"user_id": user_id}


app.include_router(router, prefix="/api")


@app.get(EVENTS_PATH)
def captured_events():
    return Response(json.dumps(captured, default=str), media_type="application/json")
