//! A WebSocket connection after its upgrade request: the handshake answer, then three tasks on
//! this core — a reader (frames → messages for Python, pings answered here), a writer (the
//! outbox, written as the socket takes it) and the endpoint's asyncio task — plus a keep-alive
//! timer. The connection never leaves the worker that accepted it.

use std::time::{Duration, Instant};

use monoio::buf::{IoBufMut, SliceMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, OwnedReadHalf, OwnedWriteHalf, Splitable};
use monoio::net::TcpStream;
use pyo3::prelude::*;

use super::state::Worker;
use crate::dispatch::CallContext;
use crate::http::Head;
use crate::middleware::{Layer, Rejection};
use crate::python::aio::{PendingTask, Started};
use crate::python::websocket::{write_refusal, Incoming, Phase, WebSocketChannel, WsShared, INBOX_LIMIT};
use crate::ws::{self, Message, MessageReader};

/// A peer that does not answer our close frame within this time (or within `ws_ping_timeout`,
/// if shorter) is cut off.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
const READ_CHUNK: usize = 16 * 1024;

/// What to do with an upgrade request, decided while its head is still borrowed.
pub enum Upgrade {
    /// An HTTP answer instead (bad handshake, no app to take it, middleware refusal).
    Refuse(Vec<u8>),
    /// The app's ASGI callable runs the session, with this scope.
    Open { scope: Py<pyo3::types::PyDict>, accept: String },
}

fn refusal(status: u16, headers: &[(&[u8], &[u8])], body: &[u8]) -> Upgrade {
    let mut out = Vec::new();
    write_refusal(&mut out, status, headers, body);
    Upgrade::Refuse(out)
}

/// Checks an upgrade request (native TrustedHost applies, CORS does not, as in Starlette) and
/// builds the session's `websocket` scope.
pub fn prepare(ctx: &CallContext, worker: &Worker, head: &Head<'_>) -> Upgrade {
    for layer in &ctx.app.middleware {
        if let Layer::TrustedHost(trusted) = layer {
            match trusted.check(head) {
                None => {}
                Some(Rejection::Invalid) => return refusal(400, &[], b"Invalid host header"),
                Some(Rejection::Redirect(url)) => return refusal(307, &[(b"location", url.as_bytes())], b""),
            }
        }
    }
    let handshake = match ws::validate(head.method_str, head.version, head.headers) {
        Ok(handshake) => handshake,
        Err(e) => {
            let headers: Vec<(&[u8], &[u8])> = e.headers().iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
            return refusal(e.status(), &headers, e.body().as_bytes());
        }
    };
    let Some(base) = worker.asgi_scope.as_ref() else {
        // Starlette closes a WebSocket nothing takes; before the handshake that is a 403.
        return refusal(403, &[], b"");
    };
    let forwarded = ctx.peer.forwarded(head, true);
    let scope = Python::attach(|py| base.build(py, head, ctx.peer, &forwarded, true).map(Bound::unbind));
    match scope {
        Ok(scope) => Upgrade::Open { scope, accept: handshake.accept },
        Err(e) => {
            Python::attach(|py| crate::python::log::log_error(py, "building a WebSocket scope failed", Some(&e)));
            refusal(500, &[], b"Internal Server Error")
        }
    }
}

/// Serves the WebSocket until both the connection and the endpoint are done.
pub async fn run(worker: &Worker, stream: TcpStream, leftover: Vec<u8>, upgrade: Upgrade) {
    let (scope, accept) = match upgrade {
        Upgrade::Refuse(answer) => {
            let mut stream = stream;
            let _ = stream.write_all(answer).await;
            return;
        }
        Upgrade::Open { scope, accept } => (scope, accept),
    };
    let shared = WsShared::new(accept, worker.bridge.clone());
    let pending = Python::attach(|py| {
        let started = Bound::new(py, WebSocketChannel { shared: shared.clone() }).and_then(|channel| {
            let Some(app) = worker.app.asgi.as_ref() else {
                return Err(pyo3::exceptions::PyRuntimeError::new_err("no ASGI app"));
            };
            let session = py.import("fastrapi._asgi")?.getattr("websocket_session")?;
            let coro = session.call1((app, scope, channel))?;
            worker.bridge.start(py, coro)
        });
        match started {
            Ok(Started::Pending(task)) => Some(task),
            Ok(Started::Done(result)) => {
                endpoint_finished(py, &shared, result.map(|_| ()));
                None
            }
            Err(e) => {
                endpoint_finished(py, &shared, Err(e));
                None
            }
        }
    });
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let (reader, writer) = stream.into_split();
    monoio::join!(
        read_loop(reader, leftover, &shared, worker),
        write_loop(writer, fd, &shared),
        wait_endpoint(pending, &shared),
        keep_alive(&shared, worker),
    );
    // Whatever Python still waits for is answered: the connection is gone.
    shared.gone.set(true);
    Python::attach(|py| {
        shared.deliver(py, Incoming::Disconnect(1006, String::new()));
        shared.release_senders(py);
    });
}

