//! One connection: read, parse, answer, write — keep-alive, pipelining and body framing.
//! The connection lives and dies on the worker that accepted it.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use monoio::net::TcpStream;
use pyo3::Python;

use super::access_log::AccessEntry;
use super::asgi::{AsgiCall, Buffers, BODY_PIECE};
use super::io::{compact, read_more, send_continue, write_all, Read, READ_CHUNK};
use super::state::Worker;
use crate::asgi::scope::Peer;
use crate::asgi::{call_app, AppContext, AppRun, Exchange};
use crate::dispatch::{self, Body, CallContext, Chunk, Classified, Dispatched, Response, Stream};
use crate::http::body::{BodyReader, ChunkError, ChunkedDecoder};
use crate::http::response::{self, write_protocol_error, WriteOpts};
use crate::http::{header_storage, parse_head, Framing, HeadError, Method};
use crate::python::aio::AsyncBridge;

/// Pipelined responses are written once this much is buffered, even if more requests wait.
const WRITE_HIGH_WATER: usize = 64 * 1024;

/// Serves one accepted connection; `peer` is `None` for a Unix socket's.
pub async fn serve(worker: Rc<Worker>, stream: TcpStream, peer: Option<SocketAddr>) {
    worker.active.set(worker.active.get() + 1);
    let result = CatchUnwind(AssertUnwindSafe(connection(&worker, stream, peer))).await;
    worker.active.set(worker.active.get() - 1);
    if result.is_err() {
        eprintln!("fastrapi: a connection task panicked; that connection was closed, the worker goes on");
    }
}

/// What the loop must do next after looking at the buffered bytes.
enum Next {
    Answered {
        dispatched: Dispatched,
        consumed: usize,
        opts: OwnedOpts,
        /// What the access log says of the request, when it is on.
        logged: Option<AccessEntry>,
    },
    /// An ASGI app serves this request: its call has started.
    Asgi {
        call: AsgiCall,
        consumed: usize,
        opts: OwnedOpts,
    },
    ReadHead,
    ReadBody {
        total: usize,
        expect: bool,
    },
    /// Over `limit_concurrency`: uvicorn's 503, then the connection closes.
    Unavailable,
    /// A WebSocket upgrade: the connection becomes a WebSocket (or gets an HTTP refusal).
    Upgrade {
        upgrade: super::websocket::Upgrade,
        head_len: usize,
    },
    ReadChunked {
        head_len: usize,
        expect: bool,
    },
    Reject(HeadError),
}

/// `WriteOpts` without the borrow of the config, carried across an await.
#[derive(Clone, Copy)]
struct OwnedOpts {
    head_only: bool,
    close: bool,
    http10_keep_alive: bool,
    http10: bool,
}

impl OwnedOpts {
    fn of(head: &crate::http::Head<'_>, worker: &Worker) -> OwnedOpts {
        OwnedOpts {
            head_only: head.method == Method::Head,
            close: !head.keep_alive || worker.shutdown.is_stopped() || worker.shutdown.is_retiring(),
            http10_keep_alive: head.version == 0 && head.keep_alive,
            http10: head.version == 0,
        }
    }

    fn with_server<'a>(&self, server: Option<&'a [u8]>) -> WriteOpts<'a> {
        WriteOpts {
            head_only: self.head_only,
            close: self.close,
            http10_keep_alive: self.http10_keep_alive,
            server,
            http10: self.http10,
        }
    }
}

