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

/// An application failure seen by the server: reported as [`report_app_error`] does, unless it
/// only says that the client has gone (the `OSError` our `send` raises, or Starlette's
/// `ClientDisconnect` made of it), which uvicorn never logs. Either way the frames of its
/// traceback are cleared, so what they hold (a streaming generator with a `finally`, a database
/// session) is released now rather than at some later garbage collection.
pub fn report_app_failure(py: Python<'_>, error: &PyErr, client_gone: bool) {
    if !(client_gone && is_disconnect(py, error)) {
        report_app_error(py, error);
    }
    release_frames(py, error);
}

fn is_disconnect(py: Python<'_>, error: &PyErr) -> bool {
    if error.is_instance_of::<pyo3::exceptions::PyOSError>(py) {
        return true;
    }
    py.import("starlette.requests")
        .and_then(|requests| requests.getattr("ClientDisconnect"))
        .is_ok_and(|class| error.value(py).is_instance(&class).unwrap_or(false))
}

/// `traceback.clear_frames` on the exception and the ones it was raised from.
fn release_frames(py: Python<'_>, error: &PyErr) {
    let Ok(clear) = py.import("traceback").and_then(|traceback| traceback.getattr("clear_frames")) else {
        return;
    };
    let mut exception = error.value(py).clone().into_any();
    // The chain is short; the bound guards against a cycle of __context__ links.
    for _ in 0..16 {
        if let Ok(traceback) = exception.getattr(pyo3::intern!(py, "__traceback__")) {
            let _ = clear.call1((traceback,));
        }
        let linked = |name| exception.getattr(name).ok().filter(|e| !e.is_none());
        match linked(pyo3::intern!(py, "__context__")).or_else(|| linked(pyo3::intern!(py, "__cause__"))) {
            Some(next) => exception = next,
            None => break,
        }
    }
}

/// `fastrapi._fastrapi.report_app_error(exc)`: the server's report of an exception the app
/// answered itself but did not handle (Starlette's `ServerErrorMiddleware` re-raises it).
#[pyfunction(name = "report_app_error")]
pub fn report_exception(py: Python<'_>, exc: Bound<'_, pyo3::exceptions::PyBaseException>) {
    report_app_error(py, &PyErr::from_value(exc.into_any()));
}
