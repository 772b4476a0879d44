//! The ASGI 3 path: an application called with a scope built in Rust and `receive`/`send`
//! implemented in Rust. An [`Exchange`] is one HTTP request/response cycle, kept without any
//! I/O: the application's `receive`/`send` calls change it, the connection (`server/asgi.rs`)
//! reads its needs and does the reading and writing. `receive` and `send` return completed
//! awaitables whenever nothing has to wait, so a simple app runs to its end in one step.

pub mod proxy;
pub mod scope;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString};

use crate::http::response::{HeaderList, InvalidHeader};
use crate::python::aio::{AsyncBridge, Signal};
use crate::python::thread_bound::ThreadBound;

/// Body bytes the app may queue before `send` makes it wait for the socket.
const SEND_HIGH_WATER: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// `http.response.start` not yet sent.
    Idle,
    /// The head is known; body messages follow.
    Started,
    /// The last body message (or a pathsend) was sent.
    Complete,
}

/// The state one request's `receive`/`send` share with its connection.
pub struct Exchange {
    bridge: Rc<AsyncBridge>,
    head_only: bool,
    // -- request body, connection → app
    /// A body piece read but not yet asked for, and whether more follows it.
    staged: RefCell<Option<(Vec<u8>, bool)>>,
    /// The whole body has been handed to the app (or staged).
    body_done: Cell<bool>,
    /// The future of a `receive()` that found nothing to return.
    receiver: RefCell<Option<Py<PyAny>>>,
    /// The client is gone.
    disconnected: Cell<bool>,
    // -- response, app → connection
    phase: Cell<Phase>,
    head: RefCell<Option<(u16, HeaderList)>>,
    /// Body bytes sent by the app and not yet taken by the connection.
    outgoing: RefCell<Vec<u8>>,
    /// `http.response.pathsend`: the file to send as the body.
    pathsend: RefCell<Option<std::path::PathBuf>>,
    /// Bytes still allowed by the app's `content-length`, if it gave one.
    remaining: Cell<Option<u64>>,
    /// Futures of `send()` calls waiting for the outgoing bytes to be written.
    senders: RefCell<Vec<Py<PyAny>>>,
    /// Wakes the connection: the app sent something or asks for the body.
    pub wake: Signal,
}

impl Exchange {
    pub fn new(bridge: Rc<AsyncBridge>, head_only: bool) -> Rc<Exchange> {
        Rc::new(Exchange {
            bridge,
            head_only,
            staged: RefCell::new(None),
            body_done: Cell::new(false),
            receiver: RefCell::new(None),
            disconnected: Cell::new(false),
            phase: Cell::new(Phase::Idle),
            head: RefCell::new(None),
            outgoing: RefCell::new(Vec::new()),
            pathsend: RefCell::new(None),
            remaining: Cell::new(None),
            senders: RefCell::new(Vec::new()),
            wake: Signal::default(),
        })
    }

    // -- what the connection asks ----------------------------------------------------------

    pub fn phase(&self) -> Phase {
        self.phase.get()
    }

    pub fn is_disconnected(&self) -> bool {
        self.disconnected.get()
    }

    /// The app waits in `receive()` for a body piece the connection must read.
    pub fn wants_body(&self) -> bool {
        !self.body_done.get() && self.staged.borrow().is_none() && self.receiver_waiting()
    }

    /// The app waits in `receive()` with the body complete: only a disconnect can answer it.
    pub fn waits_for_disconnect(&self) -> bool {
        self.body_done.get() && self.staged.borrow().is_none() && self.receiver_waiting()
    }

    fn receiver_waiting(&self) -> bool {
        let receiver = self.receiver.borrow();
        receiver.as_ref().is_some_and(|f| Python::attach(|py| !future_done(py, f.bind(py))))
    }

    pub fn take_head(&self) -> Option<(u16, HeaderList)> {
        self.head.borrow_mut().take()
    }

    pub fn take_outgoing(&self, into: &mut Vec<u8>) {
        let mut outgoing = self.outgoing.borrow_mut();
        if into.is_empty() {
            std::mem::swap(into, &mut outgoing);
        } else {
            into.extend_from_slice(&outgoing);
            outgoing.clear();
        }
    }

    pub fn take_pathsend(&self) -> Option<std::path::PathBuf> {
        self.pathsend.borrow_mut().take()
    }

    // -- what the connection tells ---------------------------------------------------------

