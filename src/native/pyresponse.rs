//! Python `Response` objects, files and exceptions → typed responses.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::ResponseFor;
use crate::dispatch::response::TEXT;
use crate::dispatch::{Body, CallContext, Response, Stream};
use crate::files::static_files::{Lookup as StaticLookup, StaticDir};
use crate::files::FileAnswer;
use crate::http::response::{status_allows_body, HeaderList};
use crate::http::Head;
use crate::python::log::report_app_error;
use crate::python::pool::{SyncMode, SyncPolicy};

/// A `fastrapi.responses.Response`: its status, raw headers (checked) and body, as given.
pub fn py_response(
    py: Python<'_>,
    ctx: &CallContext,
    response: &Bound<'_, PyAny>,
    answer: &ResponseFor,
) -> PyResult<Response> {
    let status: u16 = response.getattr(pyo3::intern!(py, "status_code"))?.extract()?;
    let hooks = &ctx.app.hooks;
    let is_file = match &hooks.file_response_class {
        Some(class) => response.is_instance(class.bind(py))?,
        None => false,
    };
    let mut converted = if is_file {
        file_response(py, ctx, response, status, answer)?
    } else {
        let headers = header_list(&response.getattr(pyo3::intern!(py, "raw_headers"))?)?;
        let iterator = response.getattr(pyo3::intern!(py, "body_iterator")).ok().filter(|i| !i.is_none());
        match iterator {
            Some(_) if answer.head_only || !status_allows_body(status) => Response::new(status, headers, Body::Omitted),
            Some(iterator) => {
                let stream = if iterator.hasattr(pyo3::intern!(py, "__aiter__"))? {
                    Stream::python_async(iterator.call_method0(pyo3::intern!(py, "__aiter__"))?.unbind())
                } else {
                    let policy = match answer.route {
                        Some(route) => ctx.app.routes[route].stream.clone(),
                        None => SyncPolicy::new(SyncMode::Auto),
                    };
                    Stream::python_sync(iterator.call_method0(pyo3::intern!(py, "__iter__"))?.unbind(), policy)
                };
                Response::new(status, headers, Body::Stream(Box::new(stream)))
            }
            None => {
                let body = response.getattr(pyo3::intern!(py, "body"))?;
                let body = body.cast::<PyBytes>().map_err(PyErr::from)?;
                Response::new(status, headers, Body::AsGiven(body.as_bytes().to_vec()))
            }
        }
    };
    if let Ok(server_error) = response.getattr(pyo3::intern!(py, "_fastrapi_server_error")) {
        converted.server_error = server_error.is_truthy()?;
    }
    let background = response.getattr(pyo3::intern!(py, "background"))?;
    if !background.is_none() {
        if let Some(expect) = &ctx.app.hooks.expect_background {
            expect.bind(py).call1((&background,))?;
        }
        converted.background = Some(background.unbind());
    }
    Ok(converted)
}

/// A response's `raw_headers`, each pair checked (a CR or LF from user input never reaches the
/// wire: the response fails as an application error instead).
fn header_list(headers: &Bound<'_, PyAny>) -> PyResult<HeaderList> {
    let mut list = HeaderList::default();
    for pair in headers.try_iter()? {
        let pair = pair?;
        // `(bytes, bytes)` tuples, as `init_headers` makes them; anything else pair-like is converted.
        let checked = match pair.cast::<PyTuple>().ok().and_then(|t| Some((t.get_item(0).ok()?, t.get_item(1).ok()?))) {
            Some((name, value)) if name.is_instance_of::<PyBytes>() && value.is_instance_of::<PyBytes>() => {
                let name = name.cast::<PyBytes>().map_err(PyErr::from)?;
                let value = value.cast::<PyBytes>().map_err(PyErr::from)?;
                list.push_checked(name.as_bytes(), value.as_bytes())
            }
            _ => {
                let (name, value): (Vec<u8>, Vec<u8>) = pair.extract()?;
                list.push_checked(&name, &value)
            }
        };
        checked.map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.message()))?;
    }
    Ok(list)
}

/// A `FileResponse`: Python settles its headers, Rust reads the file (and honours `Range`).
fn file_response(
    py: Python<'_>,
    ctx: &CallContext,
    response: &Bound<'_, PyAny>,
    status: u16,
    answer: &ResponseFor,
) -> PyResult<Response> {
    // Stats the file when the response was built without `stat_result`, raising as Starlette does.
    if let Some(prepare) = &ctx.app.hooks.prepare_file {
        prepare.bind(py).call1((response,))?;
    }
    let headers = header_list(&response.getattr(pyo3::intern!(py, "raw_headers"))?)?;
    let path: std::path::PathBuf = response.getattr(pyo3::intern!(py, "path"))?.extract()?;
    let opened = std::fs::File::open(&path).and_then(|file| Ok((file.metadata()?.len(), file)));
    let (size, file) = opened.map_err(|e| {
        pyo3::exceptions::PyRuntimeError::new_err(format!("File at path {} can not be read: {e}", path.display()))
    })?;
    let answered = crate::files::answer(file, size, status, headers, answer.range.as_ref(), answer.head_only)?;
    Ok(file_answer(answered, answer.head_only))
}

fn file_answer(answer: FileAnswer, head_only: bool) -> Response {
    match answer {
        FileAnswer::Refused { status, headers, body } => {
            let mut extra = HeaderList::default();
            for (name, value) in headers {
                extra.push(name, value);
            }
            Response::full(status, Some(TEXT), extra, body.as_bytes().to_vec())
        }
        FileAnswer::Whole { status, headers, body } => {
            Response::new(status, headers, Body::Full(body.unwrap_or_default()))
        }
        FileAnswer::Stream { status, headers, .. } if head_only => Response::new(status, headers, Body::Omitted),
        FileAnswer::Stream { status, headers, body } => {
            Response::new(status, headers, Body::Stream(Box::new(Stream::file(body))))
        }
    }
}

/// A file of a `StaticFiles` mount that Rust found itself (anything else is `StaticFiles`'s).
pub struct StaticHit(StaticLookup);

impl StaticHit {
    pub fn find(dir: &StaticDir, rest: &str, head: &Head<'_>) -> Option<StaticHit> {
        match dir.lookup(rest, head) {
            StaticLookup::Decline => None,
            hit => Some(StaticHit(hit)),
        }
    }

    pub fn respond(self, head: &Head<'_>) -> Response {
        match self.0 {
            StaticLookup::Found(found) => {
                let answer = ResponseFor::of(head, None);
                let range = answer.range.as_ref();
                match crate::files::answer(found.file, found.size, 200, found.headers, range, answer.head_only) {
                    Ok(answered) => file_answer(answered, answer.head_only),
                    Err(_) => Response::internal_error(),
                }
            }
            StaticLookup::NotModified(headers) => Response::new(304, headers, Body::Omitted),
            StaticLookup::Decline => Response::internal_error(),
        }
    }
}

/// Hands an exception to the app's handlers; anything unhandled is logged (with its traceback)
/// and answered with the prebuilt 500.
pub fn exception_response(py: Python<'_>, ctx: &CallContext, err: PyErr, answer: &ResponseFor) -> Response {
    let failed = match ctx.app.hooks.handle_exception.bind(py).call1((err.value(py),)) {
        Ok(handled) if !handled.is_none() => match py_response(py, ctx, &handled, answer) {
            Ok(response) => return response,
            Err(e) => e,
        },
        Ok(_) => err,
        Err(e) => e,
    };
    report_app_error(py, &failed);
    Response::internal_error()
}
