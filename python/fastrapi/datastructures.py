"""Header and query containers with Starlette's semantics (case-insensitive, multi-valued)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class DefaultPlaceholder(Generic[T]):
    """Marks a value that was not set by the user, so that a router default may apply."""

    def __init__(self, value: T) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DefaultPlaceholder) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("DefaultPlaceholder", repr(self.value)))


def Default(value: T) -> T:  # noqa: N802 - FastAPI's name
    return DefaultPlaceholder(value)  # type: ignore[return-value]


class State:
    """An object to hang values on (``app.state.db = ...``, ``request.state.user = ...``)."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        super().__setattr__("_state", dict(state or {}))

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(f"'{self.__class__.__name__}' object has no attribute '{key}'") from None

    def __delattr__(self, key: str) -> None:
        del self._state[key]


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive multi-dict of headers (latin-1 bytes underneath)."""

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self._list: list[tuple[bytes, bytes]] = []
        if headers is not None:
            self._list = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        elif raw is not None:
            self._list = raw

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self._list

    def keys(self) -> list[str]:  # type: ignore[override]
        return [k.decode("latin-1") for k, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        return [v.decode("latin-1") for _, v in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._list]

    def getlist(self, key: str) -> list[str]:
        wanted = key.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self._list if k == wanted]

    def __getitem__(self, key: str) -> str:
        wanted = key.lower().encode("latin-1")
        for k, v in self._list:
            if k == wanted:
                return v.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        wanted = key.lower().encode("latin-1")
        return any(k == wanted for k, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and sorted(self._list) == sorted(other._list)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({dict(self.items())!r})"


class MutableHeaders(Headers, MutableMapping[str, str]):  # type: ignore[misc]
    def __setitem__(self, key: str, value: str) -> None:
        name = key.lower().encode("latin-1")
        encoded = value.encode("latin-1")
        found = [i for i, (k, _) in enumerate(self._list) if k == name]
        for i in reversed(found[1:]):
            del self._list[i]
        if found:
            self._list[found[0]] = (name, encoded)
        else:
            self._list.append((name, encoded))

    def __delitem__(self, key: str) -> None:
        name = key.lower().encode("latin-1")
        self._list[:] = [(k, v) for k, v in self._list if k != name]

    def setdefault(self, key: str, value: str) -> str:  # type: ignore[override]
        if key in self:
            return self[key]
        self[key] = value
        return value

    def append(self, key: str, value: str) -> None:
        self._list.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def update(self, other: Any = (), /, **kwargs: str) -> None:  # type: ignore[override]
        items = other.items() if isinstance(other, Mapping) else other
        for k, v in items:
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def add_vary_header(self, vary: str) -> None:
        existing = self.get("vary")
        if existing is not None:
            vary = ", ".join([existing, vary])
        self["vary"] = vary


class QueryParams(Mapping[str, str]):
    """Parsed query string: ``get`` returns the last value, ``getlist`` all of them."""

    def __init__(self, items: Sequence[tuple[str, str]] | str = ()) -> None:
        if isinstance(items, str):
            from urllib.parse import parse_qsl

            items = parse_qsl(items, keep_blank_values=True)
        self._list = list(items)
        self._dict = {k: v for k, v in self._list}

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._list)

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __str__(self) -> str:
        from urllib.parse import urlencode

        return urlencode(self.multi_items())

    def __repr__(self) -> str:
        return f"QueryParams({self._list!r})"


class UploadFile:
    """An uploaded file: spooled to a temporary file on disk above ``spool_max_size`` bytes."""

    spool_max_size = 1024 * 1024

    def __init__(
        self,
        file: Any,
        *,
        size: int | None = None,
        filename: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.filename = filename
        self.file = file
        self.size = size
        self.headers = headers or Headers()

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type", None)

    async def write(self, data: bytes) -> None:
        if self.size is not None:
            self.size += len(data)
        self.file.write(data)

    async def read(self, size: int = -1) -> bytes:
        return self.file.read(size)  # type: ignore[no-any-return]

    async def seek(self, offset: int) -> None:
        self.file.seek(offset)

    async def close(self) -> None:
        self.file.close()

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(filename={self.filename!r}, size={self.size!r}, headers={self.headers!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(cls._validate)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "contentMediaType": "application/octet-stream"}

    @classmethod
    def _validate(cls, value: Any) -> UploadFile:
        if not isinstance(value, UploadFile):
            raise ValueError(f"Expected UploadFile, received: {type(value)}")
        return value


class FormData(Mapping[str, "str | UploadFile"]):
    """Parsed form fields and files: ``get`` returns the last value, ``getlist`` all of them."""

    def __init__(self, items: Sequence[tuple[str, str | UploadFile]] = ()) -> None:
        self._list = list(items)
        self._dict = {k: v for k, v in self._list}

    def getlist(self, key: str) -> list[str | UploadFile]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, str | UploadFile]]:
        return list(self._list)

    def __getitem__(self, key: str) -> str | UploadFile:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    async def close(self) -> None:
        for _, value in self._list:
            if isinstance(value, UploadFile):
                await value.close()

    def __repr__(self) -> str:
        return f"FormData({self._list!r})"


class URLPath(str):
    """A path built by ``url_path_for``: a ``str``, plus the protocol/host it belongs to."""

    protocol: str
    host: str

    def __new__(cls, path: str, protocol: str = "", host: str = "") -> URLPath:
        assert protocol in ("http", "websocket", "")
        path = path.replace("\\", "%5C")
        if path.startswith("//"):  # would read as an authority
            path = "/%2F" + path[2:]
        return str.__new__(cls, path)

    def __init__(self, path: str, protocol: str = "", host: str = "") -> None:
        self.protocol = protocol
        self.host = host

    def make_absolute_url(self, base_url: Any) -> Any:
        """This path under ``base_url`` (a ``URL`` or a string), as a ``URL``."""
        from urllib.parse import urlsplit

        from fastrapi.requests import URL

        if isinstance(base_url, str):
            parts = urlsplit(base_url)
            base_url = URL(parts.scheme, parts.netloc, parts.path, parts.query)
        scheme = base_url.scheme
        if self.protocol:
            secure = base_url.scheme in ("https", "wss")
            scheme = {"http": ("http", "https"), "websocket": ("ws", "wss")}[self.protocol][secure]
        return URL(scheme, self.host or base_url.netloc, base_url.path.rstrip("/") + str(self), "")
