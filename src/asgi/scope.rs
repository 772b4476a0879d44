//! ASGI scopes built in Rust from the parsed head, the way uvicorn fills them.

use std::cell::OnceCell;
use std::net::SocketAddr;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::proxy::{Forwarded, TrustedProxies};
use crate::http::Head;
use crate::router::decode_path;

/// What every scope of one worker shares: the app's lifespan state and its address.
pub struct ScopeBase {
    /// `{"version": "3.0", "spec_version": "2.4"}`, one dict per worker (never mutated by apps).
    asgi_http: Py<PyDict>,
    asgi_websocket: Py<PyDict>,
    /// `{"http.response.pathsend": {}}`: `FileResponse` hands the path to the server.
    http_extensions: Py<PyDict>,
    server: Py<PyAny>,
    /// The lifespan's state; each request gets a shallow copy, as uvicorn gives it.
    state: Py<PyDict>,
    root_path: Py<PyString>,
    /// The same, for the URLs Rust builds (redirects).
    root_path_text: String,
    /// uvicorn puts the root path in front of `path` and `raw_path` too (Starlette's test client
    /// does not).
    prefix_path: bool,
    /// `scope["client"]` for every request instead of the peer's address (a test client's).
    client: Option<Py<PyAny>>,
}

/// How the scopes of one worker look beyond the request itself.
pub struct ScopeOptions {
    /// Offer `http.response.pathsend`.
    pub pathsend: bool,
    pub root_path: String,
    pub prefix_path: bool,
    pub client: Option<Py<PyAny>>,
}

/// Where the worker listens, as `scope["server"]` shows it.
pub enum Listening {
    Inet(SocketAddr),
    /// A Unix socket's path (uvicorn: `(path, None)`).
    Unix(String),
}

/// A connection's peer as its scopes show it, made into Python once, and the proxy headers it
/// may send (only a trusted proxy's count).
pub struct Peer {
    /// `None`: a Unix socket peer, which uvicorn shows as no client.
    pub addr: Option<SocketAddr>,
    client: OnceCell<Py<PyAny>>,
    proxies: Option<Arc<TrustedProxies>>,
}

impl Peer {
    pub fn new(addr: Option<SocketAddr>, proxies: Option<&Arc<TrustedProxies>>) -> Peer {
        let trusted = proxies.filter(|p| p.trusts(addr.map(|a| a.ip().to_string()).as_deref())).cloned();
        Peer { addr, client: OnceCell::new(), proxies: trusted }
    }

    /// What this request's proxy headers say (nothing unless the peer is a trusted proxy).
    pub fn forwarded(&self, head: &Head<'_>, websocket: bool) -> Forwarded {
        match &self.proxies {
            Some(proxies) => proxies.resolve(head.headers, websocket),
            None => Forwarded::default(),
        }
    }

    /// `host:port` of the client for the access log, as uvicorn's `get_client_addr` (`""`: none).
    pub fn log_name(&self, forwarded: &Forwarded) -> String {
        match (&forwarded.client, self.addr) {
            (Some((host, port)), _) => format!("{host}:{port}"),
            (None, Some(addr)) => format!("{}:{}", addr.ip(), addr.port()),
            (None, None) => String::new(),
        }
    }
}

pub fn address(py: Python<'_>, addr: SocketAddr) -> PyResult<Py<PyAny>> {
    let host = PyString::new(py, &addr.ip().to_string()).into_any();
    let port = addr.port().into_pyobject(py)?.into_any();
    Ok(PyTuple::new(py, [host, port])?.into_any().unbind())
}

impl ScopeBase {
    pub fn new(py: Python<'_>, local: &Listening, state: Py<PyDict>, options: ScopeOptions) -> PyResult<ScopeBase> {
        let asgi = |spec: &str| -> PyResult<Py<PyDict>> {
            let dict = PyDict::new(py);
            dict.set_item("version", "3.0")?;
            dict.set_item("spec_version", spec)?;
            Ok(dict.unbind())
        };
        let http_extensions = PyDict::new(py);
        if options.pathsend {
            http_extensions.set_item("http.response.pathsend", PyDict::new(py))?;
        }
        Ok(ScopeBase {
            asgi_http: asgi("2.4")?,
            asgi_websocket: asgi("2.4")?,
            http_extensions: http_extensions.unbind(),
            server: match local {
                Listening::Inet(addr) => address(py, *addr)?,
                Listening::Unix(path) => {
                    PyTuple::new(py, [PyString::new(py, path).into_any(), py.None().into_bound(py)])?
                        .into_any()
                        .unbind()
                }
            },
            state,
            root_path: PyString::new(py, &options.root_path).unbind(),
            root_path_text: options.root_path,
            prefix_path: options.prefix_path,
            client: options.client,
        })
    }

    /// The root path when it is put in front of `scope["path"]` (uvicorn), else nothing.
    pub fn url_path_prefix(&self) -> &str {
        if self.prefix_path {
            &self.root_path_text
        } else {
            ""
        }
    }

