//! One request through the app: route, extract, call, and write the response.

use std::borrow::Cow;
use std::net::SocketAddr;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use super::aio::{AsyncBridge, PendingTask, Started};
use super::app::{CompiledApp, RoutePlan};
use super::request::RequestData;
use crate::files::{FileAnswer, FileBody, RangeRequest};
use crate::http::parse::Method;
use crate::http::response::{status_allows_body, write_full, write_head_start, write_header, HeaderList, WriteOpts};
use crate::http::Head;
use crate::json::JsonEncoder;
use crate::middleware::{Layer, Rejection};
use crate::params::{self, latin1, RequestParts};
use crate::router::{decode_path, Lookup};

const JSON: &[u8] = b"application/json";

/// What the worker needs besides the app to answer a request.
pub struct CallContext<'a> {
    pub app: &'a CompiledApp,
    pub bridge: &'a AsyncBridge,
    /// The listener's address, for absolute redirect URLs when the client sent no Host.
    pub local_addr: SocketAddr,
    pub peer_addr: SocketAddr,
    /// Background tasks of responses written but not yet flushed; started after the flush.
    pub background: std::cell::RefCell<Vec<Py<PyAny>>>,
    /// The current request's body when it was spooled to a temporary file.
    pub spooled_body: std::cell::RefCell<Option<std::fs::File>>,
    /// The response just written answers an unhandled exception (outside the middleware).
    pub server_error: std::cell::Cell<bool>,
    /// A streaming response whose head was just written: its body is still to be sent.
    pub streaming: std::cell::RefCell<Option<Streaming>>,
    /// The current GET/HEAD request's `Range` and `If-Range`, for file responses.
    pub range_request: std::cell::RefCell<Option<RangeRequest>>,
    /// The connection's socket and whether its task still runs (for `is_disconnected()`).
    pub conn_fd: std::os::fd::RawFd,
    pub conn_open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Made on the first request handed to Python, then shared by the connection's requests.
    pub conn_state: std::cell::OnceCell<Py<super::request::ConnectionState>>,
}

impl CallContext<'_> {
    fn connection_state(&self, py: Python<'_>) -> PyResult<Py<super::request::ConnectionState>> {
        if let Some(state) = self.conn_state.get() {
            return Ok(state.clone_ref(py));
        }
        let state = Py::new(py, super::request::ConnectionState::new(self.conn_fd, self.conn_open.clone()))?;
        let _ = self.conn_state.set(state.clone_ref(py));
        Ok(state)
    }
}

/// A response body sent after its head, piece by piece as the socket takes it.
pub struct Streaming {
    source: Source,
    /// `Transfer-Encoding: chunked` framing (HTTP/1.1 without a Content-Length).
    pub chunked: bool,
    /// The body ends with the connection (HTTP/1.0).
    pub close_after: bool,
    http10: bool,
    /// Set by the GZip middleware: every chunk is compressed and flushed as it goes.
    gzip: Option<flate2::write::GzEncoder<Vec<u8>>>,
}

enum Source {
    /// A `StreamingResponse`'s (async) iterator.
    Python { iterator: Py<PyAny>, is_async: bool },
    /// A file (or ranges of one) read from disk.
    File(FileBody),
}

impl Streaming {
    /// The bytes to write for one piece of the body: compressed and framed as needed.
    pub fn encode(&mut self, data: &[u8]) -> Vec<u8> {
        match &mut self.gzip {
            Some(gzip) => {
                use std::io::Write;
                let compressed = gzip.write_all(data).and_then(|()| gzip.flush());
                if compressed.is_err() {
                    return Vec::new();
                }
                let data = std::mem::take(gzip.get_mut());
                self.frame(&data)
            }
            None => self.frame(data),
        }
    }

    /// The bytes that end the body (the gzip trailer, the last chunk).
    pub fn finish(&mut self) -> Vec<u8> {
        let mut tail = match &mut self.gzip {
            Some(gzip) => match gzip.try_finish() {
                Ok(()) => {
                    let data = std::mem::take(gzip.get_mut());
                    self.frame(&data)
                }
                Err(_) => Vec::new(),
            },
            None => Vec::new(),
        };
        if self.chunked {
            tail.extend_from_slice(b"0\r\n\r\n");
        }
        tail
    }

