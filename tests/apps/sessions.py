"""SessionMiddleware, under FastAPI and fastrapi (APP_FRAMEWORK), with the same secret."""

import importlib
import os

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
_sessions = "starlette.middleware.sessions" if fw.__name__ == "fastapi" else "fastrapi.middleware.sessions"
SessionMiddleware = importlib.import_module(_sessions).SessionMiddleware

app = fw.FastAPI()
app.add_middleware(SessionMiddleware, secret_key="shared-secret", max_age=3600)


@app.post("/login/{user}")
def login(user: str, request: fw.Request):
    request.session["user"] = user
    request.session["items"] = [1, "two", {"n": None}]
    return {"ok": True}


@app.get("/me")
def me(request: fw.Request):
    return {"session": dict(request.session)}


@app.post("/logout")
def logout(request: fw.Request):
    request.session.clear()
    return {"ok": True}


@app.get("/untouched")
def untouched():
    return {"untouched": True}
