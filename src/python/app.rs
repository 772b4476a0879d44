//! The route plans Python hands to Rust once at start-up (`fastrapi._fastrapi.AppCore`).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::errors::FastrapiError;
use crate::params::{Location, ParamPlan, Scalar};
use crate::python::pool::{SyncMode, SyncPolicy};
use crate::router::Router;

/// How an endpoint is called and its result turned into a response.
pub struct RoutePlan {
    pub endpoint: Py<PyAny>,
    pub is_async: bool,
    /// Where a sync endpoint (called from Rust, not by a solver) runs: inline or in the pool.
    pub sync: Option<SyncPolicy>,
    /// Where the `__next__` of a sync iterator of this route's streaming responses runs.
    pub stream: SyncPolicy,
    pub params: Vec<ParamPlan>,
    /// `decode(body: bytes, content_type: str | None) -> (ok, kwargs | errors)`, when the route reads a body.
    pub body: Option<Py<PyAny>>,
    pub status_code: u16,
    /// Optional Python post-processing of the endpoint's return value (e.g. `response_model`).
    pub serialize: Option<Py<PyAny>>,
    /// Names of path parameters in template order, interned.
    pub path_param_names: Vec<Py<PyString>>,
    /// `solve(scope, body, connection) -> awaitable`: the whole request is handled in Python
    /// (`fastrapi._solver`: dependencies, injected `Request`/`Response`, custom handlers).
    pub solver: Option<Py<PyAny>>,
    /// A solver that answers what the native path does not: a request whose parameters or body
    /// do not validate (so errors and their order are FastAPI's), or one made while `overrides`
    /// (the app) has `dependency_overrides` set.
    pub fallback: Option<Py<PyAny>>,
    /// `on_error(scope, body, connection, exc) -> awaitable`: the app's own exception handlers
    /// answer what the route raised (with the request, which Rust builds only then).
    pub on_error: Option<Py<PyAny>>,
    pub overrides: Option<Py<PyAny>>,
    /// The endpoint is called with the request's ASGI scope, body and connection as well
    /// (`fastrapi._dependencies`: a dependency that takes the `Request`).
    pub wants_scope: bool,
    /// A `StaticFiles` mount: regular files are served from Rust, the rest as the route says.
    pub static_dir: Option<crate::files::static_files::StaticDir>,
    /// The app's own code serves this route over ASGI (the route is in the table so that routes
    /// keep Starlette's order).
    pub delegate: bool,
    /// Requests whose body is large (or chunked) go to the ASGI app, which streams it (uploads).
    pub stream_large_bodies: bool,
}

/// Python callables the server needs outside any one route.
pub struct Hooks {
    /// `handle_exception(exc) -> Response | None`; `None` means "answer with the prebuilt 500".
    pub handle_exception: Py<PyAny>,
    /// `validation_error(errors: list, body) -> Response`.
    pub validation_error: Py<PyAny>,
    /// `jsonable_encoder(obj)`, the JSON slow path.
    pub jsonable: Py<PyAny>,
    /// The base `Response` class: instances are written as they are.
    pub response_class: Py<PyAny>,
    /// `run_background(task) -> coroutine`: runs a response's background task, logging failures.
    pub run_background: Py<PyAny>,
    /// `abort_background(task) -> coroutine`: for a response whose body did not go out.
    pub abort_background: Option<Py<PyAny>>,
    /// `expect_background(task)`: told when a response with a background task is written.
    pub expect_background: Option<Py<PyAny>>,
    /// Starlette's `FileResponse`: instances are sent from disk by Rust.
    pub file_response_class: Option<Py<PyAny>>,
    /// `prepare_file(response)`: stats a `FileResponse` made without `stat_result`, raising as
    /// Starlette does.
    pub prepare_file: Option<Py<PyAny>>,
}

pub struct CompiledApp {
    /// Native middleware around every route, outermost first.
    pub middleware: Vec<crate::middleware::Layer>,
    pub router: Router,
    pub routes: Vec<RoutePlan>,
    pub hooks: Hooks,
    pub redirect_slashes: bool,
    /// A GZip layer is configured (HEAD answers then carry their body through the layers).
    pub has_gzip: bool,
    /// The ASGI application that serves every request no native route takes.
    pub asgi: Option<Py<PyAny>>,
    /// 404s and 405s go to the ASGI application too (its handlers or `http` middleware must see them).
    pub asgi_routing_errors: bool,
}

