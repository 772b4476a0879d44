"""fastapi-limiter 0.2 on unchanged FastAPI apps: ``RateLimiter`` is a callable-instance dependency (in-memory
pyrate-limiter) that finds its route by walking ``request.app.routes``.

``app_with_router`` adds an ``include_router``: on FastAPI 0.165 every limited request then fails with a 500,
because the ``_IncludedRouter`` entry in ``app.routes`` has no ``path`` (an upstream incompatibility that a server
must reproduce, not hide)."""

from fastapi import APIRouter, Depends, FastAPI
from fastapi_limiter.decorators import skip_limiter
from fastapi_limiter.depends import RateLimiter
from pyrate_limiter import Duration, Limiter, Rate


def per_minute(limit: int) -> RateLimiter:
    return RateLimiter(limiter=Limiter(Rate(limit, Duration.MINUTE)))


app = FastAPI()


@app.get("/", dependencies=[Depends(per_minute(2))])
async def index():
    return {"msg": "Hello World"}


@app.get("/skip", dependencies=[Depends(per_minute(1))])
@skip_limiter  # the limiter reads route.endpoint._skip_limiter
async def skip_route():
    return {"msg": "skipped"}


app_with_router = FastAPI()
router = APIRouter()


@app_with_router.get("/", dependencies=[Depends(per_minute(2))])
async def index_beside_router():
    return {"msg": "Hello World"}


@router.get("/plain")
async def plain():
    return {"msg": "no limiter here"}


app_with_router.include_router(router, prefix="/api")
