"""File responses, Range requests and StaticFiles served from disk, under FastAPI and fastrapi
(APP_FRAMEWORK). FILES_GZIP=1 adds GZipMiddleware.

The files are written to one fixed directory with fixed modification times, so that both
servers (separate processes) compute the same ETag and Last-Modified.
"""

import importlib
import os
import tempfile

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
_prefix = "starlette" if fw.__name__ == "fastapi" else "fastrapi"
StaticFiles = importlib.import_module(f"{_prefix}.staticfiles").StaticFiles
GZipMiddleware = importlib.import_module(f"{fw.__name__}.middleware.gzip").GZipMiddleware
responses = importlib.import_module(f"{fw.__name__}.responses")

ROOT = os.path.join(tempfile.gettempdir(), "fastrapi-files-test")
MTIME_NS = 1_700_000_000_250_000_000
CONTENTS = {
    "big.txt": b"".join(b"line %06d\n" % i for i in range(20_000)),  # 220 kB: streamed
    "small.txt": b"0123456789abcdefghijklmnopqrstuvwxyz\n" * 40,  # 1.5 kB: one body
    "tiny.txt": b"hello\n",
    "exact.bin": bytes(range(256)) * 256,  # exactly 64 KiB
    "data.unknownext": b"\x00\x01binary",
    "archive.tar.gz": b"not really gzip",
    "page.HTML": b"<p>upper-case extension</p>",
    "empty.txt": b"",
    "sub/nested.css": b"body { color: red; }\n" * 30,
}


def _write_files() -> None:
    for name, content in CONTENTS.items():
        path = os.path.join(ROOT, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, "rb") as f:
                same = f.read() == content
        except OSError:
            same = False
        if not same:
            with open(path + f".{os.getpid()}", "wb") as f:
                f.write(content)
            os.replace(path + f".{os.getpid()}", path)
        os.utime(path, ns=(MTIME_NS, MTIME_NS))


_write_files()

app = fw.FastAPI()
if os.environ.get("FILES_GZIP"):
    app.add_middleware(GZipMiddleware, minimum_size=100)
app.mount("/static", StaticFiles(directory=ROOT), name="static")


@app.get("/file/{name}")
def file(name: str):
    return responses.FileResponse(os.path.join(ROOT, name))


@app.get("/download")
def download():
    return responses.FileResponse(os.path.join(ROOT, "small.txt"), filename="report café.txt")


@app.get("/file-created")
def file_created():
    return responses.FileResponse(os.path.join(ROOT, "small.txt"), status_code=201)


@app.post("/file-post")
def file_post():
    return responses.FileResponse(os.path.join(ROOT, "small.txt"))


@app.get("/file-stat")
def file_stat():
    path = os.path.join(ROOT, "big.txt")
    return responses.FileResponse(path, stat_result=os.stat(path), media_type="text/csv")


@app.get("/file-missing")
def file_missing():
    return responses.FileResponse(os.path.join(ROOT, "nope.txt"))


@app.get("/json")
def json_body():
    return {"items": [{"id": i, "name": f"item {i}"} for i in range(50)]}


@app.get("/stream")
def stream():
    def chunks():
        for i in range(50):
            yield f"chunk {i:03d} " * 20 + "\n"

    return responses.StreamingResponse(chunks(), media_type="text/plain")


@app.get("/stream-image")
def stream_image():
    return responses.StreamingResponse(iter([b"\x89PNG" * 200]), media_type="image/png")
