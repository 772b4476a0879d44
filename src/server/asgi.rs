//! The connection's side of an ASGI request: it reads the request body as the app asks for it,
//! writes the response as the app sends it (back-pressure both ways), and follows uvicorn where
//! the spec leaves room: a 500 when the app fails before `http.response.start`, the connection
//! closed when it fails after, chunked framing when the app gives no `content-length`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use monoio::net::TcpStream;
use pyo3::prelude::*;

use super::access_log::AccessEntry;
use super::io::{compact, read_more, Read};
use super::state::Worker;
use crate::asgi::{detach, AppContext, AppResult, AppRun, Exchange, Phase};
use crate::dispatch::response::TEXT;
use crate::dispatch::Response;
use crate::files::FileBody;
use crate::http::body::{encode_end, encode_piece, BodyReader, ChunkError};
use crate::http::response::{encode_head, BodyKind, Framing, HeaderList, WriteOpts};
use crate::python::log::{log_error, report_app_failure};

/// Largest request body piece handed to the app in one `http.request` message.
pub const BODY_PIECE: usize = 64 * 1024;

/// One ASGI request, its app already called.
pub struct AsgiCall {
    pub exchange: Rc<Exchange>,
    pub run: AppRun,
    pub context: AppContext,
    pub body: BodyReader,
    pub expect_continue: bool,
    pub logged: Option<AccessEntry>,
}

/// The connection's buffers, lent to the request.
pub struct Buffers<'a> {
    pub rbuf: &'a mut Vec<u8>,
    pub start: &'a mut usize,
    pub wbuf: &'a mut Vec<u8>,
}

/// Serves the request; `false` when the connection must close afterwards.
pub async fn serve(
    worker: &Worker,
    stream: &mut TcpStream,
    buffers: Buffers<'_>,
    call: AsgiCall,
    opts: &WriteOpts<'_>,
) -> bool {
    let AsgiCall { exchange, mut run, context, mut body, mut expect_continue, mut logged } = call;
    let Buffers { rbuf, start, wbuf } = buffers;
    let mut framing: Option<Framing> = None;
    let mut keep_alive = !opts.close;
    let mut response_done = false;
    let mut result_seen = false;
    let keep = loop {
        // The head, once the app has sent it.
        if framing.is_none() {
            if let Some((status, mut headers)) = exchange.take_head() {
                if asks_to_close(&mut headers) {
                    keep_alive = false;
                }
                let opts = WriteOpts { close: !keep_alive, ..*opts };
                let chosen = encode_head(wbuf, status, &headers, BodyKind::Streamed, &opts);
                keep_alive &= chosen != Framing::UntilClose;
                framing = Some(chosen);
                if let (Some(entry), Some(logger)) = (logged.take(), worker.access_log.as_ref()) {
                    entry.log(logger, status);
                }
            }
        }
        // The body the app has sent so far.
        if let (Some(framing), false) = (framing, response_done) {
            let mut sent = Vec::new();
            exchange.take_outgoing(&mut sent);
            encode_piece(framing, &sent, wbuf);
            if let Some(path) = exchange.take_pathsend() {
                if !opts.head_only && !send_file(stream, wbuf, &path, framing, worker).await {
                    break false;
                }
            }
            if exchange.phase() == Phase::Complete {
                encode_end(framing, wbuf);
                response_done = true;
                exchange.response_written();
            }
        }
        // A streamed response goes out as it is produced; senders waiting for it go on.
        if !wbuf.is_empty() && !response_done {
            if worker.flush(stream, wbuf).await.is_err() {
                break false;
            }
            exchange.release_senders();
        }
        // The app's outcome, once it has one.
        if let (AppRun::Done(result), false) = (&run, result_seen) {
            result_seen = true;
            match app_failure(result, exchange.phase(), exchange.is_disconnected(), &context) {
                None => {}
                Some(Failure::BeforeStart) if framing.is_none() && !exchange.is_disconnected() => {
                    internal_error(wbuf, opts);
                    break false;
                }
                Some(_) => break false,
            }
        }
        if response_done {
            // What the app did not read of the body is skipped, so the next request can follow.
            break keep_alive && skip_body(stream, rbuf, start, &mut body, worker).await;
        }
        // The app asks for the body.
        if exchange.wants_body() {
            match body.next_piece(&rbuf[*start..], BODY_PIECE) {
                Ok((used, Some((piece, more)))) => {
                    *start += used;
                    exchange.deliver_body(piece, more);
                    continue;
                }
                Ok((used, None)) => *start += used,
                Err(error) => {
                    if framing.is_none() {
                        let (status, message) = match error {
                            ChunkError::TooLarge => (413, "Content Too Large"),
                            ChunkError::Invalid(_) => (400, "Invalid HTTP request received."),
                        };
                        crate::http::response::write_protocol_error(wbuf, status, message, opts.server);
                    }
                    exchange.disconnect();
                    break false;
                }
            }
            if expect_continue && framing.is_none() {
                expect_continue = false;
                wbuf.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                if worker.flush(stream, wbuf).await.is_err() {
                    break false;
                }
            }
            compact(rbuf, start);
            let timeout = Some(worker.config.header_timeout);
            if wait(stream, rbuf, Watch::Body(timeout), &exchange, &mut run).await.is_some_and(|r| r != Read::Data) {
                break false;
            }
            continue;
        }
        // Otherwise wait for the app; once the body is in, a client that leaves is noticed at once
        // (bytes of a pipelined request are kept, up to a head's worth).
        let watch = body.is_done() && rbuf.len() - *start < worker.config.limits.max_head_bytes;
        let watch = if watch { Watch::Disconnect } else { Watch::AppOnly };
        if wait(stream, rbuf, watch, &exchange, &mut run).await.is_some_and(|r| r != Read::Data) {
            break false;
        }
    };
    match run {
        AppRun::Running(task) if !keep => {
            exchange.disconnect();
            detach(task, true, context);
        }
        AppRun::Running(task) => detach(task, exchange.is_disconnected(), context),
        AppRun::Done(_) if !keep => exchange.disconnect(),
        AppRun::Done(_) => {}
    }
    keep
}

