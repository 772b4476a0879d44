//! The thread-per-core server: each worker thread pins itself to a core and owns a monoio
//! runtime, its own SO_REUSEPORT listener, its connections and its asyncio loop.

mod access_log;
mod asgi;
mod config;
mod conn;
mod io;
mod shutdown;
mod state;
mod websocket;
mod worker;

pub use config::{Driver, ServerConfig};
pub use worker::{resolve_driver, run_worker, set_parent_death_signal};
