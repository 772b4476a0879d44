//! The dispatcher: one request (head and complete body) → a typed [`Response`], through the
//! app's native middleware. Native route plans, static files and routing errors produce it
//! (`crate::native`); the connection encodes it once.

pub mod layers;
pub mod response;
pub mod stream;

use std::net::SocketAddr;

use pyo3::prelude::*;

pub use response::{Body, Response};
pub use stream::{Chunk, Stream};

use crate::http::Head;
use crate::native::{self, ResponseFor, Then};
use crate::python::aio::{AsyncBridge, PendingTask, Started};
use crate::python::log::log_error;
use crate::python::request::ConnectionState;
use crate::python::CompiledApp;

/// What the dispatcher needs of the worker and of the connection, for every request on it.
pub struct CallContext<'a> {
    pub app: &'a CompiledApp,
    pub bridge: &'a AsyncBridge,
    /// The listener's address, for absolute redirect URLs when the client sent no Host.
    pub local_addr: SocketAddr,
    pub peer: &'a crate::asgi::scope::Peer,
    /// The connection's socket and whether its task still runs (for `is_disconnected()`).
    pub conn_fd: std::os::fd::RawFd,
    pub conn_open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Made on the first request handed to Python, then shared by the connection's requests.
    pub conn_state: std::cell::OnceCell<Py<ConnectionState>>,
    /// What the worker's ASGI scopes share (the solver's requests are ASGI-shaped too).
    pub scope_base: Option<&'a crate::asgi::scope::ScopeBase>,
}

impl CallContext<'_> {
    pub fn connection_state(&self, py: Python<'_>) -> PyResult<Py<ConnectionState>> {
        if let Some(state) = self.conn_state.get() {
            return Ok(state.clone_ref(py));
        }
        let state = Py::new(py, ConnectionState::new(self.conn_fd, self.conn_open.clone()))?;
        let _ = self.conn_state.set(state.clone_ref(py));
        Ok(state)
    }

    /// What goes before a request's path in the URLs Starlette builds from its scope: the root
    /// path, which uvicorn puts in front of `scope["path"]`.
    pub fn url_path_prefix(&self) -> &str {
        self.scope_base.map_or("", |base| base.url_path_prefix())
    }

    /// The response's body did not go out (the client left): its background does not run, but
    /// what it must do anyway (exit the request's `yield` dependencies) is done.
    pub fn abort_background(&self, task: Py<PyAny>) {
        let Some(abort) = &self.app.hooks.abort_background else {
            return;
        };
        Python::attach(|py| {
            let started = abort.bind(py).call1((task,)).and_then(|coro| self.bridge.start(py, coro));
            match started {
                Ok(Started::Done(Err(e))) | Err(e) => log_error(py, "Exception in background task", Some(&e)),
                Ok(_) => {}
            }
        })
    }

    /// Starts a response's background work on this core's loop (its response is on the wire).
    pub fn run_background(&self, task: Py<PyAny>) {
        Python::attach(|py| {
            let started =
                self.app.hooks.run_background.bind(py).call1((task,)).and_then(|coro| self.bridge.start(py, coro));
            match started {
                Ok(Started::Done(Err(e))) | Err(e) => log_error(py, "Exception in background task", Some(&e)),
                Ok(_) => {}
            }
        })
    }
}

pub use native::{classify, Classified};

/// One request as the dispatcher sees it.
pub struct Request<'r, 'b> {
    pub head: &'r Head<'b>,
    pub body: &'r [u8],
    /// A `StaticFiles` file found while classifying the request.
    pub static_hit: Option<native::StaticHit>,
    /// The client and scheme that trusted proxy headers give.
    pub forwarded: &'r crate::asgi::proxy::Forwarded,
}

pub enum Dispatched {
    Ready(Response),
    /// An `async def` endpoint (or a solver) suspended: wait for the task, then [`complete`].
    Pending(Pending),
}

pub struct Pending {
    pub task: PendingTask,
    then: Then,
    answer: ResponseFor,
    /// The native middleware still to leave, with what they need of the request.
    layers: Option<layers::RequestFacts>,
}

impl Pending {
    pub fn new(task: PendingTask, then: Then, answer: ResponseFor) -> Pending {
        Pending { task, then, answer, layers: None }
    }
}

/// Answers one request whose head and body are complete, through the app's native middleware.
pub fn dispatch(ctx: &CallContext, request: Request) -> Dispatched {
    let middleware = &ctx.app.middleware;
    if middleware.is_empty() {
        return native::route(ctx, request);
    }
    let facts = layers::RequestFacts::of(request.head);
    if let Some((answer, entered)) = layers::enter(middleware, &request, ctx) {
        return Dispatched::Ready(layers::leave(&middleware[..entered], &facts, answer));
    }
    match native::route(ctx, request) {
        Dispatched::Ready(response) => Dispatched::Ready(layers::leave(middleware, &facts, response)),
        Dispatched::Pending(mut pending) => {
            pending.layers = Some(facts);
            Dispatched::Pending(pending)
        }
    }
}

/// What a request whose task has finished gets: its response, or (the app's exception handler
/// answering what the task raised) another task to wait for.
pub fn complete(ctx: &CallContext, pending: Pending) -> Dispatched {
    let Pending { task, then, answer, layers: facts } = pending;
    match native::complete(ctx, &task, then, answer) {
        Dispatched::Ready(response) => Dispatched::Ready(match &facts {
            Some(facts) => layers::leave(&ctx.app.middleware, facts, response),
            None => response,
        }),
        Dispatched::Pending(mut next) => {
            next.layers = facts;
            Dispatched::Pending(next)
        }
    }
}