    /// The GZip middleware compresses this body: it loses its length, so it is sent chunked
    /// (or, to an HTTP/1.0 client, ended by closing the connection).
    pub fn compress(&mut self, level: u32, headers: &mut HeaderList) {
        self.gzip = Some(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level)));
        if !self.chunked {
            if self.http10 {
                headers.set("connection", b"close");
                self.close_after = true;
            } else {
                headers.set("transfer-encoding", b"chunked");
                self.chunked = true;
            }
        }
    }

    fn frame(&self, data: &[u8]) -> Vec<u8> {
        if !self.chunked || data.is_empty() {
            return data.to_vec();
        }
        let mut frame = Vec::with_capacity(data.len() + 16);
        frame.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        frame.extend_from_slice(data);
        frame.extend_from_slice(b"\r\n");
        frame
    }
}

/// The next piece of a streaming body.
pub enum Chunk {
    Data(Vec<u8>),
    End,
    /// The iterator awaits: wait for the task, then call [`pending_chunk`].
    Pending(PendingTask),
    /// The iterator raised or the file failed (already logged): the connection must be closed.
    Failed,
}

/// Asks a streaming body for its next chunk.
pub fn next_chunk(ctx: &CallContext, stream: &mut Streaming) -> Chunk {
    match &mut stream.source {
        Source::File(file) => match file.next_chunk() {
            Ok(Some(data)) => Chunk::Data(data),
            Ok(None) => Chunk::End,
            Err(e) => {
                log_error(&format!("sending a file failed: {e}"));
                Chunk::Failed
            }
        },
        Source::Python { iterator, is_async } => Python::attach(|py| {
            let iterator = iterator.bind(py);
            if *is_async {
                let started =
                    iterator.call_method0(pyo3::intern!(py, "__anext__")).and_then(|coro| ctx.bridge.start(py, coro));
                match started {
                    Ok(Started::Done(result)) => chunk_from(py, result, true),
                    Ok(Started::Pending(task)) => Chunk::Pending(task),
                    Err(e) => chunk_from(py, Err(e), true),
                }
            } else {
                chunk_from(py, iterator.call_method0(pyo3::intern!(py, "__next__")), false)
            }
        }),
    }
}

/// An exception from a streaming body whose head is already sent: logged with its traceback
/// (and handed to a test client, which re-raises it as Starlette's does).
fn report_stream_error(py: Python<'_>, error: PyErr) {
    let reported = py
        .import("fastrapi.applications")
        .and_then(|module| module.getattr("report_stream_error"))
        .and_then(|report| report.call1((error.value(py),)));
    if reported.is_err() {
        error.print(py);
    }
}

/// Logs on the `fastrapi.error` logger (where Python-side failures go too).
fn log_error(message: &str) {
    Python::attach(|py| {
        let logged = py
            .import("logging")
            .and_then(|logging| logging.call_method1("getLogger", ("fastrapi.error",)))
            .and_then(|logger| logger.call_method1("error", (message,)));
        if let Err(e) = logged {
            e.print(py);
        }
    })
}

/// The chunk a suspended `__anext__` produced.
pub fn pending_chunk(task: &PendingTask) -> Chunk {
    Python::attach(|py| chunk_from(py, task.task.bind(py).call_method0(pyo3::intern!(py, "result")), true))
}

fn chunk_from(py: Python<'_>, item: PyResult<Bound<'_, PyAny>>, is_async: bool) -> Chunk {
    match item {
        Ok(value) => {
            if let Ok(bytes) = value.cast::<PyBytes>() {
                return Chunk::Data(bytes.as_bytes().to_vec());
            }
            if let Ok(text) = value.cast::<pyo3::types::PyString>() {
                if let Ok(text) = text.to_str() {
                    return Chunk::Data(text.as_bytes().to_vec());
                }
            }
            match value.extract::<Vec<u8>>() {
                Ok(bytes) => Chunk::Data(bytes),
                Err(e) => {
                    report_stream_error(py, e);
                    Chunk::Failed
                }
            }
        }
        Err(e) => {
            let end = if is_async {
                e.is_instance_of::<pyo3::exceptions::PyStopAsyncIteration>(py)
            } else {
                e.is_instance_of::<pyo3::exceptions::PyStopIteration>(py)
            };
            if end {
                Chunk::End
            } else {
                // Headers are already sent: all that is left is to log and end the connection.
                report_stream_error(py, e);
                Chunk::Failed
            }
        }
    }
}

impl CallContext<'_> {
    /// Whether this request's route takes large bodies as a file (form and file uploads).
    pub fn spools(&self, head: &Head<'_>) -> bool {
        let path = decode_path(head.path);
        match self.app.router.lookup(&path, head.method, head.method_str) {
            Lookup::Found { route, .. } => self.app.routes[route].spool_body,
            _ => false,
        }
    }

    pub fn has_background(&self) -> bool {
        !self.background.borrow().is_empty()
    }

    /// Starts the background tasks of the responses just sent, on this core's loop.
    pub fn run_background(&self) {
        let tasks: Vec<Py<PyAny>> = self.background.borrow_mut().drain(..).collect();
        Python::attach(|py| {
            for task in tasks {
                let started =
                    self.app.hooks.run_background.bind(py).call1((task,)).and_then(|coro| self.bridge.start(py, coro));
                match started {
                    Ok(Started::Done(Err(e))) | Err(e) => e.print(py),
                    Ok(_) => {}
                }
            }
        })
    }
}

