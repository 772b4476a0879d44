//! `RequestData`: the raw request handed to Python for routes that need more than parameters
//! (dependencies, `Request`, `Response`, `BackgroundTasks`). Built only for those routes.

use std::borrow::Cow;
use std::net::SocketAddr;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::http::Head;

#[pyclass(module = "fastrapi._fastrapi", frozen, get_all)]
pub struct RequestData {
    pub method: Py<PyString>,
    /// Percent-decoded path, as ASGI's `scope["path"]`.
    pub path: Py<PyString>,
    /// The path as sent, as ASGI's `scope["raw_path"]` (latin-1 text).
    pub raw_path: Py<PyString>,
    pub query: Py<PyString>,
    /// `[(name_lowercase: bytes, value: bytes), ...]` in request order.
    pub headers: Py<PyList>,
    pub body: Py<PyBytes>,
    pub client: Py<PyAny>,
    pub server: Py<PyAny>,
    /// `{name: raw str}` from the route template.
    pub path_params: Py<PyDict>,
    pub http_version: &'static str,
    /// A descriptor of the body's temporary file when a large upload was spooled (then `body`
    /// is empty); the Python side owns and closes it.
    pub body_fd: Option<i32>,
    /// The client connection, for `Request.is_disconnected()`.
    pub connection: Option<Py<ConnectionState>>,
}

/// Whether the client of a request is still there (`Request.is_disconnected()`).
#[pyclass(module = "fastrapi._fastrapi", frozen)]
pub struct ConnectionState {
    fd: std::os::fd::RawFd,
    /// Cleared when the connection task ends, before its socket is closed (the descriptor may
    /// then be reused: it is not looked at again).
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ConnectionState {
    pub fn new(fd: std::os::fd::RawFd, open: std::sync::Arc<std::sync::atomic::AtomicBool>) -> ConnectionState {
        ConnectionState { fd, open }
    }
}

#[pymethods]
impl ConnectionState {
    /// `True` once the client closed or reset its side (a peek at the socket, never a read).
    fn is_closed(&self) -> bool {
        if !self.open.load(std::sync::atomic::Ordering::Relaxed) {
            return true;
        }
        let mut byte = 0u8;
        // SAFETY: the connection is open, so `fd` is its socket; one byte of our own buffer.
        let n = unsafe { libc::recv(self.fd, (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
        match n {
            0 => true,
            n if n > 0 => false,
            _ => {
                let err = std::io::Error::last_os_error().raw_os_error();
                !matches!(err, Some(libc::EAGAIN) | Some(libc::EINTR))
            }
        }
    }
}

fn address(py: Python<'_>, addr: SocketAddr) -> PyResult<Py<PyAny>> {
    Ok(PyTuple::new(
        py,
        [addr.ip().to_string().into_pyobject(py)?.into_any(), addr.port().into_pyobject(py)?.into_any()],
    )?
    .into_any()
    .unbind())
}

impl RequestData {
    #[allow(clippy::too_many_arguments)]
    pub fn new<'py>(
        py: Python<'py>,
        head: &Head<'_>,
        decoded_path: &str,
        body: &Bound<'py, PyBytes>,
        path_params: &[(usize, Cow<'_, str>)],
        param_names: &[Py<PyString>],
        peer: SocketAddr,
        local: SocketAddr,
        body_fd: Option<i32>,
        connection: Option<Py<ConnectionState>>,
    ) -> PyResult<Bound<'py, RequestData>> {
        let headers = PyList::empty(py);
        for h in head.headers {
            let name = PyBytes::new(py, h.name.to_ascii_lowercase().as_bytes());
            headers.append(PyTuple::new(py, [name.into_any(), PyBytes::new(py, h.value).into_any()])?)?;
        }
        let params = PyDict::new(py);
        for (index, value) in path_params {
            if let Some(name) = param_names.get(*index) {
                params.set_item(name.bind(py), value.as_ref())?;
            }
        }
        let raw_path: String = head.path.chars().collect();
        Bound::new(
            py,
            RequestData {
                method: PyString::new(py, head.method_str).unbind(),
                path: PyString::new(py, decoded_path).unbind(),
                raw_path: PyString::new(py, &raw_path).unbind(),
                query: PyString::new(py, head.query).unbind(),
                headers: headers.unbind(),
                body: body.clone().unbind(),
                client: address(py, peer)?,
                server: address(py, local)?,
                path_params: params.unbind(),
                http_version: if head.version == 0 { "1.0" } else { "1.1" },
                body_fd,
                connection,
            },
        )
    }
}
