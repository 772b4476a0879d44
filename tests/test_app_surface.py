"""The application object's surface: names, decorators, routers and start-up errors."""

from __future__ import annotations

import httpx
import pytest

import fastrapi
from fastrapi import APIRouter, FastAPI, FastrAPI
from fastrapi.exceptions import FastAPIError


def test_fastrapi_is_fastapi() -> None:
    assert FastrAPI is FastAPI
    assert fastrapi.HTTPException is fastrapi.exceptions.HTTPException


def test_every_method_decorator_and_add_api_route(tmp_path, serve_app) -> None:  # type: ignore[no-untyped-def]
    server = serve_app("tests.apps.surface")
    with httpx.Client(base_url=server.url) as client:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"):
            response = client.request(method, "/m")
            assert response.json() == {"method": method}, method
        assert client.get("/added/5").json() == {"x": 5}
        assert client.get("/api/v1/users/7").json() == {"user": 7, "router": True}
        assert client.get("/api/v1/users/me/").status_code == 307
        assert client.head("/m").status_code == 405


def test_declaration_errors_fail_at_startup_with_a_clear_message() -> None:
    app = FastAPI()

    with pytest.raises(FastAPIError, match="path parameter"):

        @app.get("/p")
        def wrong_path(x: int = fastrapi.Path()) -> int:
            return x


def test_router_prefix_rules() -> None:
    with pytest.raises(FastAPIError):
        APIRouter(prefix="api")
    with pytest.raises(FastAPIError):
        APIRouter(prefix="/api/")
