"""StaticFiles mounts, under FastAPI and fastrapi (APP_FRAMEWORK)."""

import importlib
import os

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
_static = "starlette.staticfiles" if fw.__name__ == "fastapi" else "fastrapi.staticfiles"
StaticFiles = importlib.import_module(_static).StaticFiles
ROOT = os.path.join(os.path.dirname(__file__), "static_root")

app = fw.FastAPI()
app.mount("/static", StaticFiles(directory=ROOT), name="static")
app.mount("/site", StaticFiles(directory=ROOT, html=True), name="site")


@app.get("/api")
def api():
    return {"api": True}