/// Clears the connection's "open" flag when the connection task ends (a local of `connection`,
/// so dropped — and the flag cleared — before its `stream` parameter closes the socket).
struct OpenFlag(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for OpenFlag {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn connection(worker: &Worker, mut stream: TcpStream, peer: Option<SocketAddr>) {
    let open = OpenFlag(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)));
    let config = &worker.config;
    let server = config.server_header.as_deref();
    let peer = Peer::new(peer, config.forwarded_allow.as_ref());
    let ctx = CallContext {
        app: &worker.app,
        bridge: &worker.bridge,
        local_addr: worker.local_addr,
        peer: &peer,
        conn_fd: std::os::fd::AsRawFd::as_raw_fd(&stream),
        conn_open: open.0.clone(),
        conn_state: Default::default(),
        scope_base: worker.asgi_scope.as_ref(),
    };
    let mut rbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut wbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut start = 0usize;
    // A chunked body decoded ahead of its head being parsed again: (body, bytes it spanned).
    let mut chunked: Option<(Vec<u8>, usize)> = None;
    // When the head being read must be complete (slowloris: the limit is for the whole head).
    let mut head_deadline: Option<Instant> = None;

    loop {
        if start == rbuf.len() {
            if !wbuf.is_empty() && worker.flush(&mut stream, &mut wbuf).await.is_err() {
                return;
            }
            rbuf.clear();
            start = 0;
            if worker.shutdown.is_stopped() {
                return;
            }
            let idle = Some(worker.shutdown.wait());
            if read_more(&mut stream, &mut rbuf, config.keep_alive_timeout, idle).await != Read::Data {
                return;
            }
            continue;
        }

        let next = {
            let mut storage = header_storage();
            let parsed = parse_head(&rbuf[start..], &mut storage, &config.limits);
            if let Ok(Some(_)) = parsed {
                head_deadline = None;
            }
            match parsed {
                Err(e) => Next::Reject(e),
                Ok(None) => Next::ReadHead,
                Ok(Some(_)) if config.limit_concurrency.is_some_and(|limit| worker.active.get() >= limit) => {
                    Next::Unavailable
                }
                Ok(Some(head)) if head.method == Method::Get && crate::ws::is_upgrade_request(head.headers) => {
                    Next::Upgrade { upgrade: super::websocket::prepare(&ctx, worker, &head), head_len: head.head_len }
                }
                Ok(Some(head)) => match dispatch::classify(ctx.app, &head) {
                    Classified::Asgi => {
                        let opts = OwnedOpts::of(&head, worker);
                        match start_asgi(worker, &head, &rbuf[start + head.head_len..], &peer) {
                            Ok((call, staged)) => Next::Asgi { call, consumed: head.head_len + staged, opts },
                            Err(e) => Next::Reject(e),
                        }
                    }
                    Classified::Native(static_hit) => {
                        let available = rbuf.len() - start;
                        let body: Result<(&[u8], usize), Next> = match head.framing {
                            Framing::None => Ok((&[][..], head.head_len)),
                            Framing::Length(n) if available >= head.head_len + n => {
                                let from = start + head.head_len;
                                Ok((&rbuf[from..from + n], head.head_len + n))
                            }
                            Framing::Length(n) => {
                                Err(Next::ReadBody { total: head.head_len + n, expect: head.expect_continue })
                            }
                            Framing::Chunked => match &chunked {
                                Some((body, span)) => Ok((body.as_slice(), head.head_len + span)),
                                None => {
                                    Err(Next::ReadChunked { head_len: head.head_len, expect: head.expect_continue })
                                }
                            },
                        };
                        match body {
                            Ok((body, consumed)) => {
                                let opts = OwnedOpts::of(&head, worker);
                                let forwarded = peer.forwarded(&head, false);
                                let logged = worker
                                    .access_log
                                    .as_ref()
                                    .map(|_| AccessEntry::new(&head, peer.log_name(&forwarded)));
                                let request =
                                    dispatch::Request { head: &head, body, static_hit, forwarded: &forwarded };
                                let dispatched = dispatch::dispatch(&ctx, request);
                                Next::Answered { dispatched, consumed, opts, logged }
                            }
                            Err(next) => next,
                        }
                    }
                },
            }
        };

        match next {
            Next::Answered { dispatched, consumed, opts, logged } => {
                worker.count_request();
                start += consumed;
                chunked = None;
                let response = match dispatched {
                    Dispatched::Ready(response) => response,
                    Dispatched::Pending(mut pending) => {
                        // Earlier pipelined answers go out now rather than wait behind this one.
                        if !wbuf.is_empty() && worker.flush(&mut stream, &mut wbuf).await.is_err() {
                            return;
                        }
                        loop {
                            pending.task.wait().await;
                            match dispatch::complete(&ctx, pending) {
                                Dispatched::Ready(response) => break response,
                                Dispatched::Pending(next) => pending = next,
                            }
                        }
                    }
                };
                if let (Some(entry), Some(logger)) = (logged, worker.access_log.as_ref()) {
                    entry.log(logger, response.status);
                }
                if !respond(&mut stream, &mut wbuf, &ctx, response, &opts.with_server(server), worker).await {
                    let _ = worker.flush(&mut stream, &mut wbuf).await;
                    return;
                }
                if wbuf.len() >= WRITE_HIGH_WATER && worker.flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
            }
            Next::Asgi { call, consumed, opts } => {
                worker.count_request();
                start += consumed;
                let buffers = Buffers { rbuf: &mut rbuf, start: &mut start, wbuf: &mut wbuf };
                let opts = opts.with_server(server);
                if !super::asgi::serve(worker, &mut stream, buffers, call, &opts).await {
                    let _ = worker.flush(&mut stream, &mut wbuf).await;
                    return;
                }
                if wbuf.len() >= WRITE_HIGH_WATER && worker.flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
            }
            Next::Upgrade { upgrade, head_len } => {
                worker.count_request();
                if !wbuf.is_empty() && worker.flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                let leftover = rbuf[start + head_len..].to_vec();
                drop(ctx);
                super::websocket::run(worker, stream, leftover, upgrade).await;
                return;
            }
            Next::Unavailable => {
                Python::attach(|py| crate::python::log::log_warning(py, "Exceeded concurrency limit."));
                let _ = worker.flush(&mut stream, &mut wbuf).await;
                write_protocol_error(&mut wbuf, 503, "Service Unavailable", server);
                let _ = worker.flush(&mut stream, &mut wbuf).await;
                return;
            }
            Next::Reject(error) => {
                let _ = worker.flush(&mut stream, &mut wbuf).await;
                let message = match error {
                    HeadError::Invalid(_) => "Invalid HTTP request received.",
                    HeadError::TooLarge => "Request Header Fields Too Large",
                    HeadError::BodyTooLarge => "Content Too Large",
                    HeadError::UnsupportedTransferEncoding => "Unsupported Transfer-Encoding",
                };
                write_protocol_error(&mut wbuf, error.status(), message, server);
                let _ = worker.flush(&mut stream, &mut wbuf).await;
                return;
            }
            Next::ReadHead => {
                if !wbuf.is_empty() && worker.flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                compact(&mut rbuf, &mut start);
                let deadline = *head_deadline.get_or_insert_with(|| Instant::now() + config.header_timeout);
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || read_more(&mut stream, &mut rbuf, left, None).await != Read::Data {
                    return;
                }
            }
            Next::ReadBody { total, expect } => {
                if !wbuf.is_empty() && worker.flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                compact(&mut rbuf, &mut start);
                if expect && send_continue(&mut stream, config.write_timeout).await.is_err() {
                    return;
                }
                rbuf.reserve(total.saturating_sub(rbuf.len()));
                while rbuf.len() < total {
                    if read_more(&mut stream, &mut rbuf, config.header_timeout, None).await != Read::Data {
                        return;
                    }
                }
            }
            Next::ReadChunked { head_len, expect } => {
                if !wbuf.is_empty() && worker.flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                compact(&mut rbuf, &mut start);
                if expect && send_continue(&mut stream, config.write_timeout).await.is_err() {
                    return;
                }
                let mut decoder = ChunkedDecoder::new(config.limits.max_body_bytes);
                let mut body = Vec::new();
                let mut pos = head_len;
                loop {
                    match decoder.feed(&rbuf[pos..], &mut body) {
                        Ok(used) => pos += used,
                        Err(e) => {
                            let (status, message) = match e {
                                ChunkError::TooLarge => (413, "Content Too Large"),
                                ChunkError::Invalid(_) => (400, "Invalid HTTP request received."),
                            };
                            write_protocol_error(&mut wbuf, status, message, server);
                            let _ = worker.flush(&mut stream, &mut wbuf).await;
                            return;
                        }
                    }
                    if decoder.is_done() {
                        break;
                    }
                    if read_more(&mut stream, &mut rbuf, config.header_timeout, None).await != Read::Data {
                        return;
                    }
                }
                chunked = Some((body, pos - head_len));
            }
        }
    }
}