enum Failure {
    BeforeStart,
    AfterStart,
}

/// Logs what went wrong with a finished app call (as uvicorn words it), if anything did.
fn app_failure(result: &AppResult, phase: Phase, client_gone: bool, context: &AppContext) -> Option<Failure> {
    let failure = || if phase == Phase::Idle { Failure::BeforeStart } else { Failure::AfterStart };
    if matches!(result, AppResult::Returned) && phase == Phase::Complete {
        return None;
    }
    Python::attach(|py| match result {
        AppResult::Returned if phase == Phase::Complete => None,
        AppResult::Returned => {
            let message = if phase == Phase::Idle {
                "ASGI callable returned without starting response."
            } else {
                "ASGI callable returned without completing response."
            };
            log_error(py, message, None);
            Some(failure())
        }
        AppResult::ReturnedValue(repr) => {
            log_error(py, &format!("ASGI callable should return None, but returned '{repr}'."), None);
            Some(failure())
        }
        AppResult::Raised(error) => {
            context.run(py, || report_app_failure(py, error, client_gone));
            Some(failure())
        }
    })
}

/// uvicorn's answer to an app that failed before its response started (the connection closes).
fn internal_error(wbuf: &mut Vec<u8>, opts: &WriteOpts) {
    let response = Response::full(500, Some(TEXT), HeaderList::default(), b"Internal Server Error".to_vec());
    let opts = WriteOpts { close: true, ..*opts };
    response.encode_head(wbuf, &opts);
    if let crate::dispatch::Body::Full(body) = &response.body {
        if opts.writes_body(500) {
            wbuf.extend_from_slice(body);
        }
    }
}

