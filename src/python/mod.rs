//! The GIL boundary: the compiled app handed over by Python, calling endpoints, the per-core
//! asyncio bridge, and turning results and exceptions into responses.

pub mod aio;
pub mod app;
pub mod log;
pub mod pool;
pub mod request;
pub mod thread_bound;
pub mod websocket;

pub use app::{AppCore, CompiledApp};
