//! The Python side of one WebSocket connection: `fastrapi._fastrapi.WebSocketChannel`, which
//! `fastrapi.websockets.WebSocket` drives with ASGI-shaped messages. The connection task
//! (`server/websocket.rs`) owns the socket; both share [`WsShared`] on the worker thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use pyo3::exceptions::{PyConnectionResetError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::aio::{AsyncBridge, Signal};
use crate::ws;

/// Outgoing bytes above which `send_*` asks Python to wait until they are written.
const OUTBOX_HIGH_WATER: usize = 256 * 1024;
/// Received messages Python has not taken yet, above which the socket is not read.
pub const INBOX_LIMIT: usize = 32;

/// An HTTP answer instead of the upgrade: status, headers, body collected so far.
type Refusal = (u16, Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// The handshake is valid; the app has neither accepted nor refused yet.
    Connecting,
    Open,
    /// We sent a close frame and wait for the peer's.
    Closing,
    /// Nothing more goes out once the outbox is written (a refusal, or the close handshake done).
    Done,
}

/// A received message for Python (kept in Rust until asked for).
pub enum Incoming {
    Text(String),
    Binary(Vec<u8>),
    Disconnect(u16, String),
}

pub struct WsShared {
    pub phase: Cell<Phase>,
    pub outbox: RefCell<Vec<u8>>,
    /// Wakes the writer (something to write, or the phase changed).
    pub wake_writer: Signal,
    /// Wakes the reader: Python took messages from a full inbox, or the phase changed.
    pub wake_reader: Signal,
    /// Interrupts a read in progress: the connection is over.
    pub stop_reader: Signal,
    /// Wakes the keep-alive timer when the connection is over.
    pub wake_timer: Signal,
    /// Interrupts a write the peer never lets finish (see [`WsShared::abort`]).
    pub abort_writer: Signal,
    pub inbox: RefCell<VecDeque<Incoming>>,
    /// The asyncio future of a `receive()` that found the inbox empty.
    waiting: RefCell<Option<Py<PyAny>>>,
    /// Futures of senders waiting for the outbox to be written.
    drained: RefCell<Vec<Py<PyAny>>>,
    /// The socket can no longer be written (peer gone, or the close handshake is over).
    pub gone: Cell<bool>,
    /// When the peer last sent anything (keep-alive pings go to idle connections).
    pub last_seen: Cell<std::time::Instant>,
    /// When our unanswered ping went out.
    pub ping_sent: Cell<Option<std::time::Instant>>,
    /// `Sec-WebSocket-Accept` for the 101 response.
    accept_key: String,
    /// A refusal with a body still to come (`websocket.http.response.start` seen).
    refusal: RefCell<Option<Refusal>>,
    bridge: Rc<AsyncBridge>,
}

impl WsShared {
    pub fn new(accept_key: String, bridge: Rc<AsyncBridge>) -> Rc<WsShared> {
        Rc::new(WsShared {
            phase: Cell::new(Phase::Connecting),
            outbox: RefCell::new(Vec::new()),
            wake_writer: Signal::default(),
            wake_reader: Signal::default(),
            stop_reader: Signal::default(),
            wake_timer: Signal::default(),
            abort_writer: Signal::default(),
            inbox: RefCell::new(VecDeque::new()),
            waiting: RefCell::new(None),
            drained: RefCell::new(Vec::new()),
            gone: Cell::new(false),
            last_seen: Cell::new(std::time::Instant::now()),
            ping_sent: Cell::new(None),
            accept_key,
            refusal: RefCell::new(None),
            bridge,
        })
    }

    /// Hands a message to Python: to the waiting `receive()` if there is one, else the inbox.
    pub fn deliver(&self, py: Python<'_>, message: Incoming) {
        if let Some(future) = self.waiting.borrow_mut().take() {
            let future = future.bind(py);
            // A cancelled receive leaves a done future behind: the message then waits in the inbox.
            if !future.call_method0("done").and_then(|d| d.is_truthy()).unwrap_or(true) {
                match message_dict(py, &message).and_then(|m| future.call_method1("set_result", (m,))) {
                    Ok(_) => {
                        self.bridge.wake();
                        return;
                    }
                    Err(e) => e.print(py),
                }
            }
        }
        self.inbox.borrow_mut().push_back(message);
    }

