//! One connection: read, parse, answer, write — keep-alive, pipelining and body framing.
//! The connection lives and dies on the worker that accepted it.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use monoio::buf::{IoBufMut, SliceMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use super::shutdown::ShutdownWait;
use super::worker::Worker;
use crate::http::body::{ChunkError, ChunkedDecoder};
use crate::http::response::{write_protocol_error, WriteOpts};
use crate::http::{header_storage, parse_head, Framing, HeadError, Method};
use crate::python::call::{finish_pending, handle, next_chunk, pending_chunk, CallContext, Chunk, Outcome, Streaming};

const READ_CHUNK: usize = 16 * 1024;
/// Pipelined responses are written once this much is buffered, even if more requests wait.
const WRITE_HIGH_WATER: usize = 64 * 1024;

pub async fn serve(worker: Rc<Worker>, stream: TcpStream, peer: SocketAddr) {
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
        outcome: Outcome,
        consumed: usize,
        opts: OwnedOpts,
        /// Where this response starts in the write buffer, and what the access log says of it.
        logged: Option<(usize, AccessEntry)>,
    },
    ReadHead,
    ReadBody {
        total: usize,
        expect: bool,
    },
    /// A WebSocket upgrade: the connection becomes a WebSocket (or gets an HTTP refusal).
    Upgrade {
        upgrade: super::websocket::Upgrade,
        head_len: usize,
    },
    /// A large upload for a form/file route: stream the body to a temporary file.
    SpoolBody {
        head_len: usize,
        body_len: usize,
        expect: bool,
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
    fn with_server<'a>(&self, server: Option<&'a [u8]>) -> WriteOpts<'a> {
        WriteOpts {
            head_only: self.head_only,
            close: self.close,
            http10_keep_alive: self.http10_keep_alive,
            server,
            http10: self.http10,
            body_for_layers: false,
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

async fn connection(worker: &Worker, mut stream: TcpStream, peer: SocketAddr) {
    let open = OpenFlag(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)));
    let config = &worker.config;
    let server = config.server_header.as_deref();
    let ctx = CallContext {
        app: &worker.app,
        bridge: &worker.bridge,
        local_addr: worker.local_addr,
        peer_addr: peer,
        background: Default::default(),
        spooled_body: Default::default(),
        server_error: Default::default(),
        streaming: Default::default(),
        range_request: Default::default(),
        conn_fd: std::os::fd::AsRawFd::as_raw_fd(&stream),
        conn_open: open.0.clone(),
        conn_state: Default::default(),
    };
    let mut rbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut wbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut start = 0usize;
    // A chunked body decoded ahead of its head being parsed again: (body, bytes it spanned).
    let mut chunked: Option<(Vec<u8>, usize)> = None;
    // A Content-Length body written to a temporary file ahead of its head being parsed again.
    let mut spooled: Option<std::fs::File> = None;

    loop {
        if start == rbuf.len() {
            if !wbuf.is_empty() && flush(&mut stream, &mut wbuf).await.is_err() {
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
            match parse_head(&rbuf[start..], &mut storage, &config.limits) {
                Err(e) => Next::Reject(e),
                Ok(None) => Next::ReadHead,
                Ok(Some(head)) if head.method == Method::Get && crate::ws::is_upgrade_request(head.headers) => {
                    Next::Upgrade { upgrade: super::websocket::prepare(&ctx, &head), head_len: head.head_len }
                }
                Ok(Some(head)) => {
                    let available = rbuf.len() - start;
                    let body: Result<(&[u8], usize), Next> = match head.framing {
                        Framing::None => Ok((&[][..], head.head_len)),
                        Framing::Length(_) if spooled.is_some() => Ok((&[][..], head.head_len)),
                        Framing::Length(n) if available >= head.head_len + n => {
                            let from = start + head.head_len;
                            Ok((&rbuf[from..from + n], head.head_len + n))
                        }
                        Framing::Length(n) if n > config.spool_body_bytes && ctx.spools(&head) => {
                            Err(Next::SpoolBody { head_len: head.head_len, body_len: n, expect: head.expect_continue })
                        }
                        Framing::Length(n) => {
                            Err(Next::ReadBody { total: head.head_len + n, expect: head.expect_continue })
                        }
                        Framing::Chunked => match &chunked {
                            Some((body, span)) => Ok((body.as_slice(), head.head_len + span)),
                            None => Err(Next::ReadChunked { head_len: head.head_len, expect: head.expect_continue }),
                        },
                    };
                    match body {
                        Ok((body, consumed)) => {
                            let opts = OwnedOpts {
                                head_only: head.method == Method::Head,
                                close: !head.keep_alive || worker.shutdown.is_stopped(),
                                http10_keep_alive: head.version == 0 && head.keep_alive,
                                http10: head.version == 0,
                            };
                            *ctx.spooled_body.borrow_mut() = spooled.take();
                            let logged = worker.access_log.as_ref().map(|_| (wbuf.len(), AccessEntry::new(&head)));
                            let outcome = handle(&ctx, &head, body, &mut wbuf, &opts.with_server(server));
                            ctx.spooled_body.borrow_mut().take();
                            Next::Answered { outcome, consumed, opts, logged }
                        }
                        Err(next) => next,
                    }
                }
            }
        };

        match next {
            Next::Answered { outcome, consumed, opts, mut logged } => {
                start += consumed;
                chunked = None;
                if let Outcome::Pending(pending) = outcome {
                    // Earlier pipelined answers go out now rather than wait behind this one.
                    if !wbuf.is_empty() && flush(&mut stream, &mut wbuf).await.is_err() {
                        return;
                    }
                    if let Some((mark, _)) = logged.as_mut() {
                        *mark = 0;
                    }
                    pending.task.wait().await;
                    finish_pending(&ctx, pending, &mut wbuf, &opts.with_server(server));
                }
                if let (Some((mark, entry)), Some(logger)) = (logged, worker.access_log.as_ref()) {
                    entry.log(logger, peer, wbuf.get(mark..).unwrap_or_default());
                }
                let streaming = ctx.streaming.borrow_mut().take();
                if let Some(mut streaming) = streaming {
                    if flush(&mut stream, &mut wbuf).await.is_err()
                        || !send_stream(&mut stream, &ctx, &mut streaming).await
                    {
                        return;
                    }
                    if streaming.close_after {
                        return;
                    }
                }
                if ctx.has_background() {
                    // Background work starts once its response is on the wire.
                    let flushed = flush(&mut stream, &mut wbuf).await;
                    ctx.run_background();
                    if flushed.is_err() {
                        return;
                    }
                }
                if opts.close {
                    let _ = flush(&mut stream, &mut wbuf).await;
                    return;
                }
                if wbuf.len() >= WRITE_HIGH_WATER && flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
            }
            Next::Upgrade { upgrade, head_len } => {
                if !wbuf.is_empty() && flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                let leftover = rbuf[start + head_len..].to_vec();
                drop(ctx);
                super::websocket::run(worker, stream, leftover, upgrade).await;
                return;
            }
            Next::Reject(error) => {
                let _ = flush(&mut stream, &mut wbuf).await;
                let message = match error {
                    HeadError::Invalid(_) => "Invalid HTTP request received.",
                    HeadError::TooLarge => "Request Header Fields Too Large",
                    HeadError::BodyTooLarge => "Content Too Large",
                    HeadError::UnsupportedTransferEncoding => "Unsupported Transfer-Encoding",
                };
                write_protocol_error(&mut wbuf, error.status(), message, server);
                let _ = flush(&mut stream, &mut wbuf).await;
                return;
            }
            Next::ReadHead => {
                if !wbuf.is_empty() && flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                compact(&mut rbuf, &mut start);
                if read_more(&mut stream, &mut rbuf, config.header_timeout, None).await != Read::Data {
                    return;
                }
            }
            Next::ReadBody { total, expect } => {
                if !wbuf.is_empty() && flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                compact(&mut rbuf, &mut start);
                if expect && send_continue(&mut stream).await.is_err() {
                    return;
                }
                rbuf.reserve(total.saturating_sub(rbuf.len()));
                while rbuf.len() < total {
                    if read_more(&mut stream, &mut rbuf, config.header_timeout, None).await != Read::Data {
                        return;
                    }
                }
            }
            Next::SpoolBody { head_len, body_len, expect } => {
                if !wbuf.is_empty() && flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                compact(&mut rbuf, &mut start);
                if expect && send_continue(&mut stream).await.is_err() {
                    return;
                }
                match spool(&mut stream, &mut rbuf, head_len, body_len, config.header_timeout).await {
                    Some(file) => spooled = Some(file),
                    None => return,
                }
            }
            Next::ReadChunked { head_len, expect } => {
                if !wbuf.is_empty() && flush(&mut stream, &mut wbuf).await.is_err() {
                    return;
                }
                compact(&mut rbuf, &mut start);
                if expect && send_continue(&mut stream).await.is_err() {
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
                            let _ = flush(&mut stream, &mut wbuf).await;
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

/// Moves a `body_len`-byte body that follows the head at the start of `rbuf` into an
/// unlinked temporary file, reading the rest from the socket chunk by chunk. Afterwards `rbuf`
/// holds the head followed by any bytes that came after the body (a pipelined request).
async fn spool(
    stream: &mut TcpStream,
    rbuf: &mut Vec<u8>,
    head_len: usize,
    body_len: usize,
    timeout: Duration,
) -> Option<std::fs::File> {
    use std::io::Write;
    let mut file = temp_file().ok()?;
    let mut remaining = body_len;
    let buffered = (rbuf.len() - head_len).min(remaining);
    file.write_all(&rbuf[head_len..head_len + buffered]).ok()?;
    remaining -= buffered;
    let leftover: Vec<u8> = rbuf[head_len + buffered..].to_vec();
    rbuf.truncate(head_len);
    let mut chunk: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut extra = leftover;
    while remaining > 0 {
        chunk.clear();
        if read_more(stream, &mut chunk, timeout, None).await != Read::Data {
            return None;
        }
        let take = chunk.len().min(remaining);
        // The file is in the page cache or tmpfs: these writes do not wait on a disk.
        file.write_all(&chunk[..take]).ok()?;
        remaining -= take;
        extra.extend_from_slice(&chunk[take..]);
    }
    rbuf.extend_from_slice(&extra);
    Some(file)
}

/// A new, already unlinked file in the temporary directory: nothing is left behind.
fn temp_file() -> std::io::Result<std::fs::File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("fastrapi-body-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Sends a streaming body as the iterator produces it; each write completes before the next
/// chunk is asked for, so a slow client slows the producer instead of filling memory.
/// `false`: the connection can not be reused (client gone, or the iterator failed).
async fn send_stream(stream: &mut TcpStream, ctx: &CallContext<'_>, streaming: &mut Streaming) -> bool {
    loop {
        let chunk = match next_chunk(ctx, streaming) {
            Chunk::Pending(task) => {
                task.wait().await;
                pending_chunk(&task)
            }
            chunk => chunk,
        };
        match chunk {
            Chunk::Data(data) if data.is_empty() => continue,
            Chunk::Data(data) => {
                let frame = streaming.encode(&data);
                if !frame.is_empty() && stream.write_all(frame).await.0.is_err() {
                    return false;
                }
            }
            Chunk::End => {
                let tail = streaming.finish();
                return tail.is_empty() || stream.write_all(tail).await.0.is_ok();
            }
            Chunk::Failed | Chunk::Pending(_) => return false,
        }
    }
}

fn compact(rbuf: &mut Vec<u8>, start: &mut usize) {
    if *start > 0 {
        rbuf.copy_within(*start.., 0);
        rbuf.truncate(rbuf.len() - *start);
        *start = 0;
    }
}

async fn send_continue(stream: &mut TcpStream) -> std::io::Result<()> {
    let (res, _) = stream.write_all(&b"HTTP/1.1 100 Continue\r\n\r\n"[..]).await;
    res.map(|_| ())
}

async fn flush(stream: &mut TcpStream, wbuf: &mut Vec<u8>) -> std::io::Result<()> {
    if wbuf.is_empty() {
        return Ok(());
    }
    let (res, mut buf) = stream.write_all(std::mem::take(wbuf)).await;
    buf.clear();
    *wbuf = buf;
    res.map(|_| ())
}

#[derive(Debug, PartialEq, Eq)]
enum Read {
    Data,
    Closed,
    TimedOut,
    Stopped,
}

/// Appends what the socket has to `buf`, waiting at most `timeout` (and, for an idle
/// keep-alive connection, no longer than the worker keeps running).
async fn read_more(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    timeout: Duration,
    idle: Option<ShutdownWait<'_>>,
) -> Read {
    if buf.capacity() - buf.len() < 2048 {
        buf.reserve(READ_CHUNK);
    }
    let len = buf.len();
    let slice: SliceMut<Vec<u8>> = std::mem::take(buf).slice_mut(len..);
    let read = stream.read(slice);
    let stop = MaybeStop(idle);
    monoio::select! {
        (res, slice) = read => {
            *buf = slice.into_inner();
            match res {
                Ok(0) | Err(_) => Read::Closed,
                Ok(_) => Read::Data,
            }
        },
        _ = monoio::time::sleep(timeout) => Read::TimedOut,
        _ = stop => Read::Stopped,
    }
}

/// The shutdown wait for idle connections; never ready for a connection mid-request.
struct MaybeStop<'a>(Option<ShutdownWait<'a>>);

impl Future for MaybeStop<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.0.as_mut() {
            Some(wait) => Pin::new(wait).poll(cx),
            None => Poll::Pending,
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

/// One access-log line's worth of the request, copied while its head is still borrowed.
struct AccessEntry {
    method: String,
    target: String,
    version: &'static str,
}

impl AccessEntry {
    fn new(head: &crate::http::Head<'_>) -> AccessEntry {
        // As sent (uvicorn logs the re-quoted path, the same for any well-formed request).
        let mut target = head.path.to_string();
        if !head.query.is_empty() {
            target.push('?');
            target.push_str(head.query);
        }
        AccessEntry {
            method: head.method_str.to_string(),
            target,
            version: if head.version == 0 { "1.0" } else { "1.1" },
        }
    }

    /// Hands the line to `fastrapi._server.log_access` (only when the access log is on).
    fn log(self, logger: &pyo3::Py<pyo3::PyAny>, peer: SocketAddr, response: &[u8]) {
        let status: u16 = response.get(9..12).and_then(|d| std::str::from_utf8(d).ok()?.parse().ok()).unwrap_or(0);
        let client = format!("{}:{}", peer.ip(), peer.port());
        pyo3::Python::attach(|py| {
            if let Err(e) = logger.call1(py, (client, self.method, self.target, self.version, status)) {
                e.print(py);
            }
        });
    }
}
