"""``GZipMiddleware``: configured with Starlette's arguments, run natively by the Rust core."""

from __future__ import annotations

from typing import Any

DEFAULT_EXCLUDED_CONTENT_TYPES = (
    "application/grpc",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "audio/*",
    "font/woff",
    "font/woff2",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/event-stream",
    "video/*",
)


class GZipMiddleware:
    native = "gzip"

    def __init__(
        self,
        app: Any = None,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = 128 * 1024,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        # Starlette compresses large bodies in a thread; here compression never holds the GIL.
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = [c.partition(";")[0].strip().lower() for c in exclude_content_types]
