//! The crate's error type. Conversion to Python exceptions happens here, once.

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

#[derive(Debug)]
pub enum FastrapiError {
    /// A configuration or route-plan problem found at start-up.
    Config(String),
    /// The operating system refused something (bind, socket options, io_uring set-up).
    Io(std::io::Error),
    /// The worker's runtime failed.
    Runtime(String),
}

impl std::fmt::Display for FastrapiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FastrapiError::Config(m) => write!(f, "{m}"),
            FastrapiError::Io(e) => write!(f, "{e}"),
            FastrapiError::Runtime(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for FastrapiError {}

impl From<std::io::Error> for FastrapiError {
    fn from(e: std::io::Error) -> Self {
        FastrapiError::Io(e)
    }
}

impl From<FastrapiError> for PyErr {
    fn from(e: FastrapiError) -> PyErr {
        match e {
            FastrapiError::Config(m) => PyValueError::new_err(m),
            FastrapiError::Io(e) => PyOSError::new_err((e.raw_os_error().unwrap_or(0), e.to_string())),
            FastrapiError::Runtime(m) => PyRuntimeError::new_err(m),
        }
    }
}
