//! The error log: every failure the server reports goes to the `fastrapi.error` logger (where
//! uvicorn writes "Exception in ASGI application"), with its traceback when there is one.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Logs `message` on `fastrapi.error`, with `error`'s traceback if given. A logging failure is
/// printed to stderr rather than lost.
pub fn log_error(py: Python<'_>, message: &str, error: Option<&PyErr>) {
    log(py, "error", message, error);
}

/// Logs `message` as a warning on `fastrapi.error` (uvicorn's "Exceeded concurrency limit.").
pub fn log_warning(py: Python<'_>, message: &str) {
    log(py, "warning", message, None);
}

fn log(py: Python<'_>, level: &str, message: &str, error: Option<&PyErr>) {
    let logged = py.import("logging").and_then(|logging| {
        let logger = logging.call_method1("getLogger", ("fastrapi.error",))?;
        let kwargs = PyDict::new(py);
        if let Some(error) = error {
            kwargs.set_item("exc_info", error.value(py))?;
        }
        logger.call_method(level, (message,), Some(&kwargs))
    });
    if let Err(e) = logged {
        e.print(py);
        if let Some(error) = error {
            error.print(py);
        }
    }
}

/// An application exception the server answered itself (500, or the connection closed after
/// the response had started): logged with its traceback, and handed to a test client, which
/// re-raises it as Starlette's does.
pub fn report_app_error(py: Python<'_>, error: &PyErr) {
    let reported = py
        .import("fastrapi._testing")
        .and_then(|testing| testing.getattr("server_exception"))
        .and_then(|hook| hook.call1((error.value(py),)));
    if let Err(e) = reported {
        e.print(py);
    }
    log_error(py, "Exception in ASGI application", Some(error));
}

/// `fastrapi._fastrapi.report_app_error(exc)`: the server's report of an exception the app
/// answered itself but did not handle (Starlette's `ServerErrorMiddleware` re-raises it).
#[pyfunction(name = "report_app_error")]
pub fn report_exception(py: Python<'_>, exc: Bound<'_, pyo3::exceptions::PyBaseException>) {
    report_app_error(py, &PyErr::from_value(exc.into_any()));
}
