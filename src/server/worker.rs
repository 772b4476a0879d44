//! One worker: pin, bind, attach to Python once, then serve until told to stop.

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{FromRawFd, IntoRawFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::io::{AsyncReadRent, CancelHandle, Canceller};
use monoio::net::{ListenerOpts, TcpListener, TcpStream, UnixListener};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::config::{Driver, ServerConfig};
use super::conn;
use super::shutdown::Shutdown;
use super::state::Worker;
use crate::asgi::scope::{Listening, ScopeBase, ScopeOptions};
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
    let addr = match config.listen_fd {
        Some(_) => None,
        None => Some(
            (config.host.as_str(), config.port)
                .to_socket_addrs()
                .map_err(FastrapiError::Io)?
                .next()
                .ok_or_else(|| FastrapiError::Config(format!("cannot resolve host {:?}", config.host)))?,
        ),
    };

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
    addr: Option<SocketAddr>,
    stop_rx: std::os::unix::net::UnixStream,
    extra_stop: Option<std::os::unix::net::UnixStream>,
) -> Result<(), FastrapiError> {
    let listener = match (config.listen_fd, addr) {
        (Some(fd), _) => Listener::adopt(fd)?,
        (None, Some(addr)) => Listener::Tcp(bind(addr, &config)?),
        (None, None) => return Err(FastrapiError::Config("nothing to listen on".into())),
    };
    let listening = listener.address()?;
    // Redirects to a request without Host name the listener; a Unix socket has no such name.
    let local_addr = match &listening {
        Listening::Inet(addr) => *addr,
        Listening::Unix(_) => SocketAddr::from(([127, 0, 0, 1], 80)),
    };
    let PythonParts { bridge, access_log, asgi_state, scope } = python;
    let asgi_scope = match &app.asgi {
        Some(_) => Some(
            Python::attach(|py| ScopeBase::new(py, &listening, asgi_state, scope))
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
        requests: std::cell::Cell::new(0),
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

/// What the worker accepts connections from.
enum Listener {
    Tcp(TcpListener),
    /// With its path (empty for an unnamed socket).
    Unix(UnixListener, String),
}

impl Listener {
    /// A duplicate of an inherited listening socket (`--fd`, `--uds`, or the supervisor's), TCP
    /// or Unix; the owner keeps its own descriptor, so this worker can go without closing it.
    fn adopt(fd: RawFd) -> Result<Listener, FastrapiError> {
        // SAFETY: `fd` is open for the duration of the call (the caller's); F_DUPFD_CLOEXEC makes
        // a new descriptor that this listener alone owns.
        let own = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if own < 0 {
            return Err(FastrapiError::Io(std::io::Error::last_os_error()));
        }
        let mut domain: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `own` is a valid descriptor; `domain`/`len` are a c_int and its size.
        let rc = unsafe {
            libc::getsockopt(own, libc::SOL_SOCKET, libc::SO_DOMAIN, (&mut domain as *mut libc::c_int).cast(), &mut len)
        };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            // SAFETY: `own` is ours and used nowhere else.
            unsafe { libc::close(own) };
            return Err(FastrapiError::Config(format!("descriptor {fd} is not a listening socket: {error}")));
        }
        let adopted = if domain == libc::AF_UNIX {
            // SAFETY: `own` is a Unix stream socket that nothing else owns.
            let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(own) };
            let path = listener.local_addr().ok().and_then(|a| a.as_pathname().map(|p| p.display().to_string()));
            // The epoll driver accepts when told the socket is ready: a blocking one would stall it.
            listener
                .set_nonblocking(true)
                .and_then(|()| UnixListener::from_std(listener))
                .map(|listener| Listener::Unix(listener, path.unwrap_or_default()))
        } else {
            // SAFETY: `own` is an IPv4/IPv6 socket that nothing else owns.
            let listener = unsafe { std::net::TcpListener::from_raw_fd(own) };
            listener.set_nonblocking(true).and_then(|()| TcpListener::from_std(listener)).map(Listener::Tcp)
        };
        adopted.map_err(FastrapiError::Io)
    }

    fn address(&self) -> Result<Listening, FastrapiError> {
        Ok(match self {
            Listener::Tcp(listener) => Listening::Inet(listener.local_addr().map_err(FastrapiError::Io)?),
            Listener::Unix(_, path) => Listening::Unix(path.clone()),
        })
    }

    /// The next connection and its peer (`None` for a Unix socket's). Cancelled through
    /// `cancel`, the accept still completes: a connection the kernel handed over at that moment
    /// comes back to be served rather than lost with a dropped operation.
    async fn accept(&self, cancel: CancelHandle) -> std::io::Result<(TcpStream, Option<SocketAddr>)> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.cancelable_accept(cancel).await?;
                let _ = stream.set_nodelay(true);
                Ok((stream, Some(peer)))
            }
            Listener::Unix(listener, _) => {
                let (stream, _) = listener.cancelable_accept(cancel).await?;
                // A stream socket reads and writes the same whatever its family; the connection
                // code takes one type and calls no TCP-only option on a Unix socket.
                // SAFETY: the descriptor comes out of the accepted stream, which gives it up.
                let stream = unsafe { std::net::TcpStream::from_raw_fd(stream.into_raw_fd()) };
                stream.set_nonblocking(true)?;
                Ok((TcpStream::from_std(stream)?, None))
            }
        }
    }
}

