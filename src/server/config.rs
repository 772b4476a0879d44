//! Server options, set from `app.serve(...)` keyword arguments.

use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::FastrapiError;
use crate::http::Limits;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    IoUring,
    Epoll,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::IoUring => "io_uring",
            Driver::Epoll => "epoll",
        }
    }
}

#[pyclass(module = "fastrapi._fastrapi", frozen)]
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub driver: Driver,
    /// The driver was chosen by `"auto"`: fall back to epoll if io_uring cannot start.
    pub driver_auto: bool,
    /// Core to pin the worker thread to, if any.
    pub core: Option<usize>,
    pub backlog: i32,
    pub limits: Limits,
    pub keep_alive_timeout: Duration,
    /// The whole request head must arrive within this time (slowloris); each read of a request
    /// body must bring a byte within it too (a stalled upload).
    pub header_timeout: Duration,
    /// A response write that makes no progress for this long ends the connection (a client that
    /// stopped reading).
    pub write_timeout: Duration,
    pub graceful_timeout: Duration,
    /// uvicorn's `limit_concurrency`: a request arriving while this many connections are open on
    /// the worker (its own included) gets a 503 and the connection closes.
    pub limit_concurrency: Option<usize>,
    /// After this many requests the worker retires: it stops accepting, asks every connection to
    /// close after its next response and exits once they have (its supervisor starts another).
    pub limit_max_requests: Option<u64>,
    /// Where a retiring worker writes its process id (the supervisor then starts its successor).
    pub retire_fd: Option<i32>,
    /// A listening socket (TCP or Unix) to accept from instead of binding `host:port`; the
    /// worker uses a duplicate, so the caller keeps its own.
    pub listen_fd: Option<i32>,
    /// Apply `X-Forwarded-For`/`-Proto` and `Forwarded` from these peers (uvicorn's
    /// `proxy_headers` with `forwarded_allow_ips`); `None`: never.
    pub forwarded_allow: Option<std::sync::Arc<crate::asgi::proxy::TrustedProxies>>,
    pub server_header: Option<Vec<u8>>,
    /// Install SIGINT/SIGTERM handlers that stop this worker gracefully.
    pub handle_signals: bool,
    pub uring_entries: u32,
    /// io_uring set-up flags (`coop_taskrun`, `single_issuer`, `defer_taskrun`, `submit_all`).
    pub uring_flags: Vec<String>,
    /// Largest WebSocket message accepted (larger: close 1009), as uvicorn's `ws_max_size`.
    pub ws_max_size: usize,
    /// Ping an idle WebSocket this often (`None`: never), as uvicorn's `ws_ping_interval`.
    pub ws_ping_interval: Option<Duration>,
    /// Close a WebSocket whose ping got no pong within this time, as uvicorn's `ws_ping_timeout`.
    pub ws_ping_timeout: Option<Duration>,
    /// Log every request on `fastrapi.access` (uvicorn's format).
    pub access_log: bool,
    /// Offer ASGI apps the `http.response.pathsend` extension (off by default: Starlette's GZip
    /// leaves responses sent that way uncompressed, which uvicorn, without it, never shows).
    pub asgi_pathsend: bool,
}

/// The io_uring set-up flags fastrapi knows how to ask for.
pub const URING_FLAGS: [&str; 4] = ["coop_taskrun", "single_issuer", "defer_taskrun", "submit_all"];

impl ServerConfig {
    /// An `io_uring::Builder` with the configured set-up flags.
    pub fn uring_builder(&self) -> io_uring::Builder {
        let mut builder = io_uring::IoUring::builder();
        for flag in &self.uring_flags {
            match flag.as_str() {
                "coop_taskrun" => builder.setup_coop_taskrun(),
                "single_issuer" => builder.setup_single_issuer(),
                "defer_taskrun" => builder.setup_single_issuer().setup_defer_taskrun(),
                "submit_all" => builder.setup_submit_all(),
                _ => &mut builder,
            };
        }
        builder
    }
}

fn duration(name: &str, seconds: f64) -> PyResult<Duration> {
    if seconds.is_finite() && seconds > 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(FastrapiError::Config(format!("{name} must be a positive number of seconds")).into())
    }
}