    /// A piece of the request body (`more`: it is not the last): to the waiting `receive()`,
    /// else kept until asked for.
    pub fn deliver_body(&self, piece: Vec<u8>, more: bool) {
        if !more {
            self.body_done.set(true);
        }
        if self.receiver.borrow().is_none() {
            *self.staged.borrow_mut() = Some((piece, more));
            return;
        }
        Python::attach(|py| {
            if let Some(future) = self.receiver.borrow_mut().take() {
                let future = future.bind(py);
                if !future_done(py, future) {
                    let resolved =
                        request_message(py, &piece, more).and_then(|m| future.call_method1("set_result", (m,)));
                    match resolved {
                        Ok(_) => {
                            self.bridge.wake();
                            return;
                        }
                        Err(e) => e.print(py),
                    }
                }
            }
            *self.staged.borrow_mut() = Some((piece, more));
        })
    }

    /// The client is gone: a waiting `receive()` gets `http.disconnect`, `send` raises from now on.
    pub fn disconnect(&self) {
        self.disconnected.set(true);
        self.release_receiver();
        self.release_senders();
    }

    /// The response is on the wire: a `receive()` waiting for a disconnect gets one now, as in
    /// uvicorn (the request is over for the app).
    pub fn response_written(&self) {
        self.release_receiver();
    }

    fn release_receiver(&self) {
        if self.receiver.borrow().is_none() || (!self.body_done.get() && !self.disconnected.get()) {
            return;
        }
        Python::attach(|py| {
            if let Some(future) = self.receiver.borrow_mut().take() {
                let future = future.bind(py);
                if !future_done(py, future) {
                    match disconnect_message(py).and_then(|m| future.call_method1("set_result", (m,))) {
                        Ok(_) => self.bridge.wake(),
                        Err(e) => e.print(py),
                    }
                }
            }
        })
    }

    /// The outgoing bytes are written: senders waiting for that go on.
    pub fn release_senders(&self) {
        let waiting: Vec<Py<PyAny>> = self.senders.borrow_mut().drain(..).collect();
        if waiting.is_empty() {
            return;
        }
        Python::attach(|py| {
            for future in waiting {
                let future = future.bind(py);
                if !future_done(py, future) {
                    if let Err(e) = future.call_method1("set_result", (py.None(),)) {
                        e.print(py);
                    }
                }
            }
        });
        self.bridge.wake();
    }

    // -- the app's side --------------------------------------------------------------------

    fn receive<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some((piece, more)) = self.staged.borrow_mut().take() {
            if more {
                // Read ahead of the next `receive()`, so it rarely has to wait.
                self.wake.notify();
            }
            return ready(py, request_message(py, &piece, more)?.into_any());
        }
        if self.disconnected.get() || (self.body_done.get() && self.phase.get() == Phase::Complete) {
            return ready(py, disconnect_message(py)?.into_any());
        }
        if self.receiver_waiting() {
            return Err(PyRuntimeError::new_err("another coroutine is already waiting in receive()"));
        }
        let future = self.bridge.event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        *self.receiver.borrow_mut() = Some(future.clone().unbind());
        self.wake.notify();
        Ok(future)
    }

    fn send<'py>(&self, py: Python<'py>, message: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyAny>> {
        let kind = message
            .get_item(pyo3::intern!(py, "type"))?
            .ok_or_else(|| PyRuntimeError::new_err("ASGI message without 'type'"))?;
        let kind = kind.cast::<PyString>().map_err(PyErr::from)?.to_str()?;
        match self.phase.get() {
            Phase::Idle => {
                if kind != "http.response.start" {
                    return Err(PyRuntimeError::new_err(format!(
                        "Expected ASGI message 'http.response.start', but got '{kind}'."
                    )));
                }
                self.start(py, message)?;
            }
            Phase::Started => match kind {
                "http.response.body" => {
                    if self.disconnected.get() {
                        return Err(PyOSError::new_err("the client disconnected"));
                    }
                    self.body(py, message)?;
                    // The last body message never waits: the response is complete once it is written.
                    if self.phase.get() != Phase::Complete && self.outgoing.borrow().len() > SEND_HIGH_WATER {
                        let loop_ = self.bridge.event_loop.bind(py);
                        let future = loop_.call_method0(pyo3::intern!(py, "create_future"))?;
                        self.senders.borrow_mut().push(future.clone().unbind());
                        return Ok(future);
                    }
                }
                "http.response.pathsend" => {
                    let path: std::path::PathBuf = item(message, "path")?.extract()?;
                    *self.pathsend.borrow_mut() = Some(path);
                    self.complete();
                }
                other => {
                    return Err(PyRuntimeError::new_err(format!(
                        "Expected ASGI message 'http.response.body', but got '{other}'."
                    )))
                }
            },
            Phase::Complete => {
                return Err(PyRuntimeError::new_err(format!(
                    "Unexpected ASGI message '{kind}' sent, after response already completed."
                )));
            }
        }
        ready(py, py.None().into_bound(py))
    }

    fn start(&self, py: Python<'_>, message: &Bound<'_, PyDict>) -> PyResult<()> {
        let status: u16 = item(message, "status")?.extract()?;
        let mut headers = HeaderList::default();
        if let Some(raw) = message.get_item(pyo3::intern!(py, "headers"))? {
            for pair in raw.try_iter()? {
                let (name, value): (Vec<u8>, Vec<u8>) = pair?.extract()?;
                let name = name.to_ascii_lowercase();
                headers.push_checked(&name, &value).map_err(|e: InvalidHeader| PyRuntimeError::new_err(e.message()))?;
                if name == b"content-length" && self.remaining.get().is_none() {
                    let length = std::str::from_utf8(&value).ok().and_then(|v| v.trim().parse::<u64>().ok());
                    let length = length.ok_or_else(|| PyRuntimeError::new_err("Invalid content-length header."))?;
                    self.remaining.set(Some(length));
                }
            }
        }
        if self.head_only {
            self.remaining.set(None);
        }
        *self.head.borrow_mut() = Some((status, headers));
        self.phase.set(Phase::Started);
        self.wake.notify();
        Ok(())
    }

    fn body(&self, py: Python<'_>, message: &Bound<'_, PyDict>) -> PyResult<()> {
        let more = match message.get_item(pyo3::intern!(py, "more_body"))? {
            Some(more) => more.is_truthy()?,
            None => false,
        };
        if let Some(body) = message.get_item(pyo3::intern!(py, "body"))? {
            if !self.head_only {
                let mut outgoing = self.outgoing.borrow_mut();
                let before = outgoing.len();
                append_bytes(&body, &mut outgoing)?;
                let added = (outgoing.len() - before) as u64;
                if let Some(remaining) = self.remaining.get() {
                    if added > remaining {
                        outgoing.truncate(before);
                        return Err(PyRuntimeError::new_err("Response content longer than Content-Length"));
                    }
                    self.remaining.set(Some(remaining - added));
                }
            }
        }
        if !more {
            if self.remaining.get().is_some_and(|r| r != 0) {
                return Err(PyRuntimeError::new_err("Response content shorter than Content-Length"));
            }
            self.complete();
        }
        self.wake.notify();
        Ok(())
    }

    fn complete(&self) {
        self.phase.set(Phase::Complete);
        self.wake.notify();
    }
}

