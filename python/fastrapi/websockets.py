"""``WebSocket``: Starlette's API over a connection the Rust core owns.

The core thread reads and writes the socket (frames, pings, the close handshake); this class
keeps Starlette's state machine and ASGI-shaped messages, so code written for FastAPI's
``WebSocket`` behaves the same. Messages cross through ``fastrapi._fastrapi.WebSocketChannel``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from fastrapi.requests import Request


class WebSocketState(enum.Enum):
    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


class WebSocketDisconnect(Exception):
    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""


class WebSocketDisconnected(RuntimeError):
    """Using a WebSocket after it was disconnected."""


Message = dict[str, Any]


class WebSocket(Request):
    """One WebSocket connection (path, headers, query and cookies as on ``Request``)."""

    def __init__(self, data: Any, channel: Any, app: Any = None) -> None:
        super().__init__(data, app)
        self._channel = channel
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING

    @property
    def scope(self) -> dict[str, Any]:
        scope = super().scope
        scope["type"] = "websocket"
        scope["scheme"] = "ws"
        scope.pop("method", None)
        scope["subprotocols"] = self.subprotocols
        scope["extensions"] = {"websocket.http.response": {}}
        return scope

    @property
    def url(self) -> Any:
        return super().url.replace(scheme="ws")

    @property
    def subprotocols(self) -> list[str]:
        offered = self.headers.getlist("sec-websocket-protocol")
        return [p.strip() for value in offered for p in value.split(",") if p.strip()]

    # -- ASGI-shaped messages ---------------------------------------------------------------
    async def receive(self) -> Message:
        if self.client_state == WebSocketState.CONNECTING:
            # The upgrade request is the "connect" event; the core has already validated it.
            self.client_state = WebSocketState.CONNECTED
            return {"type": "websocket.connect"}
        if self.client_state == WebSocketState.CONNECTED:
            return await self._next_message()
        raise WebSocketDisconnected('Cannot call "receive" once a disconnect message has been received.')

    async def _next_message(self) -> Message:
        """The next ``websocket.receive``/``websocket.disconnect`` message from the server."""
        message = self._channel.receive()
        if not isinstance(message, dict):
            message = await message
        if message["type"] == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
        return message  # type: ignore[no-any-return]

    async def send(self, message: Message) -> None:
        kind = message["type"]
        state = self.application_state
        if state == WebSocketState.CONNECTING:
            if kind == "websocket.accept":
                self.application_state = WebSocketState.CONNECTED
                headers = [(bytes(n), bytes(v)) for n, v in message.get("headers") or []]
                self._channel.accept(message.get("subprotocol"), headers)
            elif kind == "websocket.close":
                self.application_state = WebSocketState.DISCONNECTED
                self._channel.close(message.get("code", 1000), message.get("reason") or "")
            elif kind == "websocket.http.response.start":
                self.application_state = WebSocketState.RESPONSE
                headers = [(bytes(n), bytes(v)) for n, v in message.get("headers") or []]
                self._channel.respond(message["status"], headers)
            else:
                raise RuntimeError(
                    'Expected ASGI message "websocket.accept", "websocket.close" or "websocket.http.response.start", '
                    f"but got {kind!r}"
                )
        elif state == WebSocketState.CONNECTED:
            if kind not in ("websocket.send", "websocket.close"):
                raise RuntimeError(f'Expected ASGI message "websocket.send" or "websocket.close", but got {kind!r}')
            if kind == "websocket.close":
                self.application_state = WebSocketState.DISCONNECTED
            try:
                if kind == "websocket.close":
                    self._channel.close(message.get("code", 1000), message.get("reason") or "")
                    return
                data = message.get("bytes")
                if data is not None:
                    full = self._channel.send_bytes(data)
                else:
                    full = self._channel.send_text(message["text"])
                if full:
                    # Back-pressure: wait until the socket has taken what is queued.
                    await self._channel.drained()
            except OSError:
                self.application_state = WebSocketState.DISCONNECTED
                raise WebSocketDisconnect(code=1006) from None
        elif state == WebSocketState.RESPONSE:
            if kind != "websocket.http.response.body":
                raise RuntimeError(f'Expected ASGI message "websocket.http.response.body", but got {kind!r}')
            more = bool(message.get("more_body", False))
            if not more:
                self.application_state = WebSocketState.DISCONNECTED
            self._channel.respond_body(message.get("body", b""), more)
        else:
            raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')

    # -- the API endpoints use ----------------------------------------------------------------
    async def accept(
        self, subprotocol: str | None = None, headers: Iterable[tuple[bytes, bytes]] | None = None
    ) -> None:
        if self.client_state == WebSocketState.CONNECTING:
            await self.receive()
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": list(headers or [])})

    def _check_connected(self) -> None:
        if self.application_state != WebSocketState.CONNECTED:
            raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')

    @staticmethod
    def _raise_on_disconnect(message: Message) -> None:
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))

    async def receive_text(self) -> str:
        self._check_connected()
        # The common case skips the generic state dispatch of `receive()`.
        message = await (self._next_message() if self.client_state == WebSocketState.CONNECTED else self.receive())
        self._raise_on_disconnect(message)
        return message["text"]  # type: ignore[no-any-return]

    async def receive_bytes(self) -> bytes:
        self._check_connected()
        message = await self.receive()
        self._raise_on_disconnect(message)
        return message["bytes"]  # type: ignore[no-any-return]

    async def receive_json(self, mode: str = "text") -> Any:
        if mode not in ("text", "binary"):
            raise RuntimeError('The "mode" argument should be "text" or "binary".')
        self._check_connected()
        message = await self.receive()
        self._raise_on_disconnect(message)
        text = message["text"] if mode == "text" else message["bytes"].decode("utf-8")
        return json.loads(text)

    async def iter_text(self) -> AsyncIterator[str]:
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        if self.application_state != WebSocketState.CONNECTED:
            await self.send({"type": "websocket.send", "text": data})  # the state errors
            return
        try:
            full = self._channel.send_text(data)
        except OSError:
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(code=1006) from None
        if full:
            await self._channel.drained()

    async def send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: str = "text") -> None:
        if mode not in ("text", "binary"):
            raise RuntimeError('The "mode" argument should be "text" or "binary".')
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": text})
        else:
            await self.send({"type": "websocket.send", "bytes": text.encode("utf-8")})

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: Any) -> None:
        """Refuses the handshake with an HTTP response (Starlette's denial response extension)."""
        await self.send({"type": "websocket.http.response.start", "status": response.status_code,
                         "headers": list(response.raw_headers)})
        await self.send({"type": "websocket.http.response.body", "body": response.body})


class WebSocketClose:
    """An ASGI-style app that closes the WebSocket (Starlette's name)."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    async def __call__(self, websocket: WebSocket) -> None:
        await websocket.close(self.code, self.reason)


__all__ = ["WebSocket", "WebSocketClose", "WebSocketDisconnect", "WebSocketDisconnected", "WebSocketState"]
