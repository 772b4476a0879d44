//! Running the app's route plans: route the request, extract parameters, validate the body,
//! call the endpoint (or hand the request to its Python solver), and turn the result or the
//! exception into a typed [`Response`].

mod pyresponse;

use std::borrow::Cow;
use std::net::SocketAddr;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::asgi::proxy::Forwarded;
use crate::dispatch::layers::quote_location;
use crate::dispatch::{CallContext, Dispatched, Pending, Request, Response};
use crate::files::RangeRequest;
use crate::http::parse::Method;
use crate::http::Head;
use crate::json::JsonEncoder;
use crate::params::{self, latin1, RequestParts};
use crate::python::aio::{PendingTask, Started};
use crate::python::app::RoutePlan;
use crate::python::CompiledApp;
use crate::router::{decode_path, Lookup};

use pyresponse::py_response;
pub use pyresponse::{exception_response, StaticHit};

/// What a response depends on of its request, kept while an endpoint's task runs.
#[derive(Default)]
pub struct ResponseFor {
    /// A HEAD request: streaming bodies are not started, files not read.
    pub head_only: bool,
    /// `Range`/`If-Range` of a GET or HEAD, for file responses.
    pub range: Option<RangeRequest>,
    /// The route that answers (its policy runs a sync streaming body).
    pub route: Option<usize>,
    /// The request as `(scope, body, connection)`, kept while the task of a route whose app has
    /// exception handlers of its own runs (they are called with it if the task raises).
    pub for_handlers: Option<Py<PyTuple>>,
}

impl ResponseFor {
    fn of(head: &Head<'_>, route: Option<usize>) -> ResponseFor {
        ResponseFor { head_only: head.method == Method::Head, range: RangeRequest::of(head), route, for_handlers: None }
    }
}

/// How to turn a finished task's result into a response.
pub enum Then {
    /// The endpoint (or solver) of this route returned it.
    Route(usize),
    /// The app's exception handler answered what this route raised.
    Handled(usize),
}

/// Above this, a form upload streams to the app's own code instead of being read first.
const STREAM_BODY_ABOVE: usize = 1024 * 1024;

/// Which path serves a request.
pub enum Classified {
    /// A native plan, a routing error Rust answers, or (with a file) a `StaticFiles` hit.
    Native(Option<StaticHit>),
    /// The app's ASGI callable.
    Asgi,
}

/// Decides, from the head alone, whether the native table or the app's ASGI callable answers.
/// An app without a table is all ASGI; a route the table keeps only for its order goes to ASGI,
/// unless it is a `StaticFiles` mount whose file Rust finds itself.
pub fn classify(app: &CompiledApp, head: &Head<'_>) -> Classified {
    let has_asgi = app.asgi.is_some();
    if has_asgi && app.routes.is_empty() {
        return Classified::Asgi;
    }
    let path = decode_path(head.path);
    match app.router.lookup(&path, head.method, head.method_str) {
        Lookup::Found { route, params } => {
            let plan = &app.routes[route];
            let get_or_head = matches!(head.method, Method::Get | Method::Head);
            if let Some(dir) = plan.static_dir.as_ref().filter(|_| get_or_head) {
                let rest = params.first().map_or("", |(_, value)| value.as_ref());
                if let Some(hit) = StaticHit::find(dir, rest, head) {
                    return Classified::Native(Some(hit));
                }
            }
            let large_body = match head.framing {
                crate::http::Framing::Chunked => true,
                crate::http::Framing::Length(n) => n > STREAM_BODY_ABOVE,
                crate::http::Framing::None => false,
            };
            if has_asgi && (plan.delegate || (plan.stream_large_bodies && large_body)) {
                Classified::Asgi
            } else {
                Classified::Native(None)
            }
        }
        Lookup::MethodNotAllowed { route } if has_asgi && (app.routes[route].delegate || app.asgi_routing_errors) => {
            Classified::Asgi
        }
        // The app's handlers (or `http` middleware) must see its 404s: FastAPI's router answers.
        Lookup::NotFound if has_asgi && app.asgi_routing_errors => Classified::Asgi,
        _ => Classified::Native(None),
    }
}