    /// `scope["client"]`: the test client's, the proxy headers' or the peer's (made once).
    fn client(&self, py: Python<'_>, peer: &Peer, forwarded: &Forwarded) -> PyResult<Py<PyAny>> {
        if let Some(client) = &self.client {
            return Ok(client.clone_ref(py));
        }
        if let Some((host, port)) = &forwarded.client {
            return Ok((host.as_str(), *port).into_pyobject(py)?.into_any().unbind());
        }
        if let Some(client) = peer.client.get() {
            return Ok(client.clone_ref(py));
        }
        let made = match peer.addr {
            Some(addr) => address(py, addr)?,
            None => py.None(),
        };
        Ok(peer.client.get_or_init(|| made).clone_ref(py))
    }

    /// The scope of an HTTP request or of a WebSocket handshake (`websocket`), from `peer` with
    /// what its proxy headers say (`forwarded`, from `peer.forwarded`).
    pub fn build<'py>(
        &self,
        py: Python<'py>,
        head: &Head<'_>,
        peer: &Peer,
        forwarded: &Forwarded,
        websocket: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let client = self.client(py, peer, forwarded)?;
        let scope = PyDict::new(py);
        let root_path = self.root_path.bind(py);
        let path = decode_path(head.path);
        let (path, raw_path) = if !self.prefix_path || root_path.is_empty()? {
            (PyString::new(py, &path), PyBytes::new(py, head.path.as_bytes()))
        } else {
            // uvicorn prefixes both with the root path.
            let prefix = root_path.to_str()?;
            (
                PyString::new(py, &format!("{prefix}{path}")),
                PyBytes::new(py, format!("{prefix}{}", head.path).as_bytes()),
            )
        };
        let headers = PyList::empty(py);
        for h in head.headers {
            let name = PyBytes::new_with(py, h.name.len(), |buf| {
                for (out, b) in buf.iter_mut().zip(h.name.bytes()) {
                    *out = b.to_ascii_lowercase();
                }
                Ok(())
            })?;
            headers.append(PyTuple::new(py, [name.into_any(), PyBytes::new(py, h.value).into_any()])?)?;
        }
        if websocket {
            scope.set_item(pyo3::intern!(py, "type"), pyo3::intern!(py, "websocket"))?;
            scope.set_item(pyo3::intern!(py, "asgi"), self.asgi_websocket.bind(py))?;
        } else {
            scope.set_item(pyo3::intern!(py, "type"), pyo3::intern!(py, "http"))?;
            scope.set_item(pyo3::intern!(py, "asgi"), self.asgi_http.bind(py))?;
        }
        let version = if head.version == 0 { pyo3::intern!(py, "1.0") } else { pyo3::intern!(py, "1.1") };
        scope.set_item(pyo3::intern!(py, "http_version"), version)?;
        scope.set_item(pyo3::intern!(py, "server"), self.server.bind(py))?;
        scope.set_item(pyo3::intern!(py, "client"), client.bind(py))?;
        let scheme = match forwarded.scheme {
            Some(scheme) => PyString::new(py, scheme),
            None if websocket => pyo3::intern!(py, "ws").clone(),
            None => pyo3::intern!(py, "http").clone(),
        };
        scope.set_item(pyo3::intern!(py, "scheme"), scheme)?;
        if !websocket {
            scope.set_item(pyo3::intern!(py, "method"), method_name(py, head))?;
        }
        scope.set_item(pyo3::intern!(py, "root_path"), root_path)?;
        scope.set_item(pyo3::intern!(py, "path"), path)?;
        scope.set_item(pyo3::intern!(py, "raw_path"), raw_path)?;
        scope.set_item(pyo3::intern!(py, "query_string"), PyBytes::new(py, head.query.as_bytes()))?;
        scope.set_item(pyo3::intern!(py, "headers"), headers)?;
        scope.set_item(pyo3::intern!(py, "state"), self.state.bind(py).copy()?)?;
        if websocket {
            scope.set_item(pyo3::intern!(py, "subprotocols"), subprotocols(py, head)?)?;
            let extensions = PyDict::new(py);
            extensions.set_item("websocket.http.response", PyDict::new(py))?;
            scope.set_item(pyo3::intern!(py, "extensions"), extensions)?;
        } else {
            scope.set_item(pyo3::intern!(py, "extensions"), self.http_extensions.bind(py).copy()?)?;
        }
        Ok(scope)
    }
}

fn method_name<'py>(py: Python<'py>, head: &Head<'_>) -> Bound<'py, PyString> {
    use crate::http::Method;
    match head.method {
        Method::Get => pyo3::intern!(py, "GET").clone(),
        Method::Post => pyo3::intern!(py, "POST").clone(),
        Method::Head => pyo3::intern!(py, "HEAD").clone(),
        Method::Put => pyo3::intern!(py, "PUT").clone(),
        Method::Patch => pyo3::intern!(py, "PATCH").clone(),
        Method::Delete => pyo3::intern!(py, "DELETE").clone(),
        Method::Options => pyo3::intern!(py, "OPTIONS").clone(),
        Method::Trace => pyo3::intern!(py, "TRACE").clone(),
        Method::Other => PyString::new(py, head.method_str),
    }
}

/// `Sec-WebSocket-Protocol` values, in order, as a list of strings.
fn subprotocols<'py>(py: Python<'py>, head: &Head<'_>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for h in head.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-protocol")) {
        for token in h.value.split(|b| *b == b',') {
            let token = crate::http::parse::trim(token);
            if !token.is_empty() {
                list.append(PyString::new(py, &crate::params::latin1(token)))?;
            }
        }
    }
    Ok(list)
}
