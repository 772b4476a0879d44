"""Dependency trees served natively (fastrapi._dependencies), under FastAPI and fastrapi (APP_FRAMEWORK):
order of dependency calls against validation errors, one parameter name in two dependencies,
security classes, `yield` dependencies still open while the response is serialised, context
variables set and reset by an async `yield` dependency, custom response classes."""

import contextvars
import importlib
import os
from typing import Annotated

from pydantic import BaseModel, ConfigDict

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, Depends, HTTPException, Query, Header = fw.FastAPI, fw.Depends, fw.HTTPException, fw.Query, fw.Header
responses = importlib.import_module(f"{fw.__name__}.responses")
security = importlib.import_module(f"{fw.__name__}.security")
Request = importlib.import_module(f"{fw.__name__}.requests").Request

app = FastAPI()
LOG: list[str] = []
current_user: contextvars.ContextVar[str] = contextvars.ContextVar("current_user", default="nobody")


def authenticated(authorization: Annotated[str | None, Header()] = None) -> str:
    LOG.append("authenticated")
    if authorization != "Bearer good":
        raise HTTPException(status_code=401, detail="no", headers={"WWW-Authenticate": "Bearer"})
    return "alice"


@app.get("/auth-then-query")
def auth_then_query(user: Annotated[str, Depends(authenticated)], n: int):
    """Under FastAPI the dependency runs (and may answer 401) before `n` is validated."""
    return {"user": user, "n": n}


def by_int(q: Annotated[int, Query()] = 0) -> int:
    return q * 2


def by_str(q: Annotated[str, Query(min_length=1)] = "-") -> str:
    return q + "!"


@app.get("/same-name")
def same_name(a: Annotated[int, Depends(by_int)], b: Annotated[str, Depends(by_str)], q: str = "own"):
    return {"a": a, "b": b, "q": q}


oauth2 = security.OAuth2PasswordBearer(tokenUrl="token")
api_key = security.APIKeyHeader(name="x-key", auto_error=False)
bearer = security.HTTPBearer()


@app.get("/oauth")
async def oauth(token: Annotated[str, Depends(oauth2)], key: Annotated[str | None, Depends(api_key)]):
    return {"token": token, "key": key}


@app.get("/bearer")
def bearer_route(credentials: Annotated[security.HTTPAuthorizationCredentials, Depends(bearer)]):
    return {"scheme": credentials.scheme, "credentials": credentials.credentials}


class Session:
    def __init__(self) -> None:
        self.open = True


class Row:
    """An ORM-like object: reading it needs its session still open."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def name(self) -> str:
        if not self.session.open:
            raise RuntimeError("session closed before the response was serialised")
        return "row"


class RowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str


def get_session():
    session = Session()
    LOG.append("session-open")
    try:
        yield session
    finally:
        session.open = False
        LOG.append("session-closed")


@app.get("/row", response_model=RowOut)
def read_row(session: Annotated[Session, Depends(get_session)]):
    return Row(session)


@app.get("/row-async", response_model=RowOut)
async def read_row_async(session: Annotated[Session, Depends(get_session, scope="function")]):
    return Row(session)


async def as_user(x_user: Annotated[str, Header()] = "bob"):
    token = current_user.set(x_user)
    try:
        yield x_user
    finally:
        current_user.reset(token)  # raises if exited in another context


@app.get("/context")
async def context_route(user: Annotated[str, Depends(as_user)]):
    return {"user": user, "var": current_user.get()}


@app.get("/html", response_class=responses.HTMLResponse)
def html(user: Annotated[str, Depends(as_user)]):
    return f"<b>{user}</b>"


@app.get("/plain", response_class=responses.PlainTextResponse)
def plain(n: int = 1):
    return "x" * n


def level(n: int = 1):
    LOG.append(f"level-{n}")
    return n


def middle(a: Annotated[int, Depends(level)], b: Annotated[int, Depends(level, use_cache=False)]):
    return a + b


@app.get("/diamond")
def diamond(
    m1: Annotated[int, Depends(middle)], m2: Annotated[int, Depends(middle)], x: Annotated[int, Depends(level)]
):
    return {"m1": m1, "m2": m2, "x": x}


class Paginator:
    def __init__(self, limit: Annotated[int, Query(ge=1, le=50)] = 10, offset: int = 0) -> None:
        self.limit, self.offset = limit, offset


@app.get("/page", dependencies=[Depends(level)])
async def page(p: Annotated[Paginator, Depends()], request: Request):
    return {"limit": p.limit, "offset": p.offset, "path": request.url.path, "q": request.query_params.get("n")}


@app.get("/log")
def log():
    out = list(LOG)
    LOG.clear()
    return out


Form, Body = fw.Form, fw.Body


@app.post("/token")
def token(form: Annotated[security.OAuth2PasswordRequestForm, Depends()], remember: Annotated[bool, Form()] = False):
    return {"user": form.username, "scopes": form.scopes, "remember": remember}


def note(note: Annotated[str, Body(embed=True)]) -> str:
    return note.upper()


@app.post("/noted")
def noted(loud: Annotated[str, Depends(note)], count: Annotated[int, Body()] = 1):
    return {"loud": loud, "count": count}


async def held_resource():
    """A resource held while a response streams; what it saw when it was released."""
    try:
        yield "held"
    except BaseException as exc:
        LOG.append(f"released-after-{type(exc).__name__}")
        raise
    else:
        LOG.append("released")


@app.get("/endless")
async def endless(resource: Annotated[str, Depends(held_resource)]):
    import asyncio

    async def chunks():
        while True:
            yield b"x" * 65536
            await asyncio.sleep(0)

    return responses.StreamingResponse(chunks(), media_type="application/octet-stream")
