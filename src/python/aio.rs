//! The per-core asyncio bridge.
//!
//! Each worker owns one asyncio event loop (`fastrapi._loop.CoreLoop`) that is marked as
//! running on the worker thread for the whole life of the worker. `async def` endpoints start
//! as eager tasks inside the request's GIL hold: one that never suspends is finished before
//! the call returns, with no loop round trip. One that suspends is finished later by the
//! *pump*, a monoio task that steps the asyncio loop whenever its epoll fd becomes readable,
//! its next timer is due, or a new task was started — so awaiting real I/O never blocks the
//! worker's other connections, and no second thread ever runs Python.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::{FromRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// A one-waiter, edge-style wake-up: `notify` marks it, `wait` consumes the mark.
#[derive(Default)]
pub struct Signal {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Signal {
    pub fn notify(&self) {
        self.fired.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    pub fn wait(&self) -> SignalWait<'_> {
        SignalWait(self)
    }
}

pub struct SignalWait<'a>(&'a Signal);

impl Future for SignalWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.fired.replace(false) {
            Poll::Ready(())
        } else {
            *self.0.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Whether a suspended asyncio task is done, and who to wake when it is.
#[derive(Default)]
struct TaskState {
    done: Cell<bool>,
    signal: Signal,
}

/// The done-callback given to a suspended asyncio task; it wakes the waiting connection.
#[pyclass(unsendable)]
struct TaskWaiter {
    state: Rc<TaskState>,
}

#[pymethods]
impl TaskWaiter {
    fn __call__(&self, _task: &Bound<'_, PyAny>) {
        self.state.done.set(true);
        self.state.signal.notify();
    }
}

/// A task that suspended; `wait` resolves once it is done.
pub struct PendingTask {
    pub task: Py<PyAny>,
    state: Rc<TaskState>,
}

impl PendingTask {
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| self.poll_done(cx)).await
    }

    pub fn is_done(&self) -> bool {
        self.state.done.get()
    }

    /// Ready once the task is done (and from then on).
    pub fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.done.get() {
            return Poll::Ready(());
        }
        match Pin::new(&mut self.state.signal.wait()).poll(cx) {
            Poll::Ready(()) if self.state.done.get() => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }
}

pub enum Started<'py> {
    Done(PyResult<Bound<'py, PyAny>>),
    Pending(PendingTask),
}

pub struct AsyncBridge {
    pub event_loop: Py<PyAny>,
    /// `asyncio.Task`, and the keyword arguments that make one start eagerly on this loop.
    task_type: Py<PyAny>,
    task_kwargs: Py<pyo3::types::PyDict>,
    /// Python 3.11 has no `eager_start`: the loop's `call_soon` runs the first step when
    /// `_fastrapi_eager` is set (`fastrapi._loop.CoreLoop`).
    eager_flag: bool,
    /// The loop's ready queue: callbacks a task scheduled are left to the pump.
    ready: Py<PyAny>,
    step: Py<PyAny>,
    epoll_fd: RawFd,
    kick: Signal,
}

impl AsyncBridge {
    pub fn new(event_loop: &Bound<'_, PyAny>) -> PyResult<AsyncBridge> {
        let py = event_loop.py();
        let eager_start = py.version_info() >= (3, 12);
        let task_kwargs = pyo3::types::PyDict::new(py);
        task_kwargs.set_item("loop", event_loop)?;
        if eager_start {
            task_kwargs.set_item("eager_start", true)?;
        }
        Ok(AsyncBridge {
            event_loop: event_loop.clone().unbind(),
            task_type: py.import("asyncio")?.getattr("Task")?.unbind(),
            task_kwargs: task_kwargs.unbind(),
            eager_flag: !eager_start,
            ready: event_loop.getattr("_ready")?.unbind(),
            step: event_loop.getattr("fastrapi_step")?.unbind(),
            epoll_fd: event_loop.call_method0("fastrapi_fd")?.extract()?,
            kick: Signal::default(),
        })
    }

    /// Starts a coroutine on this core's loop.
    pub fn start<'py>(&self, py: Python<'py>, coro: Bound<'py, PyAny>) -> PyResult<Started<'py>> {
        self.start_with(py, coro, self.task_kwargs.bind(py))
    }

