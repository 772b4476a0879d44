"""The application object's surface: names, decorators, routers and start-up errors."""

from __future__ import annotations

import httpx

from fastrapi import FastAPI, FastrAPI


def test_fastrapi_is_fastapi() -> None:
    """fastrapi's names are FastAPI's and Starlette's own objects; its FastAPI adds serve()."""
    import fastapi
    import fastapi.routing
    import starlette.requests
    import starlette.routing

    import fastrapi.exceptions
    import fastrapi.middleware.cors
    import fastrapi.requests
    import fastrapi.routing
    import fastrapi.security

    assert FastrAPI is FastAPI and issubclass(FastAPI, fastapi.FastAPI) and hasattr(FastAPI, "serve")
    assert fastrapi.HTTPException is fastapi.HTTPException is fastrapi.exceptions.HTTPException
    assert fastrapi.Request is starlette.requests.Request is fastrapi.requests.Request
    assert fastrapi.requests.HTTPConnection is starlette.requests.HTTPConnection
    assert fastrapi.routing.APIRoute is fastapi.routing.APIRoute
    assert fastrapi.routing.BaseRoute is starlette.routing.BaseRoute
    assert fastrapi.security is fastapi.security
    import starlette.middleware.cors

    assert fastrapi.middleware.cors.CORSMiddleware is starlette.middleware.cors.CORSMiddleware


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
