//! What one worker thread owns, shared by its connections. Never crosses threads.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use monoio::net::TcpStream;
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
    /// Requests served so far (for `limit_max_requests`).
    pub requests: std::cell::Cell<u64>,
    pub local_addr: SocketAddr,
    /// `fastrapi._server.log_access`, when the access log is on (no Python call per request otherwise).
    pub access_log: Option<Py<PyAny>>,
    /// What every ASGI scope of this worker shares, when the app has an ASGI part.
    pub asgi_scope: Option<crate::asgi::scope::ScopeBase>,
}

impl Worker {
    /// Writes a connection's output buffer within the write timeout.
    pub async fn flush(&self, stream: &mut TcpStream, wbuf: &mut Vec<u8>) -> std::io::Result<()> {
        super::io::flush(stream, wbuf, self.config.write_timeout).await
    }

    /// Counts a request; the one that reaches `limit_max_requests` starts the worker's retirement.
    pub fn count_request(&self) {
        let served = self.requests.get() + 1;
        self.requests.set(served);
        if self.config.limit_max_requests == Some(served) {
            self.shutdown.retire();
        }
    }
}
