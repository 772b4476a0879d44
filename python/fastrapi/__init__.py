"""fastrapi: FastAPI applications on a Rust, io_uring, thread-per-core server.

Change ``from fastapi import FastAPI`` to ``from fastrapi import FastAPI`` and call
``app.serve()``.
"""

from __future__ import annotations

from typing import Any

from fastrapi import status as status
from fastrapi.applications import FastAPI as FastAPI
from fastrapi.applications import FastrAPI as FastrAPI
from fastrapi.background import BackgroundTasks as BackgroundTasks
from fastrapi.datastructures import UploadFile as UploadFile
from fastrapi.exceptions import HTTPException as HTTPException
from fastrapi.exceptions import WebSocketException as WebSocketException
from fastrapi.param_functions import Body as Body
from fastrapi.param_functions import Cookie as Cookie
from fastrapi.param_functions import Depends as Depends
from fastrapi.param_functions import File as File
from fastrapi.param_functions import Form as Form
from fastrapi.param_functions import Header as Header
from fastrapi.param_functions import Path as Path
from fastrapi.param_functions import Query as Query
from fastrapi.param_functions import Security as Security
from fastrapi.requests import Request as Request
from fastrapi.responses import Response as Response
from fastrapi.routing import APIRouter as APIRouter
from fastrapi.websockets import WebSocket as WebSocket
from fastrapi.websockets import WebSocketDisconnect as WebSocketDisconnect

__version__ = "0.1.0"


def serve(app: Any, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve ``app`` — a fastrapi app, or any ASGI 3 application (Starlette, FastAPI, a bare
    ``async def app(scope, receive, send)``) — until SIGINT/SIGTERM. Options as ``FastAPI.serve``."""
    from fastrapi._server import serve as serve_app

    serve_app(app, host=host, port=port, **options)
