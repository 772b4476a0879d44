"""fastapi-pagination on an unchanged FastAPI app: ``add_pagination()`` appends a dependency to each ``Page`` route's
``dependant`` and rebuilds ``route.app``, now and again in a lifespan it wraps (for routes added later)."""

from fastapi import APIRouter, FastAPI
from fastapi_pagination import Page, add_pagination, paginate
from fastapi_pagination.utils import disable_installed_extensions_check
from pydantic import BaseModel


class User(BaseModel):
    id: int
    name: str


disable_installed_extensions_check()  # silences the warning that SQLAlchemy is installed
USERS = [User(id=i, name=f"user{i}") for i in range(1, 101)]
app = FastAPI()
router = APIRouter()


@app.get("/users")
async def list_users() -> Page[User]:
    return paginate(USERS)


@router.get("/users-sync")
def list_users_sync() -> Page[User]:  # thread pool: the ContextVars the async dependency set must be copied
    return paginate(USERS)


app.include_router(router, prefix="/api")
add_pagination(app)


@app.get("/late")
async def late() -> Page[User]:  # registered after add_pagination(): only its lifespan pass wires it up
    return paginate(USERS)
