"""Every decorator, add_api_route and nested routers."""

from fastrapi import APIRouter, FastAPI

app = FastAPI()


def make(method: str):  # type: ignore[no-untyped-def]
    def endpoint():  # type: ignore[no-untyped-def]
        return {"method": method}

    return endpoint


app.get("/m")(make("GET"))
app.post("/m")(make("POST"))
app.put("/m")(make("PUT"))
app.patch("/m")(make("PATCH"))
app.delete("/m")(make("DELETE"))
app.options("/m")(make("OPTIONS"))
app.trace("/m")(make("TRACE"))


def added(x: int):  # type: ignore[no-untyped-def]
    return {"x": x}


app.add_api_route("/added/{x}", added, methods=["GET"])

users = APIRouter(prefix="/users")


@users.get("/{user_id}")
def user(user_id: int):  # type: ignore[no-untyped-def]
    return {"user": user_id, "router": True}


@users.get("/me")
def me():  # type: ignore[no-untyped-def]
    return {"user": "me"}


api = APIRouter()
api.include_router(users)
app.include_router(api, prefix="/api/v1")
