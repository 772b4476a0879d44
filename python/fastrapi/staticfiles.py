"""``StaticFiles``: a directory served under a mount, with Starlette's rules.

Paths are normalised and resolved, and anything outside the directory (``..``, encoded
``%2e%2e``, symlinks pointing out) is a 404. Files stream from disk (``FileResponse``).
"""

from __future__ import annotations

import errno
import os
import stat
from email.utils import parsedate
from typing import Any

from fastrapi.datastructures import Headers
from fastrapi.exceptions import HTTPException
from fastrapi.responses import FileResponse, RedirectResponse, Response


class NotModifiedResponse(Response):
    NOT_MODIFIED_HEADERS = ("cache-control", "content-location", "date", "etag", "expires", "vary")

    def __init__(self, headers: Headers) -> None:
        super().__init__(
            status_code=304,
            headers={name: value for name, value in headers.items() if name in self.NOT_MODIFIED_HEADERS},
        )


class StaticFiles:
    def __init__(
        self,
        *,
        directory: str | os.PathLike[str] | None = None,
        packages: Any = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlink: bool = False,
    ) -> None:
        if packages:
            raise NotImplementedError("StaticFiles(packages=...) is not supported by this version of fastrapi yet")
        if directory is None:
            raise ValueError("StaticFiles needs a directory")
        self.directory = directory
        self.all_directories = [directory]
        self.html = html
        self.follow_symlink = follow_symlink
        if check_dir and not os.path.isdir(directory):
            raise RuntimeError(f"Directory '{directory}' does not exist")

    async def handle(self, request: Any, route_path: str) -> Response:
        path = os.path.normpath(os.path.join(*("/" + route_path).split("/")))
        if request.method not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        try:
            full_path, stat_result = self.lookup_path(path)
        except PermissionError:
            raise HTTPException(status_code=401) from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise HTTPException(status_code=404) from None
            raise
        except ValueError:
            raise HTTPException(status_code=404) from None
        if stat_result and stat.S_ISREG(stat_result.st_mode):
            return self.file_response(full_path, stat_result, request)
        if stat_result and stat.S_ISDIR(stat_result.st_mode) and self.html:
            full_path, stat_result = self.lookup_path(os.path.join(path, "index.html"))
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                if not request.url.path.endswith("/"):
                    return RedirectResponse(url=str(request.url.replace(path=request.url.path + "/")))
                return self.file_response(full_path, stat_result, request)
        if self.html:
            full_path, stat_result = self.lookup_path("404.html")
            if stat_result and stat.S_ISREG(stat_result.st_mode):
                return FileResponse(full_path, stat_result=stat_result, status_code=404)
        raise HTTPException(status_code=404)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if path.startswith(("/", "\\")):
            return "", None
        for directory in self.all_directories:
            joined = os.path.join(directory, path)
            if self.follow_symlink:
                full_path, root = os.path.abspath(joined), os.path.abspath(directory)
            else:
                full_path, root = os.path.realpath(joined), os.path.realpath(directory)
            if os.path.commonpath([full_path, root]) != str(root):
                continue  # outside the directory
            try:
                return full_path, os.stat(full_path)
            except (FileNotFoundError, NotADirectoryError):
                continue
        return "", None

    def file_response(self, full_path: str, stat_result: os.stat_result, request: Any) -> Response:
        response = FileResponse(full_path, stat_result=stat_result)
        if self.is_not_modified(response.headers, request.headers):
            return NotModifiedResponse(response.headers)
        return response

    @staticmethod
    def is_not_modified(response_headers: Headers, request_headers: Headers) -> bool:
        if if_none_match := request_headers.get("if-none-match"):
            if if_none_match.strip() == "*":
                return True
            etag = response_headers["etag"]
            return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        try:
            if_modified_since = parsedate(request_headers["if-modified-since"])
            last_modified = parsedate(response_headers["last-modified"])
            if if_modified_since is not None and last_modified is not None and if_modified_since >= last_modified:
                return True
        except KeyError:
            pass
        return False
