//! The typed response every producer returns (native route plans, static files, routing errors,
//! the middleware); it stays structured until the connection encodes it, once.

use std::borrow::Cow;

use pyo3::prelude::*;

use super::stream::Stream;
use crate::http::response::{encode_head, BodyKind, Framing, HeaderList, WriteOpts};

pub const JSON: &[u8] = b"application/json";
pub const TEXT: &[u8] = b"text/plain; charset=utf-8";

pub struct Response {
    pub status: u16,
    pub headers: HeaderList,
    pub body: Body,
    /// Work to start once the response is on the wire (a Starlette `BackgroundTask`).
    pub background: Option<Py<PyAny>>,
    /// Answered by the app's outermost error handling (Starlette's `ServerErrorMiddleware`),
    /// which no other middleware wraps: the native middleware leaves it as it is.
    pub server_error: bool,
}

pub enum Body {
    /// A complete body; its `content-length` is added when the headers lack one.
    Full(Vec<u8>),
    /// A complete body whose headers go out exactly as given (a Python `Response` sets its own
    /// `content-length`, or deliberately none).
    AsGiven(Vec<u8>),
    /// No body, and the headers go out exactly as given (e.g. a HEAD answer from a streaming
    /// response, which never starts its iterator).
    Omitted,
    Stream(Box<Stream>),
}

impl Response {
    pub fn new(status: u16, headers: HeaderList, body: Body) -> Response {
        Response { status, headers, body, background: None, server_error: false }
    }

    /// A complete response with `content_type` (and `extra` headers before it, as Starlette
    /// orders them).
    pub fn full(status: u16, content_type: Option<&'static [u8]>, extra: HeaderList, body: Vec<u8>) -> Response {
        let mut headers = extra;
        if let Some(content_type) = content_type {
            headers.0.push((Cow::Borrowed(b"content-type"), Cow::Borrowed(content_type)));
        }
        Response::new(status, headers, Body::Full(body))
    }

    pub fn json(status: u16, body: Vec<u8>) -> Response {
        Response::full(status, Some(JSON), HeaderList::default(), body)
    }

    /// A redirect with no body, as `RedirectResponse` makes it.
    pub fn redirect(status: u16, location: String) -> Response {
        let mut headers = HeaderList::default();
        headers.push(&b"location"[..], location.into_bytes());
        Response::new(status, headers, Body::Full(Vec::new()))
    }

    /// The prebuilt answer to an exception nothing handled.
    pub fn internal_error() -> Response {
        let mut response = Response::full(500, Some(TEXT), HeaderList::default(), b"Internal Server Error".to_vec());
        response.server_error = true;
        response
    }

    /// Writes the head; returns how the body must be framed.
    pub fn encode_head(&self, out: &mut Vec<u8>, opts: &WriteOpts) -> Framing {
        let kind = match &self.body {
            Body::Full(bytes) => BodyKind::Full(bytes.len()),
            Body::AsGiven(_) | Body::Omitted => BodyKind::Omitted,
            Body::Stream(_) => BodyKind::Streamed,
        };
        encode_head(out, self.status, &self.headers, kind, opts)
    }
}
