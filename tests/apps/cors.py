"""CORS configurations, under FastAPI and fastrapi (APP_FRAMEWORK)."""

import importlib
import os

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
CORSMiddleware = importlib.import_module(f"{fw.__name__}.middleware.cors").CORSMiddleware


def make(**options):  # type: ignore[no-untyped-def]
    app = fw.FastAPI()
    app.add_middleware(CORSMiddleware, **options)

    @app.get("/data")
    def data():  # type: ignore[no-untyped-def]
        return {"data": 1}

    @app.post("/data")
    def post_data(payload: dict):  # type: ignore[no-untyped-def]
        return payload

    @app.get("/vary")
    def vary():  # type: ignore[no-untyped-def]
        from importlib import import_module

        responses = import_module(f"{fw.__name__}.responses")
        return responses.JSONResponse({"v": 1}, headers={"Vary": "Accept-Encoding"})

    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    @app.get("/missing")
    def missing():  # type: ignore[no-untyped-def]
        raise fw.HTTPException(status_code=404, detail="nope")

    return app


specific = make(allow_origins=["https://a.example"], allow_methods=["GET", "POST"], allow_headers=["X-Token"],
                expose_headers=["X-Exposed"], max_age=100)
wildcard = make(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
credentials = make(allow_origins=["*"], allow_credentials=True, allow_methods=["*"], allow_headers=["*"])
regex = make(allow_origin_regex=r"https://.*\.example\.org", allow_private_network=True)


def make_trusted(**options):  # type: ignore[no-untyped-def]
    trusted = importlib.import_module(f"{fw.__name__}.middleware.trustedhost").TrustedHostMiddleware
    app = fw.FastAPI()
    app.add_middleware(trusted, **options)
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"])

    @app.get("/data")
    def data():  # type: ignore[no-untyped-def]
        return {"data": 1}

    return app


trusted = make_trusted(allowed_hosts=["example.com", "*.example.org", "www.redirect.com"])


def make_gzip(**options):  # type: ignore[no-untyped-def]
    gzip_mw = importlib.import_module(f"{fw.__name__}.middleware.gzip").GZipMiddleware
    responses = importlib.import_module(f"{fw.__name__}.responses")
    app = fw.FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"])
    app.add_middleware(gzip_mw, **options)

    @app.get("/big")
    def big():  # type: ignore[no-untyped-def]
        return {"text": "fastrapi " * 200}

    @app.get("/small")
    def small():  # type: ignore[no-untyped-def]
        return {"text": "tiny"}

    @app.get("/png")
    def png():  # type: ignore[no-untyped-def]
        return responses.Response(b"\x89PNG" * 300, media_type="image/png")

    @app.get("/encoded")
    def encoded():  # type: ignore[no-untyped-def]
        return responses.Response(b"x" * 1000, headers={"Content-Encoding": "br"})

    @app.get("/vary")
    def vary():  # type: ignore[no-untyped-def]
        return responses.PlainTextResponse("v" * 1000, headers={"Vary": "Origin"})

    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    return app


gzipped = make_gzip(minimum_size=100, compresslevel=6)


def make_https():  # type: ignore[no-untyped-def]
    module = "starlette.middleware.httpsredirect" if fw.__name__ == "fastapi" else "fastrapi.middleware.httpsredirect"
    app = fw.FastAPI()
    app.add_middleware(importlib.import_module(module).HTTPSRedirectMiddleware)

    @app.get("/data")
    def data():  # type: ignore[no-untyped-def]
        return {"data": 1}

    return app


https = make_https()
