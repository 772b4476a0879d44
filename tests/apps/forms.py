"""Forms and files, under FastAPI and fastrapi (APP_FRAMEWORK)."""

import importlib
import os
from typing import Annotated

from pydantic import BaseModel

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, Form, File, UploadFile, Request = fw.FastAPI, fw.Form, fw.File, fw.UploadFile, fw.Request

app = FastAPI()


class Login(BaseModel):
    username: str
    password: str
    remember: bool = False


@app.post("/login")
def login(username: Annotated[str, Form()], password: Annotated[str, Form(min_length=3)]):
    return {"username": username, "password_len": len(password)}


@app.post("/optional-form")
def optional_form(note: Annotated[str | None, Form()] = None, count: Annotated[int, Form()] = 1):
    return {"note": note, "count": count}


@app.post("/form-model")
def form_model(data: Annotated[Login, Form()]):
    return data


@app.post("/form-list")
def form_list(tags: Annotated[list[str], Form()]):
    return {"tags": tags}


@app.post("/file-bytes")
def file_bytes(file: Annotated[bytes, File()]):
    return {"size": len(file)}


@app.post("/upload")
async def upload(file: UploadFile):
    content = await file.read()
    await file.seek(0)
    again = await file.read()
    return {"filename": file.filename, "type": file.content_type, "size": len(content), "same": content == again}


@app.post("/uploads")
async def uploads(files: list[UploadFile], label: Annotated[str, Form()] = "x"):
    return {"names": [f.filename for f in files], "label": label}


@app.post("/raw-form")
async def raw_form(request: Request):
    form = await request.form()
    return {k: (v if isinstance(v, str) else v.filename) for k, v in form.multi_items()}


@app.post("/upload-hash")
async def upload_hash(file: UploadFile, note: Annotated[str, Form()] = ""):
    import hashlib

    digest = hashlib.sha256()
    while chunk := await file.read(65536):
        digest.update(chunk)
    return {"sha256": digest.hexdigest(), "size": file.size, "note": note}


@app.post("/body-hash")
async def body_hash(request: Request):
    """Reads the whole body into memory (the control for the streaming upload)."""
    import hashlib

    body = await request.body()
    return {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