/// Called once the endpoint's task is done: a refusal if it never answered the handshake,
/// else the end of the connection if the endpoint did not close it.
fn endpoint_finished(py: Python<'_>, shared: &WsShared, result: PyResult<()>) {
    let failed = match result {
        Ok(()) => false,
        Err(e) => {
            log_exception(py, e);
            true
        }
    };
    match shared.phase.get() {
        Phase::Connecting => {
            if !failed {
                log_message(py, "WebSocket endpoint returned without accepting or closing the connection");
            }
            shared.refuse(500, &[], b"Internal Server Error");
        }
        // An endpoint that returns (or raises) without closing: uvicorn then drops the
        // connection without a close frame, and so do we.
        Phase::Open => shared.set_phase(Phase::Done),
        Phase::Closing | Phase::Done => {}
    }
}

fn log_exception(py: Python<'_>, error: PyErr) {
    let logged = py.import("logging").and_then(|logging| {
        let logger = logging.call_method1("getLogger", ("fastrapi.error",))?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("exc_info", error.value(py))?;
        logger.call_method("error", ("Exception in WebSocket endpoint",), Some(&kwargs))
    });
    if logged.is_err() {
        error.print(py);
    }
}

fn log_message(py: Python<'_>, message: &str) {
    let _ = py
        .import("logging")
        .and_then(|logging| logging.call_method1("getLogger", ("fastrapi.error",))?.call_method1("error", (message,)));
}

async fn wait_endpoint(pending: Option<PendingTask>, shared: &WsShared) {
    let Some(task) = pending else {
        return;
    };
    task.wait().await;
    Python::attach(|py| {
        let result = task.task.bind(py).call_method0(pyo3::intern!(py, "result")).map(|_| ());
        endpoint_finished(py, shared, result);
    });
}

async fn write_loop(mut writer: OwnedWriteHalf<TcpStream>, fd: std::os::fd::RawFd, shared: &WsShared) {
    loop {
        let pending = std::mem::take(&mut *shared.outbox.borrow_mut());
        if !pending.is_empty() {
            let write = writer.write_all(pending);
            let (result, mut buf) = monoio::select! {
                written = write => written,
                _ = shared.abort_writer.wait() => {
                    super::io::reset(fd);
                    // Senders waiting for this write learn that the connection is gone.
                    Python::attach(|py| shared.release_senders(py));
                    return;
                }
            };
            if result.is_err() {
                shared.gone.set(true);
                shared.set_phase(Phase::Done);
                Python::attach(|py| shared.release_senders(py));
                return;
            }
            // Give the allocation back for the next frames when nothing was queued meanwhile.
            let mut outbox = shared.outbox.borrow_mut();
            if outbox.is_empty() && buf.capacity() <= 1 << 20 {
                buf.clear();
                *outbox = buf;
            }
            drop(outbox);
            Python::attach(|py| shared.release_senders(py));
            continue;
        }
        if shared.phase.get() == Phase::Done || shared.gone.get() {
            let _ = writer.shutdown().await;
            return;
        }
        shared.wake_writer.wait().await;
    }
}

async fn read_loop(mut reader: OwnedReadHalf<TcpStream>, leftover: Vec<u8>, shared: &WsShared, worker: &Worker) {
    let mut messages = MessageReader::new(worker.config.ws_max_size);
    let mut buf = leftover;
    let mut start = 0;
    loop {
        match shared.phase.get() {
            Phase::Done => return,
            // Frames may only follow our 101; wait until the app accepts (or refuses).
            Phase::Connecting => {
                shared.wake_reader.wait().await;
                continue;
            }
            Phase::Open | Phase::Closing => {}
        }
        if shared.inbox.borrow().len() >= INBOX_LIMIT {
            // Python is behind: stop reading, so the client's sends slow down instead of piling up.
            shared.wake_reader.wait().await;
            continue;
        }
        // Everything complete in the buffer first.
        match messages.read(&buf[start..]) {
            Ok((used, message)) => {
                start += used;
                if let Some(message) = message {
                    if !on_message(shared, message) {
                        return;
                    }
                    continue;
                }
            }
            Err(e) => {
                // A protocol violation fails the connection with the matching close code.
                shared.send_close(e.close_code(), e.reason());
                Python::attach(|py| shared.deliver(py, Incoming::Disconnect(e.close_code(), e.reason().into())));
                shared.set_phase(Phase::Done);
                return;
            }
        }
        if start == buf.len() {
            buf.clear();
            start = 0;
        } else if start > READ_CHUNK {
            buf.drain(..start);
            start = 0;
        }
        if buf.capacity() - buf.len() < 2048 {
            buf.reserve(READ_CHUNK);
        }
        let len = buf.len();
        let slice: SliceMut<Vec<u8>> = std::mem::take(&mut buf).slice_mut(len..);
        let read = reader.read(slice);
        monoio::select! {
            (result, slice) = read => {
                buf = slice.into_inner();
                if !matches!(result, Ok(n) if n > 0) {
                    // The peer went away without a close frame (1006), or after ours.
                    shared.gone.set(true);
                    if shared.phase.get() == Phase::Open {
                        Python::attach(|py| shared.deliver(py, Incoming::Disconnect(1006, String::new())));
                    }
                    shared.set_phase(Phase::Done);
                    return;
                }
                shared.last_seen.set(Instant::now());
            },
            _ = shared.stop_reader.wait() => return,
        }
    }
}