pub enum Outcome {
    /// The response is in the output buffer.
    Written,
    /// An `async def` endpoint suspended: await the task, then call [`finish_pending`].
    Pending(PendingCall),
}

pub struct PendingCall {
    pub task: PendingTask,
    /// `None` for a routing-error handler (its result is a `Response`).
    route: Option<usize>,
    /// With native middleware: what they need of the request on the way out.
    facts: Option<RequestFacts>,
}

/// Answers one request whose head and body are complete, through the app's native middleware.
pub fn handle(ctx: &CallContext, head: &Head<'_>, body: &[u8], out: &mut Vec<u8>, opts: &WriteOpts) -> Outcome {
    let layers = &ctx.app.middleware;
    if layers.is_empty() {
        return route_request(ctx, head, body, out, opts);
    }
    let mark = out.len();
    ctx.server_error.set(false);
    let opts = &layer_opts(ctx.app, opts);
    // Layers are entered outermost first; one may answer by itself, and the layers already
    // entered then see that answer on its way out.
    let mut entered = 0;
    let mut answered = false;
    for layer in layers {
        match layer {
            Layer::TrustedHost(trusted) => match trusted.check(head) {
                None => {}
                Some(Rejection::Redirect(url)) => {
                    let location = quote_location(&url);
                    write_full(out, 307, None, &[(b"location", location.as_bytes())], b"", opts);
                    answered = true;
                }
                Some(Rejection::Invalid) => {
                    let text = Some(&b"text/plain; charset=utf-8"[..]);
                    write_full(out, 400, text, &[], b"Invalid host header", opts);
                    answered = true;
                }
            },
            Layer::GZip(_) => {}
            Layer::HttpsRedirect => {
                match crate::middleware::https_url(head, ctx.local_addr) {
                    Some(url) => {
                        let location = quote_location(&url);
                        write_full(out, 307, None, &[(b"location", location.as_bytes())], b"", opts);
                    }
                    None => {
                        let text = Some(&b"text/plain; charset=utf-8"[..]);
                        write_full(out, 400, text, &[], b"Invalid host header", opts);
                    }
                }
                answered = true;
            }
            Layer::Cors(cors) => {
                if let Some(preflight) = cors.preflight(head) {
                    let headers: Vec<(&[u8], &[u8])> =
                        preflight.headers.0.iter().map(|(n, v)| (n.as_slice(), v.as_slice())).collect();
                    let text = Some(&b"text/plain; charset=utf-8"[..]);
                    write_full(out, preflight.status, text, &headers, &preflight.body, opts);
                    answered = true;
                }
            }
        }
        if answered {
            break;
        }
        entered += 1;
    }
    let facts = RequestFacts {
        origin: head.header("origin").map(<[u8]>::to_vec),
        accepts_gzip: head.header("accept-encoding").is_some_and(|v| v.windows(4).any(|w| w == b"gzip")),
    };
    if answered {
        leave_layers(ctx, &layers[..entered], &facts, out, mark);
        cut_head_body(out, mark, opts);
        return Outcome::Written;
    }
    match route_request(ctx, head, body, out, opts) {
        Outcome::Written => {
            leave_layers(ctx, layers, &facts, out, mark);
            cut_head_body(out, mark, opts);
            Outcome::Written
        }
        Outcome::Pending(mut pending) => {
            pending.facts = Some(facts);
            Outcome::Pending(pending)
        }
    }
}

/// HEAD requests through GZip write complete bodies, as Starlette's middleware sees them
/// (the server drops them only on the wire): `Content-Encoding` and the length then match.
fn layer_opts<'a>(app: &CompiledApp, opts: &WriteOpts<'a>) -> WriteOpts<'a> {
    let mut opts = *opts;
    opts.body_for_layers = opts.head_only && app.has_gzip;
    opts
}

/// Removes the body a HEAD response carried through the middleware.
fn cut_head_body(out: &mut Vec<u8>, mark: usize, opts: &WriteOpts) {
    if opts.body_for_layers {
        if let Some(end) = crate::http::response::head_end(out, mark) {
            out.truncate(end + 4);
        }
    }
}