/// Routes the request and answers it (or starts the task that will).
pub fn route(ctx: &CallContext, request: Request) -> Dispatched {
    if let Some(hit) = request.static_hit {
        return Dispatched::Ready(hit.respond(request.head));
    }
    let request = &request;
    let head = request.head;
    let path = decode_path(head.path);
    match ctx.app.router.lookup(&path, head.method, head.method_str) {
        Lookup::Found { route, params } => {
            let answer = ResponseFor::of(head, Some(route));
            Python::attach(|py| call_route(py, ctx, route, &params, request, answer))
        }
        Lookup::MethodNotAllowed { route } => {
            let allow = ctx.app.router.allow_header(route);
            let mut headers = crate::http::response::HeaderList::default();
            headers.push(&b"allow"[..], allow.as_bytes().to_vec());
            let body = br#"{"detail":"Method Not Allowed"}"#.to_vec();
            Dispatched::Ready(Response::full(405, Some(crate::dispatch::response::JSON), headers, body))
        }
        Lookup::NotFound => {
            let redirect = slash_redirect(ctx, head, request.forwarded, &path);
            Dispatched::Ready(match redirect {
                Some(location) => Response::redirect(307, location),
                None => Response::json(404, br#"{"detail":"Not Found"}"#.to_vec()),
            })
        }
    }
}

/// What a task that has finished gives: the response, or the app's exception handler's task.
pub fn complete(ctx: &CallContext, task: &PendingTask, then: Then, mut answer: ResponseFor) -> Dispatched {
    Python::attach(|py| {
        let result = task.task.bind(py).call_method0(pyo3::intern!(py, "result"));
        match then {
            Then::Route(route) => {
                let kept = answer.for_handlers.take();
                answer_result(py, ctx, route, result, || kept.map(|k| k.into_bound(py)).ok_or_else(no_request), answer)
            }
            Then::Handled(route) => Dispatched::Ready(finish(py, ctx, &ctx.app.routes[route], result, &answer)),
        }
    })
}

fn no_request() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("the request was not kept for the app's exception handlers")
}

/// The response for the endpoint's result; what it (or its serialisation) raised goes to the
/// app's own exception handlers when it has them (`request()` gives them the request).
fn answer_result<'py>(
    py: Python<'py>,
    ctx: &CallContext,
    route: usize,
    result: PyResult<Bound<'py, PyAny>>,
    request: impl FnOnce() -> PyResult<Bound<'py, PyTuple>>,
    answer: ResponseFor,
) -> Dispatched {
    let plan = &ctx.app.routes[route];
    let err = match result.and_then(|value| render(py, ctx, plan, &value, &answer)) {
        Ok(response) => return Dispatched::Ready(response),
        Err(e) => e,
    };
    let Some(on_error) = &plan.on_error else {
        return Dispatched::Ready(exception_response(py, ctx, err, &answer));
    };
    let handled = request().and_then(|request| {
        let (scope, body, connection): (Bound<PyAny>, Bound<PyAny>, Bound<PyAny>) = request.extract()?;
        on_error.bind(py).call1((scope, body, connection, err.value(py)))
    });
    let awaitable = match handled {
        Ok(awaitable) => awaitable,
        Err(e) => return Dispatched::Ready(exception_response(py, ctx, e, &answer)),
    };
    match ctx.bridge.start(py, awaitable) {
        Ok(Started::Done(result)) => Dispatched::Ready(finish(py, ctx, plan, result, &answer)),
        Ok(Started::Pending(task)) => Dispatched::Pending(Pending::new(task, Then::Handled(route), answer)),
        Err(e) => Dispatched::Ready(exception_response(py, ctx, e, &answer)),
    }
}

/// The request as Python code that takes a whole request gets it (a solver, the app's
/// exception handlers): `(scope, body, connection)`.
fn request_args<'py>(
    py: Python<'py>,
    ctx: &CallContext,
    plan: &RoutePlan,
    path_params: &[(usize, Cow<'_, str>)],
    request: &Request,
) -> PyResult<Bound<'py, PyTuple>> {
    let scope = request_scope(py, ctx, plan, path_params, request)?;
    let body = PyBytes::new(py, request.body);
    PyTuple::new(py, [scope.into_any(), body.into_any(), ctx.connection_state(py)?.into_bound(py).into_any()])
}

/// Starlette's `redirect_slashes`: the same path with the trailing slash toggled, if it routes.
fn slash_redirect(ctx: &CallContext, head: &Head<'_>, forwarded: &Forwarded, path: &str) -> Option<String> {
    if !ctx.app.redirect_slashes || path == "/" {
        return None;
    }
    let toggled: Cow<str> =
        if path.ends_with('/') { Cow::Borrowed(path.trim_end_matches('/')) } else { Cow::Owned(format!("{path}/")) };
    if !ctx.app.router.path_matches(&toggled) {
        return None;
    }
    // Starlette's URL(scope=...): the scope's scheme and path (the root path in front).
    let scheme = forwarded.scheme.unwrap_or("http");
    let default_port = if matches!(scheme, "https" | "wss") { 443 } else { 80 };
    let prefix = ctx.url_path_prefix();
    let mut url = match head.header("host") {
        Some(host) => format!("{scheme}://{}{prefix}{toggled}", latin1(host)),
        None => match ctx.local_addr {
            SocketAddr::V4(a) if a.port() == default_port => format!("{scheme}://{}{prefix}{toggled}", a.ip()),
            SocketAddr::V6(a) if a.port() == default_port => format!("{scheme}://[{}]{prefix}{toggled}", a.ip()),
            a => format!("{scheme}://{a}{prefix}{toggled}"),
        },
    };
    if !head.query.is_empty() {
        url.push('?');
        url.push_str(head.query);
    }
    Some(quote_location(&url))
}

