"""slowapi on an unchanged FastAPI app: ``@limiter.limit`` (needs a Starlette ``Request`` parameter, writes
headers into the injected ``Response``), default limits through ``SlowAPIMiddleware`` (a BaseHTTPMiddleware),
``RateLimitExceeded`` answered by the app's exception handler."""

from fastapi import APIRouter, FastAPI, Request, Response
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.middleware import SlowAPIMiddleware
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=["3/minute"], headers_enabled=True)
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]  # as documented
app.add_middleware(SlowAPIMiddleware)
router = APIRouter()


@app.get("/limited")
@limiter.limit("2/minute")
async def limited(request: Request, response: Response):
    return {"ok": True}


@app.get("/default")
def default_limited(request: Request):
    return {"ok": True}


@router.get("/routed")
def routed():  # exempt from the default limit: slowapi cannot see routes inside FastAPI's _IncludedRouter
    return {"ok": True}


app.include_router(router, prefix="/api")