/// Tells the supervisor that this worker is retiring, so that it starts the next one now.
fn announce_retirement(fd: RawFd) {
    let pid = std::process::id().to_ne_bytes();
    // SAFETY: writes 4 bytes from a live array to a descriptor the supervisor handed over (a pipe;
    // a write of that size is atomic). A failed write only delays the successor.
    unsafe { libc::write(fd, pid.as_ptr().cast(), pid.len()) };
}

async fn serve(
    worker: Rc<Worker>,
    listener: Listener,
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

    let mut canceller = Canceller::new();
    loop {
        let mut accept = std::pin::pin!(listener.accept(canceller.handle()));
        let accepted = monoio::select! {
            accepted = &mut accept => Some(accepted),
            _ = worker.shutdown.wait_or_retire() => None,
        };
        let stopping = accepted.is_none();
        let accepted = match accepted {
            Some(accepted) => accepted,
            None => {
                // Dropping an io_uring accept in flight would leak a connection it completes with.
                canceller = canceller.cancel();
                accept.await
            }
        };
        match accepted {
            Ok((stream, peer)) => {
                monoio::spawn(conn::serve(worker.clone(), stream, peer));
            }
            Err(_) if stopping => {}
            Err(e) => {
                // Out of descriptors or memory: back off instead of spinning.
                eprintln!("fastrapi: accept failed: {e}");
                monoio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if stopping {
            break;
        }
    }
    drop((canceller, listener));
    if !worker.shutdown.is_stopped() {
        // Retiring: every connection closes after its next response (or when idle too long);
        // a stop signal, or the graceful timeout, then ends the rest as a shutdown does.
        if let Some(fd) = worker.config.retire_fd {
            announce_retirement(fd);
        }
        eprintln!("fastrapi: worker {} served {} requests; retiring", std::process::id(), worker.requests.get());
        drain(&worker).await;
        worker.shutdown.trigger();
    }
    drain(&worker).await;
}

/// Waits up to the graceful timeout (or a stop signal) for the connections to end.
async fn drain(worker: &Worker) {
    let deadline = Instant::now() + worker.config.graceful_timeout;
    let retiring = !worker.shutdown.is_stopped();
    while worker.active.get() > 0 && Instant::now() < deadline && !(retiring && worker.shutdown.is_stopped()) {
        monoio::time::sleep(Duration::from_millis(10)).await;
    }
}
