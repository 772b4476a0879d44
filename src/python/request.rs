//! `ConnectionState`: whether a request's client is still connected, for
//! `Request.is_disconnected()` on routes the solver answers.

use pyo3::prelude::*;

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