fn item<'py>(message: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    message.get_item(key)?.ok_or_else(|| PyRuntimeError::new_err(format!("ASGI message without '{key}'")))
}

/// `bytes`, `bytearray` or `memoryview` contents appended to `out`.
fn append_bytes(body: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(bytes) = body.cast::<PyBytes>() {
        out.extend_from_slice(bytes.as_bytes());
    } else if let Ok(array) = body.cast::<PyByteArray>() {
        out.extend_from_slice(&array.to_vec());
    } else if body.is_instance_of::<PyMemoryView>() {
        let bytes = body.call_method0("tobytes")?;
        out.extend_from_slice(bytes.cast::<PyBytes>().map_err(PyErr::from)?.as_bytes());
    } else {
        let kind = body.get_type().name()?;
        return Err(pyo3::exceptions::PyTypeError::new_err(format!("response body must be bytes, not {kind}")));
    }
    Ok(())
}

fn future_done(py: Python<'_>, future: &Bound<'_, PyAny>) -> bool {
    future.call_method0(pyo3::intern!(py, "done")).and_then(|d| d.is_truthy()).unwrap_or(true)
}

fn request_message<'py>(py: Python<'py>, body: &[u8], more: bool) -> PyResult<Bound<'py, PyDict>> {
    let message = PyDict::new(py);
    message.set_item(pyo3::intern!(py, "type"), pyo3::intern!(py, "http.request"))?;
    message.set_item(pyo3::intern!(py, "body"), PyBytes::new(py, body))?;
    message.set_item(pyo3::intern!(py, "more_body"), more)?;
    Ok(message)
}

fn disconnect_message(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let message = PyDict::new(py);
    message.set_item(pyo3::intern!(py, "type"), pyo3::intern!(py, "http.disconnect"))?;
    Ok(message)
}

/// An awaitable that is already done: awaiting it returns `value` without suspending.
#[pyclass(module = "fastrapi._fastrapi", freelist = 64)]
pub struct Ready {
    value: Option<Py<PyAny>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match self.value.take() {
            // Ending the iteration with a value is how an awaitable returns it.
            Some(value) if !value.is_none(py) => Err(pyo3::exceptions::PyStopIteration::new_err((value,))),
            _ => Ok(None),
        }
    }
}

fn ready<'py>(py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    Ok(Bound::new(py, Ready { value: Some(value.unbind()) })?.into_any())
}