/// The app as Rust sees it. Built once from Python plan objects; immutable afterwards.
#[pyclass(module = "fastrapi._fastrapi", frozen)]
pub struct AppCore {
    pub inner: Arc<CompiledApp>,
}

fn optional_callable(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<Py<PyAny>>> {
    let value = obj.getattr(name)?;
    Ok(if value.is_none() { None } else { Some(value.unbind()) })
}

fn param_from_py(p: &Bound<'_, PyAny>) -> PyResult<ParamPlan> {
    let py = p.py();
    let location = match p.getattr("location")?.extract::<String>()?.as_str() {
        "path" => Location::Path,
        "query" => Location::Query,
        "header" => Location::Header,
        "cookie" => Location::Cookie,
        other => return Err(FastrapiError::Config(format!("unknown parameter location {other:?}")).into()),
    };
    let scalar = match p.getattr("scalar")?.extract::<String>()?.as_str() {
        "str" => Scalar::Str,
        "int" => Scalar::Int,
        "float" => Scalar::Float,
        "bool" => Scalar::Bool,
        _ => Scalar::Other,
    };
    let name: String = p.getattr("name")?.extract()?;
    let alias: String = p.getattr("alias")?.extract()?;
    let key = if location == Location::Header { alias.to_ascii_lowercase() } else { alias.clone() };
    Ok(ParamPlan {
        name: PyString::intern(py, &name).unbind(),
        location,
        loc: (PyString::intern(py, location.as_str()).unbind(), PyString::intern(py, &alias).unbind()),
        key,
        scalar,
        required: p.getattr("required")?.extract()?,
        default: p.getattr("default")?.unbind(),
        default_factory: optional_callable(p, "default_factory")?,
        validator: p.getattr("validate")?.unbind(),
        is_sequence: p.getattr("is_sequence")?.extract()?,
        path_index: None,
    })
}

/// `static_files`: `(realpath of the directory, follow_symlink)` or `None`.
fn static_dir_from_py(route: &Bound<'_, PyAny>) -> PyResult<Option<crate::files::static_files::StaticDir>> {
    let Ok(value) = route.getattr("static_files") else {
        return Ok(None);
    };
    if value.is_none() {
        return Ok(None);
    }
    let (root, follow_symlink): (std::path::PathBuf, bool) = value.extract()?;
    Ok(Some(crate::files::static_files::StaticDir::new(root, follow_symlink)))
}

#[pymethods]
impl AppCore {
    /// `routes`: plan objects with `path`, `methods`, `endpoint`, `is_async`, `params`, `body`,
    /// `status_code`, `serialize`; `hooks`: an object with the callables of [`Hooks`].
    #[new]
    #[pyo3(signature = (
        routes, hooks, redirect_slashes = true, middleware = None, asgi_app = None, sync_mode = "auto",
        asgi_routing_errors = false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        routes: &Bound<'_, PyList>,
        hooks: &Bound<'_, PyAny>,
        redirect_slashes: bool,
        middleware: Option<&Bound<'_, PyList>>,
        asgi_app: Option<Py<PyAny>>,
        sync_mode: &str,
        asgi_routing_errors: bool,
    ) -> PyResult<Self> {
        let sync_mode = SyncMode::parse(sync_mode)?;
        let mut layers = Vec::new();
        for item in middleware.into_iter().flatten() {
            layers.push(crate::middleware::Layer::from_py(&item)?);
        }
        let py = routes.py();
        let mut router = Router::default();
        let mut plans = Vec::with_capacity(routes.len());
        for route in routes.iter() {
            let path: String = route.getattr("path")?.extract()?;
            let methods: Vec<String> = route.getattr("methods")?.extract()?;
            let id = router.add(&path, &methods).map_err(|e| FastrapiError::Config(format!("route {path:?}: {e}")))?;
            debug_assert_eq!(id, plans.len());
            let mut params = Vec::new();
            for p in route.getattr("params")?.try_iter()? {
                let mut plan = param_from_py(&p?)?;
                if plan.location == Location::Path {
                    let index = router.template(id).params.iter().position(|(name, _)| *name == plan.key);
                    if index.is_none() {
                        let msg = format!("route {path:?}: path parameter {:?} is not in the path", plan.key);
                        return Err(FastrapiError::Config(msg).into());
                    }
                    plan.path_index = index;
                }
                params.push(plan);
            }
            let path_param_names =
                router.template(id).params.iter().map(|(name, _)| PyString::intern(py, name).unbind()).collect();
            let endpoint = route.getattr("endpoint")?;
            let is_async: bool = route.getattr("is_async")?.extract()?;
            let solver = optional_callable(&route, "solver")?;
            let delegate = route.getattr("delegate").map_or(Ok(false), |d| d.extract())?;
            let sync = match (is_async, &solver) {
                (false, None) if !delegate => Some(SyncPolicy::for_callable(&endpoint, sync_mode)?),
                _ => None,
            };
            plans.push(RoutePlan {
                stream: SyncPolicy::for_callable(&endpoint, sync_mode)?,
                sync,
                endpoint: endpoint.unbind(),
                is_async,
                params,
                body: optional_callable(&route, "body")?,
                status_code: route.getattr("status_code")?.extract()?,
                serialize: optional_callable(&route, "serialize")?,
                path_param_names,
                solver,
                fallback: optional_callable(&route, "fallback")?,
                on_error: optional_callable(&route, "on_error")?,
                overrides: route.getattr("overrides").ok().filter(|o| !o.is_none()).map(Bound::unbind),
                wants_scope: route.getattr("wants_scope").map_or(Ok(false), |d| d.extract())?,
                static_dir: static_dir_from_py(&route)?,
                delegate,
                stream_large_bodies: route.getattr("stream_large_bodies").map_or(Ok(false), |d| d.extract())?,
            });
        }
        let hooks = Hooks {
            handle_exception: hooks.getattr("handle_exception")?.unbind(),
            validation_error: hooks.getattr("validation_error")?.unbind(),
            jsonable: hooks.getattr("jsonable_encoder")?.unbind(),
            response_class: hooks.getattr("response_class")?.unbind(),
            run_background: hooks.getattr("run_background")?.unbind(),
            abort_background: hooks.getattr("abort_background").ok().filter(|h| !h.is_none()).map(Bound::unbind),
            expect_background: match hooks.getattr("expect_background") {
                Ok(hook) if !hook.is_none() => Some(hook.unbind()),
                _ => None,
            },
            file_response_class: hooks.getattr("file_response_class").ok().filter(|c| !c.is_none()).map(Bound::unbind),
            prepare_file: hooks.getattr("prepare_file").ok().filter(|c| !c.is_none()).map(Bound::unbind),
        };
        Ok(AppCore {
            inner: Arc::new(CompiledApp {
                has_gzip: layers.iter().any(|layer| matches!(layer, crate::middleware::Layer::GZip(_))),
                middleware: layers,
                router,
                routes: plans,
                hooks,
                redirect_slashes,
                asgi: asgi_app,
                asgi_routing_errors,
            }),
        })
    }

    /// Number of routes in the table.
    fn __len__(&self) -> usize {
        self.inner.routes.len()
    }

    /// The route that answers `method` on the (decoded) `path`, with its path parameters as
    /// sent, or `None` when none does (also for a 405): Starlette's matching, from Rust.
    fn match_route<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        path: &str,
    ) -> PyResult<Option<(usize, Bound<'py, pyo3::types::PyDict>)>> {
        let method_kind = crate::http::Method::parse(method);
        match self.inner.router.lookup(path, method_kind, method) {
            crate::router::Lookup::Found { route, params } => {
                let dict = pyo3::types::PyDict::new(py);
                let names = &self.inner.routes[route].path_param_names;
                for (index, value) in params {
                    if let Some(name) = names.get(index) {
                        dict.set_item(name.bind(py), value.as_ref())?;
                    }
                }
                Ok(Some((route, dict)))
            }
            _ => Ok(None),
        }
    }
}