fn call_route(
    py: Python<'_>,
    ctx: &CallContext,
    route: usize,
    path_params: &[(usize, Cow<'_, str>)],
    request: &Request,
    answer: ResponseFor,
) -> Dispatched {
    let plan = &ctx.app.routes[route];
    let solver = match (&plan.solver, &plan.fallback) {
        (Some(solver), _) => Ok(Some(solver)),
        (None, Some(fallback)) => overridden(py, plan).map(|yes| yes.then_some(fallback)),
        (None, None) => Ok(None),
    };
    let called = match solver {
        Ok(Some(solver)) => {
            solve_in_python(py, ctx, plan, solver, path_params, request).map(|c| Ok(Called::awaiting(c)))
        }
        Ok(None) => prepare_and_call(py, ctx, plan, path_params, request, &answer),
        Err(e) => Err(e),
    };
    let live_request = || request_args(py, ctx, plan, path_params, request);
    let result = match called {
        Ok(Ok(result)) => result,
        // The parameters or the body did not validate: the 422 (or the handler's answer).
        Ok(Err(response)) => return Dispatched::Ready(response),
        Err(e) => return answer_result(py, ctx, route, Err(e), live_request, answer),
    };
    let Some(awaitable) = result.awaitable else {
        return answer_result(py, ctx, route, result.value, live_request, answer);
    };
    match ctx.bridge.start(py, awaitable) {
        Ok(Started::Done(result)) => answer_result(py, ctx, route, result, live_request, answer),
        Ok(Started::Pending(task)) => {
            let mut answer = answer;
            if plan.on_error.is_some() {
                // Kept now: the request's buffers are gone when the task finishes.
                match live_request() {
                    Ok(kept) => answer.for_handlers = Some(kept.unbind()),
                    Err(e) => crate::python::log::report_app_error(py, &e),
                }
            }
            Dispatched::Pending(Pending::new(task, Then::Route(route), answer))
        }
        Err(e) => Dispatched::Ready(exception_response(py, ctx, e, &answer)),
    }
}

/// The app has `dependency_overrides` set (then FastAPI's own handler resolves them).
fn overridden(py: Python<'_>, plan: &RoutePlan) -> PyResult<bool> {
    match &plan.overrides {
        Some(provider) => provider.bind(py).getattr(pyo3::intern!(py, "dependency_overrides"))?.is_truthy(),
        None => Ok(false),
    }
}

/// Hands the whole request to the route's Python solver (`fastrapi._solver`): the ASGI scope
/// (path parameters as sent), the body read already, the connection; returns its coroutine.
fn solve_in_python<'py>(
    py: Python<'py>,
    ctx: &CallContext,
    plan: &RoutePlan,
    solver: &Py<PyAny>,
    path_params: &[(usize, Cow<'_, str>)],
    request: &Request,
) -> PyResult<Bound<'py, PyAny>> {
    solver.bind(py).call1(request_args(py, ctx, plan, path_params, request)?)
}

/// The request's ASGI scope, its path parameters as sent.
fn request_scope<'py>(
    py: Python<'py>,
    ctx: &CallContext,
    plan: &RoutePlan,
    path_params: &[(usize, Cow<'_, str>)],
    request: &Request,
) -> PyResult<Bound<'py, PyDict>> {
    let Some(base) = ctx.scope_base else {
        return Err(pyo3::exceptions::PyRuntimeError::new_err("this worker builds no scopes"));
    };
    let scope = base.build(py, request.head, ctx.peer, request.forwarded, false)?;
    let params = PyDict::new(py);
    for (index, value) in path_params {
        if let Some(name) = plan.path_param_names.get(*index) {
            params.set_item(name.bind(py), value.as_ref())?;
        }
    }
    scope.set_item(pyo3::intern!(py, "path_params"), params)?;
    Ok(scope)
}

/// What calling an endpoint gave: its value, or an awaitable that will give it (an `async def`,
/// a solver, or a sync endpoint sent to the thread pool).
struct Called<'py> {
    value: PyResult<Bound<'py, PyAny>>,
    awaitable: Option<Bound<'py, PyAny>>,
}

impl<'py> Called<'py> {
    fn awaiting(awaitable: Bound<'py, PyAny>) -> Called<'py> {
        let py = awaitable.py();
        Called { value: Ok(py.None().into_bound(py)), awaitable: Some(awaitable) }
    }
}

/// Extracts parameters and calls the endpoint. `Ok(Err(response))`: they did not validate.
fn prepare_and_call<'py>(
    py: Python<'py>,
    ctx: &CallContext,
    plan: &RoutePlan,
    path_params: &[(usize, Cow<'_, str>)],
    request: &Request,
    answer: &ResponseFor,
) -> PyResult<Result<Called<'py>, Response>> {
    let head = request.head;
    let kwargs = PyDict::new(py);
    let mut errors = Vec::new();
    let parts = RequestParts { path_params, query: head.query, headers: head.headers };
    params::extract(py, &plan.params, &parts, &kwargs, &mut errors)?;
    let mut body_obj = None;
    if let Some(decoder) = &plan.body {
        let content_type = head.header("content-type").map(latin1);
        let raw = PyBytes::new(py, request.body);
        let decoded = decoder.bind(py).call1((&raw, content_type))?;
        let decoded = decoded.cast_into::<PyTuple>().map_err(PyErr::from)?;
        let ok: bool = decoded.get_item(0)?.extract()?;
        let payload = decoded.get_item(1)?;
        if ok {
            kwargs.update(payload.cast::<pyo3::types::PyMapping>().map_err(PyErr::from)?)?;
        } else {
            for err in payload.try_iter()? {
                errors.push(err?);
            }
        }
        body_obj = Some(raw);
    }
    if !errors.is_empty() {
        if let Some(fallback) = &plan.fallback {
            return solve_in_python(py, ctx, plan, fallback, path_params, request).map(|c| Ok(Called::awaiting(c)));
        }
        let errors = PyList::new(py, errors)?;
        let response = ctx.app.hooks.validation_error.bind(py).call1((errors, body_obj))?;
        return py_response(py, ctx, &response, answer).map(Err);
    }
    if plan.wants_scope {
        let scope = request_scope(py, ctx, plan, path_params, request)?;
        kwargs.set_item(pyo3::intern!(py, "__fastrapi_scope__"), scope)?;
        let body = body_obj.unwrap_or_else(|| PyBytes::new(py, request.body));
        kwargs.set_item(pyo3::intern!(py, "__fastrapi_body__"), body)?;
        kwargs.set_item(pyo3::intern!(py, "__fastrapi_connection__"), ctx.connection_state(py)?)?;
    }
    let endpoint = plan.endpoint.bind(py);
    let args = pyo3::types::PyTuple::empty(py);
    Ok(Ok(match &plan.sync {
        None => Called::awaiting(endpoint.call((), Some(&kwargs))?),
        Some(sync) if sync.offloads() => Called::awaiting(sync.call_pooled(endpoint, &args, Some(&kwargs))?),
        Some(sync) => Called { value: sync.call_inline(endpoint, &args, Some(&kwargs)), awaitable: None },
    }))
}

/// The response for a finished endpoint call (its value or its exception).
fn finish(
    py: Python<'_>,
    ctx: &CallContext,
    plan: &RoutePlan,
    result: PyResult<Bound<'_, PyAny>>,
    answer: &ResponseFor,
) -> Response {
    result
        .and_then(|value| render(py, ctx, plan, &value, answer))
        .unwrap_or_else(|e| exception_response(py, ctx, e, answer))
}

fn render(
    py: Python<'_>,
    ctx: &CallContext,
    plan: &RoutePlan,
    value: &Bound<'_, PyAny>,
    answer: &ResponseFor,
) -> PyResult<Response> {
    let hooks = &ctx.app.hooks;
    if value.is_instance(hooks.response_class.bind(py))? {
        return py_response(py, ctx, value, answer);
    }
    let serialized;
    let value = match &plan.serialize {
        Some(serialize) => {
            serialized = serialize.bind(py).call1((value,))?;
            if serialized.is_instance(hooks.response_class.bind(py))? {
                return py_response(py, ctx, &serialized, answer);
            }
            if let Ok(bytes) = serialized.cast::<PyBytes>() {
                // Already JSON (pydantic's dump_json for a response_model).
                return Ok(Response::json(plan.status_code, bytes.as_bytes().to_vec()));
            }
            &serialized
        }
        None => value,
    };
    let mut body = Vec::with_capacity(128);
    JsonEncoder::new(Some(hooks.jsonable.bind(py))).encode(value, &mut body)?;
    Ok(Response::json(plan.status_code, body))
}
