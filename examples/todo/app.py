"""The todo service: ``python -m examples.todo`` serves it, ``/docs`` shows its API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastrapi import FastAPI
from fastrapi.middleware.cors import CORSMiddleware
from fastrapi.middleware.gzip import GZipMiddleware

from .database import create_tables, engine
from .routers import auth, todos, users

tags_metadata = [
    {"name": "auth", "description": "Exchange a username and password for a bearer token (OAuth2 password flow)."},
    {"name": "users", "description": "Register, and read your own account."},
    {"name": "todos", "description": "Your todo list: filter, page, create, update, delete, watch."},
    {"name": "meta", "description": "Service health."},
]



@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    create_tables(engine)  # in each worker process: the database may be new
    yield
    engine.dispose()


app = FastAPI(
    lifespan=lifespan,
    title="Todo API",
    version="1.0.0",
    summary="Todos with users: an example fastrapi service.",
    openapi_tags=tags_metadata,
)

app.add_middleware(GZipMiddleware, minimum_size=1000)
app.add_middleware(
    CORSMiddleware,
    allow_origins=["http://localhost:3000"],  # a front-end in development
    allow_methods=["*"],
    allow_headers=["*"],
    expose_headers=["X-Total-Count", "Location"],
)

app.include_router(auth.router)
app.include_router(users.router)
app.include_router(todos.router)


@app.get("/health", tags=["meta"])
async def health() -> dict[str, str]:
    return {"status": "ok"}
