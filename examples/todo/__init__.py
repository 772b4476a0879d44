"""A small todo service with users: routers, dependencies, OAuth2 security, middleware,
OpenAPI tags, a WebSocket and TestClient tests. Run it with ``python -m examples.todo``."""