    /// Resolves the futures of senders waiting for the outbox to empty.
    pub fn release_senders(&self, py: Python<'_>) {
        let waiting: Vec<Py<PyAny>> = self.drained.borrow_mut().drain(..).collect();
        if waiting.is_empty() {
            return;
        }
        for future in waiting {
            let future = future.bind(py);
            if !future.call_method0("done").and_then(|d| d.is_truthy()).unwrap_or(true) {
                if let Err(e) = future.call_method1("set_result", (py.None(),)) {
                    e.print(py);
                }
            }
        }
        self.bridge.wake();
    }

    /// Moves to `phase`, waking whoever waits on a phase change.
    pub fn set_phase(&self, phase: Phase) {
        self.phase.set(phase);
        self.wake_writer.notify();
        self.wake_reader.notify();
        if phase == Phase::Done {
            self.stop_reader.notify();
            self.wake_timer.notify();
        }
    }

    /// Gives up on the connection at once, even in the middle of a write (a peer that stopped
    /// reading and never finished the close handshake).
    pub fn abort(&self) {
        self.gone.set(true);
        self.set_phase(Phase::Done);
        self.abort_writer.notify();
    }

    /// Writes a close frame (once) and moves to `Closing`.
    pub fn send_close(&self, code: u16, reason: &str) {
        if matches!(self.phase.get(), Phase::Open) {
            ws::encode_close(&mut self.outbox.borrow_mut(), Some((code, reason)));
            self.set_phase(Phase::Closing);
        }
    }

    /// A plain HTTP answer instead of the upgrade; the connection ends once it is written.
    pub fn refuse(&self, status: u16, headers: &[(Vec<u8>, Vec<u8>)], body: &[u8]) {
        let headers: Vec<(&[u8], &[u8])> = headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice())).collect();
        write_refusal(&mut self.outbox.borrow_mut(), status, &headers, body);
        self.set_phase(Phase::Done);
    }

    fn check_open(&self) -> PyResult<()> {
        if self.gone.get() {
            return Err(PyConnectionResetError::new_err("the WebSocket connection is closed"));
        }
        match self.phase.get() {
            Phase::Open => Ok(()),
            Phase::Connecting => Err(PyRuntimeError::new_err("the WebSocket is not accepted yet")),
            Phase::Closing | Phase::Done => Err(PyConnectionResetError::new_err("the WebSocket is closing")),
        }
    }

    fn over_high_water(&self) -> bool {
        self.outbox.borrow().len() > OUTBOX_HIGH_WATER
    }
}

/// An HTTP answer to an upgrade request that does not become a WebSocket (the connection closes
/// after it); a body without a content type is plain text.
pub fn write_refusal(out: &mut Vec<u8>, status: u16, headers: &[(&[u8], &[u8])], body: &[u8]) {
    let has_type = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(b"content-type"));
    let text = (!has_type && !body.is_empty()).then_some(&b"text/plain; charset=utf-8"[..]);
    let opts = crate::http::response::WriteOpts::closing(None);
    crate::http::response::write_full(out, status, text, headers, body, &opts);
}

fn message_dict<'py>(py: Python<'py>, message: &Incoming) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    match message {
        Incoming::Text(text) => {
            dict.set_item(pyo3::intern!(py, "type"), pyo3::intern!(py, "websocket.receive"))?;
            dict.set_item(pyo3::intern!(py, "text"), PyString::new(py, text))?;
        }
        Incoming::Binary(data) => {
            dict.set_item(pyo3::intern!(py, "type"), pyo3::intern!(py, "websocket.receive"))?;
            dict.set_item(pyo3::intern!(py, "bytes"), PyBytes::new(py, data))?;
        }
        Incoming::Disconnect(code, reason) => {
            dict.set_item(pyo3::intern!(py, "type"), pyo3::intern!(py, "websocket.disconnect"))?;
            dict.set_item(pyo3::intern!(py, "code"), code)?;
            dict.set_item(pyo3::intern!(py, "reason"), reason)?;
        }
    }
    Ok(dict)
}

/// What `fastrapi.websockets.WebSocket` calls; lives on the worker thread only.
#[pyclass(module = "fastrapi._fastrapi", unsendable)]
pub struct WebSocketChannel {
    pub shared: Rc<WsShared>,
}