#[pymethods]
impl ServerConfig {
    #[new]
    #[pyo3(signature = (
        host = "127.0.0.1".to_string(), port = 8000, *, driver = "auto", core = None, backlog = 1024,
        max_head_bytes = 16384, max_headers = 100, max_body_bytes = 16 * 1024 * 1024,
        keep_alive_timeout = 5.0, header_timeout = 30.0, write_timeout = 30.0, graceful_timeout = 30.0,
        server_header = None, handle_signals = true, uring_entries = 1024, uring_flags = None,
        ws_max_size = 16 * 1024 * 1024, ws_ping_interval = Some(20.0),
        ws_ping_timeout = Some(20.0), access_log = false, asgi_pathsend = false,
        limit_concurrency = None, limit_max_requests = None, retire_fd = None, listen_fd = None,
        proxy_headers = false, forwarded_allow_ips = "127.0.0.1,::1".to_string(),
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        host: String,
        port: u16,
        driver: &str,
        core: Option<usize>,
        backlog: i32,
        max_head_bytes: usize,
        max_headers: usize,
        max_body_bytes: usize,
        keep_alive_timeout: f64,
        header_timeout: f64,
        write_timeout: f64,
        graceful_timeout: f64,
        server_header: Option<String>,
        handle_signals: bool,
        uring_entries: u32,
        uring_flags: Option<Vec<String>>,
        ws_max_size: usize,
        ws_ping_interval: Option<f64>,
        ws_ping_timeout: Option<f64>,
        access_log: bool,
        asgi_pathsend: bool,
        limit_concurrency: Option<usize>,
        limit_max_requests: Option<u64>,
        retire_fd: Option<i32>,
        listen_fd: Option<i32>,
        proxy_headers: bool,
        forwarded_allow_ips: String,
    ) -> PyResult<Self> {
        let uring_flags = uring_flags.unwrap_or_else(|| vec!["coop_taskrun".into(), "single_issuer".into()]);
        if let Some(bad) = uring_flags.iter().find(|f| !URING_FLAGS.contains(&f.as_str())) {
            let msg = format!("unknown io_uring flag {bad:?}: use any of {URING_FLAGS:?}");
            return Err(FastrapiError::Config(msg).into());
        }
        if max_headers == 0 || max_headers > crate::http::parse::HEADER_ARRAY {
            let msg = format!("max_headers must be between 1 and {}", crate::http::parse::HEADER_ARRAY);
            return Err(FastrapiError::Config(msg).into());
        }
        if max_head_bytes < 256 {
            return Err(FastrapiError::Config("max_head_bytes must be at least 256".into()).into());
        }
        if limit_concurrency == Some(0) || limit_max_requests == Some(0) {
            let msg = "limit_concurrency and limit_max_requests must be at least 1";
            return Err(FastrapiError::Config(msg.into()).into());
        }
        Ok(ServerConfig {
            host,
            port,
            driver: resolve(driver)?,
            driver_auto: driver == "auto",
            core,
            backlog,
            limits: Limits { max_head_bytes, max_headers, max_body_bytes },
            keep_alive_timeout: duration("keep_alive_timeout", keep_alive_timeout)?,
            header_timeout: duration("header_timeout", header_timeout)?,
            write_timeout: duration("write_timeout", write_timeout)?,
            graceful_timeout: duration("graceful_timeout", graceful_timeout)?,
            limit_concurrency,
            limit_max_requests,
            retire_fd,
            listen_fd,
            forwarded_allow: proxy_headers
                .then(|| std::sync::Arc::new(crate::asgi::proxy::TrustedProxies::parse(&forwarded_allow_ips))),
            server_header: server_header.map(String::into_bytes),
            handle_signals,
            uring_entries,
            uring_flags,
            ws_max_size,
            ws_ping_interval: ws_ping_interval.map(|t| duration("ws_ping_interval", t)).transpose()?,
            ws_ping_timeout: ws_ping_timeout.map(|t| duration("ws_ping_timeout", t)).transpose()?,
            access_log,
            asgi_pathsend,
        })
    }

    /// The driver this config will use: `"io_uring"` or `"epoll"`.
    #[getter]
    fn driver(&self) -> &'static str {
        self.driver.name()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    #[getter]
    fn graceful_timeout(&self) -> f64 {
        self.graceful_timeout.as_secs_f64()
    }
}

/// `"auto"` picks io_uring when the kernel offers what monoio needs, else epoll.
pub fn resolve(driver: &str) -> PyResult<Driver> {
    match driver {
        "auto" => Ok(if monoio::utils::detect_uring() { Driver::IoUring } else { Driver::Epoll }),
        "io_uring" | "iouring" | "uring" => {
            if monoio::utils::detect_uring() {
                Ok(Driver::IoUring)
            } else {
                let msg = "io_uring is not available here (kernel older than 5.7, blocked by seccomp, or \
                           kernel.io_uring_disabled set); use driver=\"epoll\"";
                Err(FastrapiError::Config(msg.into()).into())
            }
        }
        "epoll" | "legacy" => Ok(Driver::Epoll),
        other => {
            Err(FastrapiError::Config(format!("unknown driver {other:?}: use \"auto\", \"io_uring\" or \"epoll\""))
                .into())
        }
    }
}