/// What the native middleware needs of the request on the way out.
pub struct RequestFacts {
    origin: Option<Vec<u8>>,
    accepts_gzip: bool,
}

/// The way out through `layers` (innermost first) for the response written at `mark`;
/// a server error (500) passes none of them, as Starlette's outermost error middleware answers it.
fn leave_layers(ctx: &CallContext, layers: &[Layer], facts: &RequestFacts, out: &mut Vec<u8>, mark: usize) {
    if ctx.server_error.get() {
        return;
    }
    use crate::http::response::{head_end, head_has, insert_header, rewrite_head, rewrite_response};
    for layer in layers.iter().rev() {
        let Some(end) = head_end(out, mark) else {
            return;
        };
        match layer {
            Layer::Cors(cors) => {
                let origin = facts.origin.as_deref();
                if origin.is_none() && !head_has(out, mark, end, b"vary") {
                    // The common case, a request without Origin: only `Vary: Origin` is added.
                    insert_header(out, end, b"vary", b"Origin");
                } else {
                    rewrite_head(out, mark, |headers| cors.apply(origin, headers));
                }
            }
            Layer::GZip(gzip) => {
                let mut streaming = ctx.streaming.borrow_mut();
                if let Some(stream) = streaming.as_mut() {
                    rewrite_response(out, mark, |status, headers, _| {
                        if gzip.apply_streaming(facts.accepts_gzip, status, headers) {
                            stream.compress(gzip.level(), headers);
                        }
                    });
                } else if out.len() - (end + 4) >= gzip.minimum_size() {
                    // A small body is left untouched (so is the missing body of a HEAD file answer).
                    rewrite_response(out, mark, |status, headers, body| {
                        gzip.apply(facts.accepts_gzip, status, headers, body)
                    });
                }
            }
            Layer::TrustedHost(_) | Layer::HttpsRedirect => {}
        }
    }
}