#[pymethods]
impl WebSocketChannel {
    /// The next message (`websocket.receive`/`websocket.disconnect` dict), or an asyncio
    /// future that resolves to it.
    fn receive<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = &self.shared;
        let next = shared.inbox.borrow_mut().pop_front();
        if let Some(message) = next {
            if shared.inbox.borrow().len() + 1 == INBOX_LIMIT {
                shared.wake_reader.notify();
            }
            return Ok(message_dict(py, &message)?.into_any());
        }
        if shared.waiting.borrow().is_some() {
            return Err(PyRuntimeError::new_err("another coroutine is already waiting for the next message"));
        }
        let future = shared.bridge.event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        *shared.waiting.borrow_mut() = Some(future.clone().unbind());
        // The reader may be parked on a full inbox that just emptied.
        shared.wake_reader.notify();
        Ok(future)
    }

    /// `websocket.accept`: writes the 101 response.
    #[pyo3(signature = (subprotocol = None, headers = Vec::new()))]
    fn accept(&self, subprotocol: Option<String>, headers: Vec<(Vec<u8>, Vec<u8>)>) -> PyResult<()> {
        let shared = &self.shared;
        if shared.phase.get() != Phase::Connecting {
            return Err(PyRuntimeError::new_err("the WebSocket was already accepted or refused"));
        }
        if headers.iter().any(|(n, v)| n.iter().chain(v).any(|&b| b == b'\r' || b == b'\n')) {
            return Err(PyRuntimeError::new_err("header names and values must not contain CR or LF"));
        }
        let mut out = shared.outbox.borrow_mut();
        ws::write_response_head(&mut out, &shared.accept_key, subprotocol.as_deref(), headers);
        drop(out);
        shared.set_phase(Phase::Open);
        Ok(())
    }

    /// Queues a text frame; `True` means "await `drained()` before sending more".
    fn send_text(&self, text: &str) -> PyResult<bool> {
        self.shared.check_open()?;
        ws::encode_text(&mut self.shared.outbox.borrow_mut(), text);
        self.shared.wake_writer.notify();
        Ok(self.shared.over_high_water())
    }

    fn send_bytes(&self, data: &[u8]) -> PyResult<bool> {
        self.shared.check_open()?;
        ws::encode_binary(&mut self.shared.outbox.borrow_mut(), data);
        self.shared.wake_writer.notify();
        Ok(self.shared.over_high_water())
    }

    /// A future that resolves once what was queued has been written.
    fn drained<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let future = self.shared.bridge.event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        if self.shared.outbox.borrow().is_empty() || self.shared.gone.get() {
            future.call_method1("set_result", (py.None(),))?;
        } else {
            self.shared.drained.borrow_mut().push(future.clone().unbind());
        }
        Ok(future)
    }

    /// `websocket.close`: a close frame, or — before `accept` — an HTTP 403 refusal.
    #[pyo3(signature = (code = 1000, reason = String::new()))]
    fn close(&self, code: u16, reason: String) -> PyResult<()> {
        let shared = &self.shared;
        match shared.phase.get() {
            Phase::Connecting => shared.refuse(403, &[], b""),
            Phase::Open if shared.gone.get() => {
                return Err(PyConnectionResetError::new_err("the WebSocket connection is closed"));
            }
            Phase::Open => shared.send_close(code, &reason),
            Phase::Closing | Phase::Done => {}
        }
        Ok(())
    }

    /// `websocket.http.response.start` (the denial response extension).
    fn respond(&self, status: u16, headers: Vec<(Vec<u8>, Vec<u8>)>) -> PyResult<()> {
        if self.shared.phase.get() != Phase::Connecting {
            return Err(PyRuntimeError::new_err("the WebSocket was already accepted or refused"));
        }
        *self.shared.refusal.borrow_mut() = Some((status, headers, Vec::new()));
        Ok(())
    }

    /// `websocket.http.response.body`: the refusal is written with its last piece.
    #[pyo3(signature = (body, more_body = false))]
    fn respond_body(&self, body: &[u8], more_body: bool) -> PyResult<()> {
        let mut refusal = self.shared.refusal.borrow_mut();
        let Some((status, headers, collected)) = refusal.as_mut() else {
            return Err(PyRuntimeError::new_err("respond() must come first"));
        };
        collected.extend_from_slice(body);
        if !more_body {
            let (status, headers, collected) = (*status, std::mem::take(headers), std::mem::take(collected));
            drop(refusal);
            self.shared.refuse(status, &headers, &collected);
        }
        Ok(())
    }

    /// The connection's phase (`connecting`, `open`, `closing`, `done`), for tests and debugging.
    #[getter]
    fn state(&self) -> &'static str {
        match self.shared.phase.get() {
            Phase::Connecting => "connecting",
            Phase::Open => "open",
            Phase::Closing => "closing",
            Phase::Done => "done",
        }
    }
}