/// Builds the scope of an ASGI request, hands the app what is already here of the body (so a
/// small request runs in one step) and calls it. Returns the call and the body bytes used.
fn start_asgi(
    worker: &Worker,
    head: &crate::http::Head<'_>,
    after_head: &[u8],
    peer: &Peer,
) -> Result<(AsgiCall, usize), HeadError> {
    let mut body = BodyReader::new(head.framing, worker.config.limits.max_body_bytes);
    let exchange = Exchange::new(worker.bridge.clone(), head.method == Method::Head);
    let staged = if body.is_done() {
        exchange.deliver_body(Vec::new(), false);
        0
    } else {
        let (used, piece) = body.next_piece(after_head, BODY_PIECE).map_err(|e| match e {
            ChunkError::TooLarge => HeadError::BodyTooLarge,
            ChunkError::Invalid(_) => HeadError::Invalid("malformed chunked body"),
        })?;
        if let Some((piece, more)) = piece {
            exchange.deliver_body(piece, more);
        }
        used
    };
    let forwarded = peer.forwarded(head, false);
    let (run, context) = Python::attach(|py| {
        let failed = |error| (AppRun::Done(crate::asgi::AppResult::Raised(error)), AppContext::default());
        let (Some(app), Some(base)) = (worker.app.asgi.as_ref(), worker.asgi_scope.as_ref()) else {
            return failed(pyo3::exceptions::PyRuntimeError::new_err("this worker serves no ASGI app"));
        };
        match base.build(py, head, peer, &forwarded, false) {
            Ok(scope) => call_app(py, &worker.bridge, app, scope, &exchange),
            Err(e) => failed(e),
        }
    });
    let logged = worker.access_log.as_ref().map(|_| AccessEntry::new(head, peer.log_name(&forwarded)));
    Ok((AsgiCall { exchange, run, context, body, expect_continue: head.expect_continue, logged }, staged))
}