    /// Starts a coroutine on this core's loop in `context` (a `contextvars.Context`).
    pub fn start_in<'py>(
        &self,
        py: Python<'py>,
        coro: Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
    ) -> PyResult<Started<'py>> {
        let kwargs = self.task_kwargs.bind(py).copy()?;
        kwargs.set_item(pyo3::intern!(py, "context"), context)?;
        self.start_with(py, coro, &kwargs)
    }

    fn start_with<'py>(
        &self,
        py: Python<'py>,
        coro: Bound<'py, PyAny>,
        kwargs: &Bound<'py, pyo3::types::PyDict>,
    ) -> PyResult<Started<'py>> {
        let event_loop = self.event_loop.bind(py);
        if self.eager_flag {
            event_loop.setattr(pyo3::intern!(py, "_fastrapi_eager"), true)?;
        }
        let task = self.task_type.bind(py).call((coro,), Some(kwargs));
        if self.eager_flag {
            event_loop.setattr(pyo3::intern!(py, "_fastrapi_eager"), false)?;
        }
        let task = task?;
        if task.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
            if self.ready.bind(py).len()? > 0 {
                self.kick.notify();
            }
            return Ok(Started::Done(task.call_method0(pyo3::intern!(py, "result"))));
        }
        let state = Rc::new(TaskState::default());
        let waiter = Bound::new(py, TaskWaiter { state: state.clone() })?;
        task.call_method1(pyo3::intern!(py, "add_done_callback"), (waiter,))?;
        self.kick.notify();
        Ok(Started::Pending(PendingTask { task: task.unbind(), state }))
    }

    /// Makes the pump step the loop soon (a future was resolved from Rust).
    pub fn wake(&self) {
        self.kick.notify();
    }

    /// Steps the asyncio loop forever; dropped with the runtime when the worker stops.
    pub async fn pump(self: Rc<Self>) {
        // SAFETY: dup gives us our own descriptor for the loop's epoll fd; the stream owns it.
        let fd = unsafe { libc::dup(self.epoll_fd) };
        let readiness = if fd >= 0 {
            let std_stream = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
            monoio::net::UnixStream::from_std(std_stream).ok()
        } else {
            None
        };
        // Woken only by `kick` (Rust resolved a future or started a task), the loop runs its
        // ready callbacks without polling its fds; it still polls at least every few steps.
        let mut poll_io = true;
        let mut unpolled_steps = 0u32;
        // The fd-readiness wait and the timer live across iterations: re-arming them for every
        // wake-up would cost two ring operations and two cancellations per message.
        let mut readable: Option<Pin<Box<dyn Future<Output = std::io::Result<()>> + '_>>> = None;
        let mut timer: Option<(Instant, Pin<Box<monoio::time::Sleep>>)> = None;
        loop {
            let poll = poll_io || readiness.is_none() || unpolled_steps >= MAX_UNPOLLED_STEPS;
            unpolled_steps = if poll { 0 } else { unpolled_steps + 1 };
            let next = Python::attach(|py| match self.step.bind(py).call1((poll,)) {
                Ok(v) => v.extract::<Option<f64>>().unwrap_or(Some(0.01)),
                Err(e) => {
                    e.print(py);
                    Some(0.01)
                }
            });
            let timeout = match next {
                Some(t) if t <= 0.0 => {
                    YieldNow(false).await;
                    poll_io = false;
                    continue;
                }
                Some(t) => Duration::from_secs_f64(t.min(3600.0)),
                None => Duration::from_secs(3600),
            };
            if let Some(stream) = &readiness {
                let deadline = Instant::now() + timeout;
                // A timer that fires early only costs a spurious step; one that fires late would
                // delay the loop's own timers, so it is replaced.
                if timer.as_ref().is_none_or(|(at, _)| *at > deadline) {
                    timer = Some((deadline, Box::pin(monoio::time::sleep_until(deadline.into()))));
                }
                let readable_wait = readable.get_or_insert_with(|| Box::pin(stream.readable(false)));
                let Some((_, sleep)) = timer.as_mut() else {
                    continue;
                };
                poll_io = monoio::select! {
                    _ = readable_wait.as_mut() => {
                        readable = None;
                        true
                    },
                    _ = sleep.as_mut() => {
                        timer = None;
                        true
                    },
                    _ = self.kick.wait() => false,
                };
                continue;
            }
            // Without a readiness handle, poll the loop's fds at a bounded interval.
            let short = timeout.min(Duration::from_millis(5));
            monoio::select! {
                _ = monoio::time::sleep(short) => {},
                _ = self.kick.wait() => {},
            }
        }
    }
}

/// Steps run without polling the loop's fds before one polls them anyway (I/O is never starved
/// by callbacks that keep scheduling more callbacks).
const MAX_UNPOLLED_STEPS: u32 = 8;

/// Yields once to the scheduler so other ready tasks (connections) run before the pump.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A copy of the current `contextvars.Context` (what a new task would run in).
pub fn copy_context(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held; the call returns a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyContext_CopyCurrent()) }
}

/// Runs `f` with `context` entered (as `context.run(f)` would); `f` alone when it cannot be
/// entered (it is current already).
pub fn run_in_context<R>(context: &Bound<'_, PyAny>, f: impl FnOnce() -> R) -> R {
    // SAFETY: the GIL is held (a bound object); every successful enter is matched by an exit.
    let entered = unsafe { pyo3::ffi::PyContext_Enter(context.as_ptr()) } == 0;
    if !entered {
        // The error says the context is in use: clear it and report from here instead.
        drop(PyErr::take(context.py()));
    }
    let result = f();
    if entered {
        // SAFETY: as above; this thread entered `context` just before.
        unsafe { pyo3::ffi::PyContext_Exit(context.as_ptr()) };
    }
    result
}