/// Handles one message; `false` when the connection is over.
fn on_message(shared: &WsShared, message: Message) -> bool {
    match message {
        Message::Text(text) if shared.phase.get() == Phase::Open => {
            Python::attach(|py| shared.deliver(py, Incoming::Text(text)));
        }
        Message::Binary(data) if shared.phase.get() == Phase::Open => {
            Python::attach(|py| shared.deliver(py, Incoming::Binary(data)));
        }
        // Data after our close frame is dropped, as RFC 6455 allows.
        Message::Text(_) | Message::Binary(_) => {}
        Message::Ping(payload) => {
            ws::encode_pong(&mut shared.outbox.borrow_mut(), &payload);
            shared.wake_writer.notify();
        }
        Message::Pong(_) => shared.ping_sent.set(None),
        Message::Close(close) => {
            let (code, reason) = close.unwrap_or((1005, String::new()));
            if shared.phase.get() == Phase::Open {
                // Echo the peer's code (none: an empty close frame), then the connection is over.
                let echo = (code != 1005).then_some((code, reason.as_str()));
                ws::encode_close(&mut shared.outbox.borrow_mut(), echo);
                Python::attach(|py| shared.deliver(py, Incoming::Disconnect(code, reason.clone())));
            }
            shared.set_phase(Phase::Done);
            return false;
        }
    }
    true
}

/// Pings an idle connection, closes one whose ping went unanswered or whose close handshake
/// stalled, and closes every WebSocket with 1012 when the worker shuts down.
async fn keep_alive(shared: &WsShared, worker: &Worker) {
    let config = &worker.config;
    let close_timeout = config.ws_ping_timeout.map_or(CLOSE_TIMEOUT, |t| t.min(CLOSE_TIMEOUT));
    let mut closing_since: Option<Instant> = None;
    let mut shutdown_sent = false;
    loop {
        let phase = shared.phase.get();
        if phase == Phase::Done {
            return;
        }
        let now = Instant::now();
        if phase == Phase::Closing {
            let since = *closing_since.get_or_insert(now);
            if now - since >= close_timeout {
                shared.abort();
                return;
            }
        }
        if phase == Phase::Open {
            if worker.shutdown.is_stopped() && !shutdown_sent {
                shutdown_sent = true;
                shared.send_close(1012, "");
                Python::attach(|py| shared.deliver(py, Incoming::Disconnect(1012, String::new())));
                continue;
            }
            if let (Some(sent), Some(timeout)) = (shared.ping_sent.get(), config.ws_ping_timeout) {
                if now - sent >= timeout {
                    // The close handshake then gets `close_timeout` before the connection is cut.
                    shared.send_close(1011, "keepalive ping timeout");
                    Python::attach(|py| shared.deliver(py, Incoming::Disconnect(1011, String::new())));
                    continue;
                }
            }
            if let Some(interval) = config.ws_ping_interval {
                let idle = now - shared.last_seen.get();
                if idle >= interval && shared.ping_sent.get().is_none() {
                    ws::encode_ping(&mut shared.outbox.borrow_mut(), b"");
                    shared.ping_sent.set(Some(now));
                    shared.wake_writer.notify();
                }
            }
        }
        let tick = [config.ws_ping_interval, config.ws_ping_timeout, Some(Duration::from_secs(1))]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(1))
            .min(Duration::from_secs(1))
            / 2;
        let stopping = async {
            if shutdown_sent {
                std::future::pending::<()>().await
            } else {
                worker.shutdown.wait().await
            }
        };
        monoio::select! {
            _ = monoio::time::sleep(tick) => {},
            _ = shared.wake_timer.wait() => {},
            _ = stopping => {},
        }
    }
}