/// The ASGI `receive` callable of one request (a `Request` that holds it may end its life on a
/// pool thread: see [`ThreadBound`]).
#[pyclass(module = "fastrapi._fastrapi")]
pub struct Receive(ThreadBound<Rc<Exchange>>);

#[pymethods]
impl Receive {
    fn __call__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.0.get()?.receive(py)
    }
}

/// The ASGI `send` callable of one request.
#[pyclass(module = "fastrapi._fastrapi")]
pub struct Send(ThreadBound<Rc<Exchange>>);

#[pymethods]
impl Send {
    fn __call__<'py>(&self, py: Python<'py>, message: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyAny>> {
        self.0.get()?.send(py, message)
    }
}

/// Where the application's call stands.
pub enum AppRun {
    /// Suspended: its task finishes later.
    Running(crate::python::aio::PendingTask),
    Done(AppResult),
}

pub enum AppResult {
    Returned,
    /// The ASGI callable returned something other than `None` (its repr).
    ReturnedValue(String),
    Raised(PyErr),
}

impl AppResult {
    pub fn of(result: PyResult<Bound<'_, PyAny>>) -> AppResult {
        match result {
            Ok(value) if value.is_none() => AppResult::Returned,
            Ok(value) => AppResult::ReturnedValue(value.repr().map(|r| r.to_string()).unwrap_or_default()),
            Err(e) => AppResult::Raised(e),
        }
    }

    /// The result of a task that has finished.
    pub fn of_task(task: &crate::python::aio::PendingTask) -> AppResult {
        Python::attach(|py| AppResult::of(task.task.bind(py).call_method0(pyo3::intern!(py, "result"))))
    }
}

/// The `contextvars.Context` an app call runs in. The server reports the call's failure inside
/// it, as uvicorn does from the request's own task: sentry-sdk's dedupe keeps what it captured
/// there, and would otherwise send the logged exception as a second event.
#[derive(Default)]
pub struct AppContext(Option<Py<PyAny>>);

impl AppContext {
    pub fn run<R>(&self, py: Python<'_>, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(context) => crate::python::aio::run_in_context(context.bind(py), f),
            None => f(),
        }
    }
}

/// Calls `app(scope, receive, send)` and starts it as a task on this core's loop (a fresh copy
/// of the context per request, as uvicorn's task per request gives).
pub fn call_app(
    py: Python<'_>,
    bridge: &AsyncBridge,
    app: &Py<PyAny>,
    scope: Bound<'_, PyDict>,
    exchange: &Rc<Exchange>,
) -> (AppRun, AppContext) {
    let mut context = AppContext::default();
    let started = (|| {
        crate::python::thread_bound::drop_orphans();
        let receive = Bound::new(py, Receive(ThreadBound::new(exchange.clone())))?;
        let send = Bound::new(py, Send(ThreadBound::new(exchange.clone())))?;
        let coro = app.bind(py).call1((scope, receive, send))?;
        let made = crate::python::aio::copy_context(py)?;
        context = AppContext(Some(made.clone().unbind()));
        bridge.start_in(py, coro, &made)
    })();
    let run = match started {
        Ok(crate::python::aio::Started::Done(result)) => AppRun::Done(AppResult::of(result)),
        Ok(crate::python::aio::Started::Pending(task)) => AppRun::Running(task),
        Err(e) => AppRun::Done(AppResult::Raised(e)),
    };
    (run, context)
}

/// Logs the failure of an app task that outlived its response (background work raising).
#[pyclass(module = "fastrapi._fastrapi")]
pub struct LateFailure {
    client_gone: bool,
    context: AppContext,
}

#[pymethods]
impl LateFailure {
    fn __call__(&self, py: Python<'_>, task: &Bound<'_, PyAny>) -> PyResult<()> {
        // A test client waits for an app's background work as Starlette's does.
        py.import("fastrapi._testing")?.call_method1("background_done", (task,))?;
        if task.call_method0("cancelled")?.is_truthy()? {
            return Ok(());
        }
        let exception = task.call_method0("exception")?;
        if !exception.is_none() {
            let error = PyErr::from_value(exception);
            self.context.run(py, || crate::python::log::report_app_failure(py, &error, self.client_gone));
        }
        Ok(())
    }
}

/// Lets `task` finish on its own; a failure is still logged (unless it only says that the
/// client, gone already, is gone).
pub fn detach(task: crate::python::aio::PendingTask, client_gone: bool, context: AppContext) {
    Python::attach(|py| {
        let task = task.task.bind(py);
        let added = py
            .import("fastrapi._testing")
            .and_then(|testing| testing.call_method1("background_expected", (task,)))
            .and_then(|_| Bound::new(py, LateFailure { client_gone, context }))
            .and_then(|logger| task.call_method1("add_done_callback", (logger,)));
        if let Err(e) = added {
            e.print(py);
        }
    })
}
