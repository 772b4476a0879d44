//! What one worker thread owns, shared by its connections. Never crosses threads.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use pyo3::prelude::*;

use super::config::ServerConfig;
use super::shutdown::Shutdown;
use crate::python::aio::AsyncBridge;
use crate::python::CompiledApp;

pub struct Worker {
    pub app: Arc<CompiledApp>,
    pub config: ServerConfig,
    pub bridge: Rc<AsyncBridge>,
    pub shutdown: Shutdown,
    /// Connections still open (graceful shutdown waits for them).
    pub active: std::cell::Cell<usize>,
    pub local_addr: SocketAddr,
    /// `fastrapi._server.log_access`, when the access log is on (no Python call per request otherwise).
    pub access_log: Option<Py<PyAny>>,
    /// What every ASGI scope of this worker shares, when the app has an ASGI part.
    pub asgi_scope: Option<crate::asgi::scope::ScopeBase>,
}
