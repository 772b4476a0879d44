//! One worker: pin, bind, attach to Python once, then serve until told to stop.

use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::io::AsyncReadRent;
use monoio::net::{ListenerOpts, TcpListener};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::config::{Driver, ServerConfig};
use super::conn;
use super::shutdown::Shutdown;
use super::state::Worker;
use crate::asgi::scope::{ScopeBase, ScopeOptions};
use crate::errors::FastrapiError;
use crate::python::aio::AsyncBridge;
use crate::python::{AppCore, CompiledApp};

/// `"auto"`, `"io_uring"` or `"epoll"` → the driver that will really be used.
#[pyfunction]
pub fn resolve_driver(driver: &str) -> PyResult<&'static str> {
    super::config::resolve(driver).map(Driver::name)
}

/// Makes the kernel send `signal` to this process when its parent dies (Linux `prctl`).
#[pyfunction]
pub fn set_parent_death_signal(signal: i32) -> PyResult<()> {
    // SAFETY: prctl with PR_SET_PDEATHSIG only reads its integer argument.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(FastrapiError::Io(std::io::Error::last_os_error()).into())
    }
}

fn pin_to_core(core: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes within it; the call reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core % libc::CPU_SETSIZE as usize, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Runs one worker on the calling thread until SIGINT/SIGTERM (or the stop fd) says stop.
/// The calling thread keeps its Python thread state; the GIL is released while waiting for I/O.
#[pyfunction]
#[pyo3(signature = (
    app, event_loop, config, stop_fd = None, asgi_state = None, root_path = String::new(), prefix_path = true,
    asgi_client = None
))]
#[allow(clippy::too_many_arguments)]
pub fn run_worker(
    py: Python<'_>,
    app: &Bound<'_, AppCore>,
    event_loop: &Bound<'_, PyAny>,
    config: &Bound<'_, ServerConfig>,
    stop_fd: Option<i32>,
    asgi_state: Option<Py<PyDict>>,
    root_path: String,
    prefix_path: bool,
    asgi_client: Option<Py<PyAny>>,
) -> PyResult<()> {
    let config = config.get().clone();
    let app = app.get().inner.clone();
    if let Some(core) = config.core {
        if let Err(e) = pin_to_core(core) {
            // Pinning is an optimisation; a restricted cpuset must not stop the server.
            let warnings = py.import("warnings")?;
            warnings.call_method1("warn", (format!("fastrapi: could not pin worker to core {core}: {e}"),))?;
        }
    }
    let addr = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(FastrapiError::Io)?
        .next()
        .ok_or_else(|| FastrapiError::Config(format!("cannot resolve host {:?}", config.host)))?;

    // The stop channel: signal handlers (and optionally the caller) write one byte.
    let (stop_rx, stop_tx) = std::os::unix::net::UnixStream::pair().map_err(FastrapiError::Io)?;
    let mut signal_ids = Vec::new();
    if config.handle_signals {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let tx = stop_tx.try_clone().map_err(FastrapiError::Io)?;
            let id = signal_hook::low_level::pipe::register(sig, tx).map_err(FastrapiError::Io)?;
            signal_ids.push(id);
        }
    }
    // SAFETY: the caller hands over a socket it will not use again.
    let extra_stop =
        stop_fd.map(|fd| unsafe { <std::os::unix::net::UnixStream as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    let bridge = AsyncBridge::new(event_loop)?;
    let access_log =
        if config.access_log { Some(py.import("fastrapi._server")?.getattr("log_access")?.unbind()) } else { None };
    let python = PythonParts {
        bridge,
        access_log,
        asgi_state: asgi_state.unwrap_or_else(|| PyDict::new(py).unbind()),
        scope: ScopeOptions { pathsend: config.asgi_pathsend, root_path, prefix_path, client: asgi_client },
    };

    let result = py.detach(move || -> Result<(), FastrapiError> {
        let mut config = config;
        if config.driver == Driver::IoUring {
            let built = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
                .uring_builder(config.uring_builder())
                .with_entries(config.uring_entries)
                .enable_timer()
                .build();
            match built {
                Ok(mut runtime) => {
                    let main = worker_main(app, config, python, addr, stop_rx, extra_stop);
                    return runtime.block_on(main);
                }
                // The probe passed but a full-size ring did not (e.g. RLIMIT_MEMLOCK on < 5.12).
                Err(e) if config.driver_auto => {
                    eprintln!("fastrapi: io_uring could not start ({e}); falling back to epoll");
                    config.driver = Driver::Epoll;
                }
                Err(e) => return Err(FastrapiError::Io(e)),
            }
        }
        let mut runtime =
            monoio::RuntimeBuilder::<monoio::LegacyDriver>::new().enable_timer().build().map_err(FastrapiError::Io)?;
        runtime.block_on(worker_main(app, config, python, addr, stop_rx, extra_stop))
    });
    for id in signal_ids {
        signal_hook::low_level::unregister(id);
    }
    drop(stop_tx);
    result.map_err(Into::into)
}

/// What a worker gets from Python before its runtime starts.
struct PythonParts {
    bridge: AsyncBridge,
    access_log: Option<Py<PyAny>>,
    /// The lifespan state of the app's ASGI part (copied into every scope).
    asgi_state: Py<PyDict>,
    scope: ScopeOptions,
}

async fn worker_main(
    app: Arc<CompiledApp>,
    config: ServerConfig,
    python: PythonParts,
    addr: SocketAddr,
    stop_rx: std::os::unix::net::UnixStream,
    extra_stop: Option<std::os::unix::net::UnixStream>,
) -> Result<(), FastrapiError> {
    let listener = bind(addr, &config)?;
    let local_addr = listener.local_addr().unwrap_or(addr);
    let PythonParts { bridge, access_log, asgi_state, scope } = python;
    let asgi_scope = match &app.asgi {
        Some(_) => Some(
            Python::attach(|py| ScopeBase::new(py, local_addr, asgi_state, scope))
                .map_err(|e| FastrapiError::Runtime(format!("ASGI scope: {e}")))?,
        ),
        None => None,
    };
    let worker = Rc::new(Worker {
        app,
        config,
        bridge: Rc::new(bridge),
        shutdown: Shutdown::default(),
        active: std::cell::Cell::new(0),
        local_addr,
        access_log,
        asgi_scope,
    });
    serve(worker, listener, stop_rx, extra_stop).await;
    Ok(())
}

fn bind(addr: SocketAddr, config: &ServerConfig) -> Result<TcpListener, FastrapiError> {
    let opts = ListenerOpts::default().reuse_port(true).reuse_addr(true).backlog(config.backlog);
    TcpListener::bind_with_config(addr, &opts).map_err(FastrapiError::Io)
}

async fn serve(
    worker: Rc<Worker>,
    listener: TcpListener,
    stop_rx: std::os::unix::net::UnixStream,
    extra_stop: Option<std::os::unix::net::UnixStream>,
) {
    for stop in std::iter::once(stop_rx).chain(extra_stop) {
        let w = worker.clone();
        if let Ok(mut stream) = monoio::net::UnixStream::from_std(stop) {
            monoio::spawn(async move {
                let (_, _) = stream.read(vec![0u8; 8]).await;
                w.shutdown.trigger();
            });
        }
    }
    monoio::spawn(worker.bridge.clone().pump());

    loop {
        monoio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    monoio::spawn(conn::serve(worker.clone(), stream, peer));
                }
                Err(e) => {
                    // Out of descriptors or memory: back off instead of spinning.
                    eprintln!("fastrapi: accept failed: {e}");
                    monoio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = worker.shutdown.wait() => break,
        }
    }
    drop(listener);
    let deadline = Instant::now() + worker.config.graceful_timeout;
    while worker.active.get() > 0 && Instant::now() < deadline {
        monoio::time::sleep(Duration::from_millis(10)).await;
    }
}
