"""Form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Multipart parsing is python-multipart's; file parts are written to spooled temporary files.
"""

from __future__ import annotations

from tempfile import SpooledTemporaryFile
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

from fastrapi.datastructures import FormData, Headers, UploadFile


class MultiPartException(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _require_multipart() -> Any:
    try:
        import python_multipart
    except ImportError:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            'Form data requires "python-multipart" to be installed: pip install python-multipart'
        ) from None
    return python_multipart


def parse_options_header(value: str) -> tuple[bytes, dict[bytes, bytes]]:
    return _require_multipart().multipart.parse_options_header(value)  # type: ignore[no-any-return]


class _MultipartCollector:
    """Receives python-multipart's callbacks and builds the form items."""

    def __init__(self, max_files: int, max_fields: int, max_part_size: int) -> None:
        self.items: list[tuple[str, str | UploadFile]] = []
        self.max_files = max_files
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        self.files = 0
        self.fields = 0
        self._header_field = b""
        self._header_value = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._name = ""
        self._data = bytearray()
        self._file: UploadFile | None = None

    def on_part_begin(self) -> None:
        self._headers = []
        self._data = bytearray()
        self._file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers.append((self._header_field.lower(), self._header_value))
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition = next((v for k, v in self._headers if k == b"content-disposition"), None)
        if disposition is None:
            raise MultiPartException('Missing "Content-Disposition" header.')
        _, options = parse_options_header(disposition.decode("latin-1"))
        try:
            self._name = options[b"name"].decode("latin-1")
        except KeyError:
            raise MultiPartException('The Content-Disposition header field "name" must be provided.') from None
        if b"filename" in options:
            self.files += 1
            if self.files > self.max_files:
                raise MultiPartException(f"Too many files. Maximum number of files is {self.max_files}.")
            self._file = UploadFile(
                file=SpooledTemporaryFile(max_size=UploadFile.spool_max_size),  # noqa: SIM115
                size=0,
                filename=options[b"filename"].decode("utf-8", errors="replace"),
                headers=Headers(raw=list(self._headers)),
            )
        else:
            self.fields += 1
            if self.fields > self.max_fields:
                raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is None:
            if len(self._data) + len(chunk) > self.max_part_size:
                raise MultiPartException(f"Part exceeded maximum size of {self.max_part_size // 1024}KB.")
            self._data.extend(chunk)
        else:
            self._file.file.write(chunk)
            self._file.size = (self._file.size or 0) + len(chunk)

    def on_part_end(self) -> None:
        if self._file is None:
            self.items.append((self._name, self._data.decode("utf-8", errors="replace")))
        else:
            self._file.file.seek(0)
            self.items.append((self._name, self._file))


def parse_form(
    body: bytes | BinaryIO,
    content_type: str | None,
    *,
    max_files: int = 1000,
    max_fields: int = 1000,
    max_part_size: int = 1024 * 1024,
) -> FormData:
    """The form in ``body``; an empty form for any other content type (as Starlette)."""
    if not content_type:
        return FormData()
    media_type, options = parse_options_header(content_type)
    if media_type == b"application/x-www-form-urlencoded":
        raw = body if isinstance(body, bytes) else body.read()
        text = raw.decode("latin-1")
        return FormData(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"))
    if media_type != b"multipart/form-data":
        return FormData()
    boundary = options.get(b"boundary")
    if not boundary:
        raise MultiPartException("Missing boundary in multipart.")
    collector = _MultipartCollector(max_files, max_fields, max_part_size)
    callbacks = {
        "on_part_begin": collector.on_part_begin,
        "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end,
        "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value,
        "on_header_end": collector.on_header_end,
        "on_headers_finished": collector.on_headers_finished,
    }
    parser = _require_multipart().MultipartParser(boundary, callbacks)
    if isinstance(body, bytes):
        parser.write(body)
    else:  # a spooled upload: feed it in chunks, never all of it at once
        while chunk := body.read(64 * 1024):
            parser.write(chunk)
    parser.finalize()
    return FormData(collector.items)
