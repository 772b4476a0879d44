"""fastrapi: FastAPI applications on a Rust, io_uring, thread-per-core runtime.

``fastrapi run main:app`` serves an unchanged FastAPI (or any ASGI) app; so does
``fastrapi.serve(app)``. ``from fastrapi import FastAPI`` is FastAPI's own class plus ``serve()``,
and every other ``fastrapi.*`` name is FastAPI's or Starlette's own object (see ``_alias``).
"""

from __future__ import annotations

from typing import Any

from fastapi import BackgroundTasks as BackgroundTasks
from fastapi import Body as Body
from fastapi import Cookie as Cookie
from fastapi import Depends as Depends
from fastapi import File as File
from fastapi import Form as Form
from fastapi import Header as Header
from fastapi import HTTPException as HTTPException
from fastapi import Path as Path
from fastapi import Query as Query
from fastapi import Request as Request
from fastapi import Response as Response
from fastapi import Security as Security
from fastapi import UploadFile as UploadFile
from fastapi import WebSocket as WebSocket
from fastapi import WebSocketDisconnect as WebSocketDisconnect
from fastapi import WebSocketException as WebSocketException
from fastapi import status as status
from fastapi.routing import APIRouter as APIRouter

from fastrapi import _alias

_alias.install()

from fastrapi.applications import FastAPI as FastAPI  # noqa: E402
from fastrapi.applications import FastrAPI as FastrAPI  # noqa: E402

__version__ = "0.1.0"


def serve(app: Any, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve ``app`` — a FastAPI app (``fastapi.FastAPI`` or ``fastrapi.FastAPI``), or any ASGI 3
    application — until SIGINT/SIGTERM. Options as ``FastAPI.serve``."""
    from fastrapi._server import serve as serve_app

    serve_app(app, host=host, port=port, **options)