/// A `connection: close` from the app closes the connection (and is written once, by the server).
fn asks_to_close(headers: &mut HeaderList) -> bool {
    let close = headers
        .get_all("connection")
        .iter()
        .any(|v| v.split(|b| *b == b',').any(|t| crate::http::parse::trim(t).eq_ignore_ascii_case(b"close")));
    if close {
        headers.remove("connection");
    }
    close
}

/// `http.response.pathsend`: the file's bytes as the body, read as the socket takes them.
async fn send_file(
    stream: &mut TcpStream,
    wbuf: &mut Vec<u8>,
    path: &std::path::Path,
    framing: Framing,
    worker: &Worker,
) -> bool {
    let opened = std::fs::File::open(path).and_then(|file| Ok((file.metadata()?.len(), file)));
    let Ok((size, file)) = opened else {
        Python::attach(|py| log_error(py, &format!("pathsend: can not read {}", path.display()), None));
        return false;
    };
    let mut body = FileBody::whole(file, size);
    loop {
        match body.next_chunk() {
            Ok(Some(chunk)) => {
                encode_piece(framing, &chunk, wbuf);
                if worker.flush(stream, wbuf).await.is_err() {
                    return false;
                }
            }
            Ok(None) => return true,
            Err(e) => {
                Python::attach(|py| log_error(py, &format!("sending a file failed: {e}"), None));
                return false;
            }
        }
    }
}

/// Reads and drops the rest of a request body the app did not read; `false` if it can not be
/// skipped (client gone, malformed, too slow).
async fn skip_body(
    stream: &mut TcpStream,
    rbuf: &mut Vec<u8>,
    start: &mut usize,
    body: &mut BodyReader,
    worker: &Worker,
) -> bool {
    while !body.is_done() {
        match body.next_piece(&rbuf[*start..], usize::MAX) {
            Ok((used, _)) if used > 0 => *start += used,
            Ok(_) => {
                compact(rbuf, start);
                if read_more(stream, rbuf, worker.config.header_timeout, None).await != Read::Data {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    true
}

/// What to watch the socket for while waiting for the app.
enum Watch {
    /// Body bytes the app asked for, within a time limit (`None`: no limit).
    Body(Option<std::time::Duration>),
    /// A client that leaves (or pipelines its next request).
    Disconnect,
    AppOnly,
}

/// Waits until the app sends, asks for something or finishes, or the socket has data (then it is
/// read). `None`: woken by the app. Only readiness is awaited, so being woken loses no bytes.
/// A closed or silent client disconnects the exchange.
async fn wait(
    stream: &mut TcpStream,
    rbuf: &mut Vec<u8>,
    watch: Watch,
    exchange: &Exchange,
    run: &mut AppRun,
) -> Option<Read> {
    let (socket, limit) = match watch {
        Watch::Body(limit) => (true, limit),
        Watch::Disconnect => (true, None),
        Watch::AppOnly => (false, None),
    };
    let limit = limit.unwrap_or(std::time::Duration::from_secs(365 * 24 * 3600));
    let readable = async {
        if socket {
            stream.readable(false).await.is_ok()
        } else {
            std::future::pending().await
        }
    };
    let outcome = monoio::select! {
        ready = readable => Some(ready),
        _ = monoio::time::sleep(limit) => Some(false),
        _ = exchange.wake.wait() => None,
        _ = AppDone(run) => None,
    };
    finished(run);
    let read = match outcome {
        None => return None,
        Some(true) => read_more(stream, rbuf, limit, None).await,
        Some(false) => Read::TimedOut,
    };
    if read != Read::Data {
        exchange.disconnect();
    }
    Some(read)
}

/// Records the result of a task that has just finished.
fn finished(run: &mut AppRun) {
    if let AppRun::Running(task) = run {
        if task.is_done() {
            *run = AppRun::Done(AppResult::of_task(task));
        }
    }
}

/// Ready when the app's task is done; never ready for an app that has already finished.
struct AppDone<'a>(&'a AppRun);

impl Future for AppDone<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.0 {
            AppRun::Running(task) => task.poll_done(cx),
            AppRun::Done(_) => Poll::Pending,
        }
    }
}
