"""FastAPI's application class, plus ``serve()``.

``fastrapi.FastAPI`` is a subclass of ``fastapi.FastAPI`` that adds nothing but :meth:`serve`:
an app made from it is a FastAPI app in every respect (and an ASGI app other servers can run).
``fastrapi.serve(app)`` and ``fastrapi run`` serve a plain ``fastapi.FastAPI`` the same way.
"""

from __future__ import annotations

from typing import Any

import fastapi
from fastapi.applications import *  # noqa: F403  (this module stands for FastAPI's)


class FastAPI(fastapi.FastAPI):  # type: ignore[no-redef]
    """FastAPI's ``FastAPI`` with :meth:`serve`. ``FastrAPI`` is the same class."""

    def serve(self, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
        """Serve the app on ``host:port`` until SIGINT/SIGTERM (see ``fastrapi._server.serve``)."""
        from fastrapi._server import serve

        serve(self, host=host, port=port, **options)


FastrAPI = FastAPI