fn route_request(ctx: &CallContext, head: &Head<'_>, body: &[u8], out: &mut Vec<u8>, opts: &WriteOpts) -> Outcome {
    let path = decode_path(head.path);
    match ctx.app.router.lookup(&path, head.method, head.method_str) {
        Lookup::Found { route, params } => {
            let get_or_head = matches!(head.method, Method::Get | Method::Head);
            let range = head.headers.iter().find(|h| h.name.len() == 5 && h.name.eq_ignore_ascii_case("range"));
            *ctx.range_request.borrow_mut() = range.filter(|_| get_or_head).map(|range| RangeRequest {
                range: Some(range.value.to_vec()),
                if_range: head.header("if-range").map(<[u8]>::to_vec),
            });
            if let Some(dir) = ctx.app.routes[route].static_dir.as_ref().filter(|_| get_or_head) {
                let rest = params.first().map_or("", |(_, value)| value.as_ref());
                if serve_static(ctx, dir, rest, head, out, opts) {
                    return Outcome::Written;
                }
            }
            Python::attach(|py| call_route(py, ctx, route, &params, &path, head, body, out, opts))
        }
        Lookup::MethodNotAllowed { route } => {
            let allow = ctx.app.router.allow_header(route);
            if ctx.app.hooks.routing_error.is_some() {
                return routing_error_in_python(ctx, 405, Some(allow), head, &path, body, out, opts);
            }
            write_full(
                out,
                405,
                Some(JSON),
                &[(b"allow", allow.as_bytes())],
                br#"{"detail":"Method Not Allowed"}"#,
                opts,
            );
            Outcome::Written
        }
        Lookup::NotFound => {
            if let Some(location) = slash_redirect(ctx, head, &path) {
                if ctx.app.hooks.routing_error.is_some() {
                    // Starlette's router answers inside the middleware: `http` middleware sees it.
                    return routing_error_in_python(ctx, 307, Some(&location), head, &path, body, out, opts);
                }
                write_full(out, 307, None, &[(b"location", location.as_bytes())], b"", opts);
            } else if ctx.app.hooks.routing_error.is_some() {
                return routing_error_in_python(ctx, 404, None, head, &path, body, out, opts);
            } else {
                write_full(out, 404, Some(JSON), &[], br#"{"detail":"Not Found"}"#, opts);
            }
            Outcome::Written
        }
    }
}

/// A 404/405 (or slash redirect, 307) for an app whose handlers or `http` middleware must see it.
#[allow(clippy::too_many_arguments)]
fn routing_error_in_python(
    ctx: &CallContext,
    status: u16,
    allow: Option<&str>,
    head: &Head<'_>,
    path: &str,
    body: &[u8],
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) -> Outcome {
    Python::attach(|py| {
        let started = (|| {
            let hook = ctx.app.hooks.routing_error.as_ref().map(|h| h.bind(py).clone());
            let hook = hook.ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no routing hook"))?;
            let body = PyBytes::new(py, body);
            let connection = Some(ctx.connection_state(py)?);
            let data =
                RequestData::new(py, head, path, &body, &[], &[], ctx.peer_addr, ctx.local_addr, None, connection)?;
            let coro = hook.call1((status, allow, data))?;
            ctx.bridge.start(py, coro)
        })();
        match started {
            Ok(Started::Done(result)) => finish_response(py, ctx, result, out, opts),
            Ok(Started::Pending(task)) => return Outcome::Pending(PendingCall { task, route: None, facts: None }),
            Err(e) => write_exception(py, ctx, e, out, opts),
        }
        Outcome::Written
    })
}

/// Writes a result that must already be a `Response` (routing-error handlers).
fn finish_response(
    py: Python<'_>,
    ctx: &CallContext,
    result: PyResult<Bound<'_, PyAny>>,
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) {
    let written = result.and_then(|value| {
        if value.is_instance(ctx.app.hooks.response_class.bind(py))? {
            write_py_response(py, ctx, &value, out, opts)
        } else {
            Err(pyo3::exceptions::PyTypeError::new_err("an exception handler must return a Response"))
        }
    });
    if let Err(e) = written {
        write_exception(py, ctx, e, out, opts);
    }
}

/// Starlette's `redirect_slashes`: the same path with the trailing slash toggled, if it routes.
fn slash_redirect(ctx: &CallContext, head: &Head<'_>, path: &str) -> Option<String> {
    if !ctx.app.redirect_slashes || path == "/" {
        return None;
    }
    let toggled: Cow<str> =
        if path.ends_with('/') { Cow::Borrowed(path.trim_end_matches('/')) } else { Cow::Owned(format!("{path}/")) };
    if !ctx.app.router.path_matches(&toggled) {
        return None;
    }
    let mut url = match head.header("host") {
        Some(host) => format!("http://{}{}", latin1(host), toggled),
        None => match ctx.local_addr {
            SocketAddr::V4(a) if a.port() == 80 => format!("http://{}{}", a.ip(), toggled),
            SocketAddr::V6(a) if a.port() == 80 => format!("http://[{}]{}", a.ip(), toggled),
            a => format!("http://{a}{toggled}"),
        },
    };
    if !head.query.is_empty() {
        url.push('?');
        url.push_str(head.query);
    }
    Some(quote_location(&url))
}

/// `urllib.parse.quote(url, safe=":/%#?=@[]!$&'()*+,;")`, as `RedirectResponse` does.
fn quote_location(url: &str) -> String {
    const SAFE: &[u8] = b":/%#?=@[]!$&'()*+,;_.-~";
    let mut out = String::with_capacity(url.len());
    for &b in url.as_bytes() {
        if b.is_ascii_alphanumeric() || SAFE.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn call_route(
    py: Python<'_>,
    ctx: &CallContext,
    route: usize,
    path_params: &[(usize, Cow<'_, str>)],
    decoded_path: &str,
    head: &Head<'_>,
    body: &[u8],
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) -> Outcome {
    let plan = &ctx.app.routes[route];
    let result = match &plan.solver {
        Some(solver) => solve_in_python(py, ctx, plan, solver, path_params, decoded_path, head, body).map(Some),
        None => prepare_and_call(py, ctx, plan, path_params, head, body, out, opts),
    };
    let result = match result {
        Ok(Some(r)) => r,
        Ok(None) => return Outcome::Written,
        Err(e) => {
            write_exception(py, ctx, e, out, opts);
            return Outcome::Written;
        }
    };
    if plan.is_async || plan.solver.is_some() {
        match ctx.bridge.start(py, result) {
            Ok(Started::Done(r)) => finish(py, ctx, plan, r, out, opts),
            Ok(Started::Pending(task)) => {
                return Outcome::Pending(PendingCall { task, route: Some(route), facts: None })
            }
            Err(e) => write_exception(py, ctx, e, out, opts),
        }
    } else {
        finish(py, ctx, plan, Ok(result), out, opts);
    }
    Outcome::Written
}

/// Hands the whole request to the route's Python solver; returns its coroutine.
#[allow(clippy::too_many_arguments)]
fn solve_in_python<'py>(
    py: Python<'py>,
    ctx: &CallContext,
    plan: &RoutePlan,
    solver: &Py<PyAny>,
    path_params: &[(usize, Cow<'_, str>)],
    decoded_path: &str,
    head: &Head<'_>,
    body: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let body = PyBytes::new(py, body);
    let body_fd = match ctx.spooled_body.borrow().as_ref() {
        // Python gets its own descriptor; ours is closed when the request is done.
        Some(file) => {
            use std::os::fd::AsRawFd;
            // SAFETY: dup of a descriptor we own; Python takes ownership of the copy.
            let fd = unsafe { libc::dup(file.as_raw_fd()) };
            if fd < 0 {
                return Err(crate::errors::FastrapiError::Io(std::io::Error::last_os_error()).into());
            }
            Some(fd)
        }
        None => None,
    };
    let data = RequestData::new(
        py,
        head,
        decoded_path,
        &body,
        path_params,
        &plan.path_param_names,
        ctx.peer_addr,
        ctx.local_addr,
        body_fd,
        Some(ctx.connection_state(py)?),
    )?;
    solver.bind(py).call1((data,))
}

/// Extracts parameters and calls the endpoint. `Ok(None)`: a 422 was written instead.
#[allow(clippy::too_many_arguments)]
fn prepare_and_call<'py>(
    py: Python<'py>,
    ctx: &CallContext,
    plan: &RoutePlan,
    path_params: &[(usize, Cow<'_, str>)],
    head: &Head<'_>,
    body: &[u8],
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let kwargs = PyDict::new(py);
    let mut errors = Vec::new();
    let parts = RequestParts { path_params, query: head.query, headers: head.headers };
    params::extract(py, &plan.params, &parts, &kwargs, &mut errors)?;
    let mut body_obj = None;
    if let Some(decoder) = &plan.body {
        let content_type = head.header("content-type").map(latin1);
        let raw = PyBytes::new(py, body);
        let decoded = decoder.bind(py).call1((&raw, content_type))?;
        let decoded = decoded.cast_into::<PyTuple>().map_err(PyErr::from)?;
        let ok: bool = decoded.get_item(0)?.extract()?;
        let payload = decoded.get_item(1)?;
        if ok {
            kwargs.update(payload.cast::<pyo3::types::PyMapping>().map_err(PyErr::from)?)?;
        } else {
            for err in payload.try_iter()? {
                errors.push(err?);
            }
        }
        body_obj = Some(raw);
    }
    if !errors.is_empty() {
        let errors = PyList::new(py, errors)?;
        let response = ctx.app.hooks.validation_error.bind(py).call1((errors, body_obj))?;
        write_py_response(py, ctx, &response, out, opts)?;
        return Ok(None);
    }
    plan.endpoint.bind(py).call((), Some(&kwargs)).map(Some)
}

/// Writes the response for a finished endpoint call (its value or its exception).
fn finish(
    py: Python<'_>,
    ctx: &CallContext,
    plan: &RoutePlan,
    result: PyResult<Bound<'_, PyAny>>,
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) {
    let rendered = result.and_then(|value| render(py, ctx, plan, &value, out, opts));
    if let Err(e) = rendered {
        write_exception(py, ctx, e, out, opts);
    }
}

/// Completes a call whose task suspended, once the task is done.
pub fn finish_pending(ctx: &CallContext, pending: PendingCall, out: &mut Vec<u8>, opts: &WriteOpts) {
    let mark = out.len();
    ctx.server_error.set(false);
    let opts = &if pending.facts.is_some() { layer_opts(ctx.app, opts) } else { *opts };
    Python::attach(|py| {
        let result = pending.task.task.bind(py).call_method0(pyo3::intern!(py, "result"));
        match pending.route {
            Some(route) => finish(py, ctx, &ctx.app.routes[route], result, out, opts),
            None => finish_response(py, ctx, result, out, opts),
        }
    });
    if let Some(facts) = &pending.facts {
        leave_layers(ctx, &ctx.app.middleware, facts, out, mark);
        cut_head_body(out, mark, opts);
    }
}

fn render(
    py: Python<'_>,
    ctx: &CallContext,
    plan: &RoutePlan,
    value: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) -> PyResult<()> {
    let hooks = &ctx.app.hooks;
    if value.is_instance(hooks.response_class.bind(py))? {
        return write_py_response(py, ctx, value, out, opts);
    }
    let serialized;
    let value = match &plan.serialize {
        Some(serialize) => {
            serialized = serialize.bind(py).call1((value,))?;
            if serialized.is_instance(hooks.response_class.bind(py))? {
                return write_py_response(py, ctx, &serialized, out, opts);
            }
            if let Ok(bytes) = serialized.cast::<PyBytes>() {
                // Already JSON (pydantic's dump_json for a response_model).
                write_full(out, plan.status_code, Some(JSON), &[], bytes.as_bytes(), opts);
                return Ok(());
            }
            &serialized
        }
        None => value,
    };
    let fallback = hooks.jsonable.bind(py);
    JSON_SCRATCH.with(|scratch| {
        let mut body = scratch.take();
        body.clear();
        let encoded = JsonEncoder::new(Some(fallback)).encode(value, &mut body);
        if encoded.is_ok() {
            write_full(out, plan.status_code, Some(JSON), &[], &body, opts);
        }
        scratch.replace(body);
        encoded
    })
}

thread_local! {
    static JSON_SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(4096));
}

/// Writes a `fastrapi.responses.Response`: its status, raw headers and body, verbatim.
fn write_py_response(
    py: Python<'_>,
    ctx: &CallContext,
    response: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) -> PyResult<()> {
    let status: u16 = response.getattr(pyo3::intern!(py, "status_code"))?.extract()?;
    let file = response.getattr(pyo3::intern!(py, "_fastrapi_file"))?;
    if !file.is_none() {
        write_py_file(py, ctx, response, &file, status, out, opts)?;
    } else {
        let body = response.getattr(pyo3::intern!(py, "body"))?;
        let body = body.cast::<PyBytes>().map_err(PyErr::from)?;
        let headers = response.getattr(pyo3::intern!(py, "raw_headers"))?;
        let mut source = None;
        let iterator = response.getattr(pyo3::intern!(py, "body_iterator")).ok().filter(|i| !i.is_none());
        if let Some(iterator) = iterator.filter(|_| !opts.head_only && status_allows_body(status)) {
            let is_async = iterator.hasattr(pyo3::intern!(py, "__aiter__"))?;
            let iterator = if is_async {
                iterator.call_method0(pyo3::intern!(py, "__aiter__"))?
            } else {
                iterator.call_method0(pyo3::intern!(py, "__iter__"))?
            };
            source = Some(Source::Python { iterator: iterator.unbind(), is_async });
        }
        match source {
            Some(source) => begin_stream(ctx, status, &header_list(&headers)?, source, out, opts),
            None => {
                // The common case: headers go straight from Python's list into the output.
                let mark = out.len();
                write_head_start(out, status, opts);
                for pair in headers.try_iter()? {
                    let pair = pair.and_then(|pair| {
                        // `(bytes, bytes)` tuples, as `init_headers` makes them; anything else
                        // pair-like is converted.
                        if let Ok(tuple) = pair.cast::<PyTuple>() {
                            if let (Ok(name), Ok(value)) = (tuple.get_item(0), tuple.get_item(1)) {
                                if let (Ok(name), Ok(value)) = (name.cast::<PyBytes>(), value.cast::<PyBytes>()) {
                                    write_header(out, name.as_bytes(), value.as_bytes());
                                    return Ok(());
                                }
                            }
                        }
                        let (name, value): (Vec<u8>, Vec<u8>) = pair.extract()?;
                        write_header(out, &name, &value);
                        Ok(())
                    });
                    if let Err(e) = pair {
                        out.truncate(mark);
                        return Err(e);
                    }
                }
                out.extend_from_slice(b"\r\n");
                if opts.writes_body(status) {
                    out.extend_from_slice(body.as_bytes());
                }
            }
        }
    }
    if response.getattr(pyo3::intern!(py, "_fastrapi_server_error")).is_ok_and(|v| v.is_truthy().unwrap_or(false)) {
        ctx.server_error.set(true);
    }
    if let Ok(background) = response.getattr(pyo3::intern!(py, "background")) {
        if !background.is_none() {
            if let Some(expect) = &ctx.app.hooks.expect_background {
                expect.bind(py).call1((&background,))?;
            }
            ctx.background.borrow_mut().push(background.unbind());
        }
    }
    Ok(())
}

/// A response's `raw_headers` as a list Rust can edit.
fn header_list(headers: &Bound<'_, PyAny>) -> PyResult<HeaderList> {
    let mut list = HeaderList::default();
    for pair in headers.try_iter()? {
        let (name, value): (Vec<u8>, Vec<u8>) = pair?.extract()?;
        list.0.push((name, value));
    }
    Ok(list)
}

/// A complete response from its parts (the body is left out for HEAD and bodiless statuses).
fn write_whole(out: &mut Vec<u8>, status: u16, headers: &HeaderList, body: Option<&[u8]>, opts: &WriteOpts) {
    write_head_start(out, status, opts);
    headers.write(out);
    out.extend_from_slice(b"\r\n");
    if let Some(body) = body.filter(|_| !opts.head_only && status_allows_body(status)) {
        out.extend_from_slice(body);
    }
}

/// Writes the head of a streamed response and leaves its body for the connection to send.
fn begin_stream(
    ctx: &CallContext,
    status: u16,
    headers: &HeaderList,
    source: Source,
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) {
    let has_length = !headers.get_all("content-length").is_empty();
    let mut opts = *opts;
    // An HTTP/1.0 client without a length learns where the body ends when the connection does.
    let close_after = opts.http10 && !has_length;
    if close_after {
        opts.close = true;
        opts.http10_keep_alive = false;
    }
    let chunked = !has_length && !opts.http10;
    write_head_start(out, status, &opts);
    headers.write(out);
    if chunked {
        write_header(out, b"transfer-encoding", b"chunked");
    }
    out.extend_from_slice(b"\r\n");
    *ctx.streaming.borrow_mut() = Some(Streaming { source, chunked, close_after, http10: opts.http10, gzip: None });
}

/// A `FileResponse`: Python settles its headers, Rust reads the file (and honours `Range`).
fn write_py_file(
    py: Python<'_>,
    ctx: &CallContext,
    response: &Bound<'_, PyAny>,
    path: &Bound<'_, PyAny>,
    status: u16,
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) -> PyResult<()> {
    // Stats the file when the response was built without `stat_result`, raising as Starlette does.
    response.call_method0(pyo3::intern!(py, "_fastrapi_prepare"))?;
    let headers = header_list(&response.getattr(pyo3::intern!(py, "raw_headers"))?)?;
    let path: std::path::PathBuf = path.extract()?;
    let opened = std::fs::File::open(&path).and_then(|file| Ok((file.metadata()?.len(), file)));
    let (size, file) = opened.map_err(|e| {
        pyo3::exceptions::PyRuntimeError::new_err(format!("File at path {} can not be read: {e}", path.display()))
    })?;
    let range = ctx.range_request.borrow().clone();
    let answer = crate::files::answer(file, size, status, headers, range.as_ref(), opts.head_only)?;
    write_file_answer(ctx, answer, out, opts);
    Ok(())
}

fn write_file_answer(ctx: &CallContext, answer: FileAnswer, out: &mut Vec<u8>, opts: &WriteOpts) {
    match answer {
        FileAnswer::Refused { status, headers, body } => {
            let headers: Vec<(&[u8], &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_slice())).collect();
            write_full(out, status, Some(b"text/plain; charset=utf-8"), &headers, body.as_bytes(), opts);
        }
        FileAnswer::Whole { status, headers, body } => write_whole(out, status, &headers, body.as_deref(), opts),
        FileAnswer::Stream { status, headers, body } if !opts.head_only => {
            begin_stream(ctx, status, &headers, Source::File(body), out, opts);
        }
        FileAnswer::Stream { status, headers, .. } => write_whole(out, status, &headers, None, opts),
    }
}

/// The Rust path of a `StaticFiles` mount; `false` when Python must answer instead.
fn serve_static(
    ctx: &CallContext,
    dir: &crate::files::static_files::StaticDir,
    rest: &str,
    head: &Head<'_>,
    out: &mut Vec<u8>,
    opts: &WriteOpts,
) -> bool {
    use crate::files::static_files::Lookup as StaticLookup;
    match dir.lookup(rest, head) {
        StaticLookup::Decline => false,
        StaticLookup::NotModified(headers) => {
            write_whole(out, 304, &headers, None, opts);
            true
        }
        StaticLookup::Found(found) => {
            let range = ctx.range_request.borrow().clone();
            match crate::files::answer(found.file, found.size, 200, found.headers, range.as_ref(), opts.head_only) {
                Ok(answer) => {
                    write_file_answer(ctx, answer, out, opts);
                    true
                }
                Err(_) => false,
            }
        }
    }
}

/// Hands an exception to the app's handlers; anything unhandled becomes the prebuilt 500.
fn write_exception(py: Python<'_>, ctx: &CallContext, err: PyErr, out: &mut Vec<u8>, opts: &WriteOpts) {
    let mark = out.len();
    match ctx.app.hooks.handle_exception.bind(py).call1((err.value(py),)) {
        Ok(response) if !response.is_none() => {
            if let Err(e) = write_py_response(py, ctx, &response, out, opts) {
                e.print(py);
                out.truncate(mark);
                ctx.server_error.set(true);
                write_internal_error(out, opts);
            }
        }
        Ok(_) => {
            ctx.server_error.set(true);
            write_internal_error(out, opts);
        }
        Err(e) => {
            e.print(py);
            ctx.server_error.set(true);
            write_internal_error(out, opts);
        }
    }
}

pub fn write_internal_error(out: &mut Vec<u8>, opts: &WriteOpts) {
    write_full(out, 500, Some(b"text/plain; charset=utf-8"), &[], b"Internal Server Error", opts);
}