/// Writes `response` after whatever `wbuf` already holds; `false` when the connection must end
/// after it (the client is gone, the body ends with the connection, or it asked to close).
async fn respond(
    stream: &mut TcpStream,
    wbuf: &mut Vec<u8>,
    ctx: &CallContext<'_>,
    response: Response,
    opts: &WriteOpts<'_>,
    worker: &Worker,
) -> bool {
    let framing = response.encode_head(wbuf, opts);
    let Response { status, body, background, .. } = response;
    let mut keep_alive = !opts.close;
    match body {
        Body::Full(bytes) | Body::AsGiven(bytes) => {
            if opts.writes_body(status) {
                wbuf.extend_from_slice(&bytes);
            }
        }
        Body::Omitted => {}
        Body::Stream(mut body) => {
            if worker.flush(stream, wbuf).await.is_err()
                || !send_stream(stream, ctx.bridge, &mut body, framing, worker.config.write_timeout).await
            {
                if let Some(task) = background {
                    ctx.abort_background(task);
                }
                return false;
            }
            keep_alive &= framing != response::Framing::UntilClose;
        }
    }
    if let Some(task) = background {
        // Background work starts once its response is on the wire.
        let flushed = worker.flush(stream, wbuf).await;
        ctx.run_background(task);
        keep_alive &= flushed.is_ok();
    }
    keep_alive
}

/// Sends a streamed body as its source produces it; each write completes before the next piece
/// is asked for, so a slow client slows the producer instead of filling memory.
/// `false`: the connection can not be reused (client gone, or the source failed).
async fn send_stream(
    stream: &mut TcpStream,
    bridge: &AsyncBridge,
    body: &mut Stream,
    framing: response::Framing,
    write_timeout: Duration,
) -> bool {
    let mut out = Vec::new();
    loop {
        let chunk = match body.next_chunk(bridge) {
            Chunk::Pending(task) => {
                task.wait().await;
                Stream::pending_chunk(&task)
            }
            chunk => chunk,
        };
        out.clear();
        let last = match chunk {
            Chunk::Data(data) => {
                body.encode(framing, &data, &mut out);
                false
            }
            Chunk::End => {
                body.finish(framing, &mut out);
                true
            }
            Chunk::Failed | Chunk::Pending(_) => return false,
        };
        if !out.is_empty() {
            let (written, buf) = write_all(stream, out, write_timeout).await;
            if written.is_err() {
                return false;
            }
            out = buf;
        }
        if last {
            return true;
        }
    }
}

/// Catches a panic inside one connection's future so that it never takes down the worker.
struct CatchUnwind<F>(F);

impl<F: Future> Future for CatchUnwind<AssertUnwindSafe<F>> {
    type Output = std::thread::Result<F::Output>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the inner future is never moved out of the pinned wrapper.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}
