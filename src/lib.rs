//! fastrapi's native core: a thread-per-core HTTP/1.1 server on monoio that calls the
//! application's Python endpoints from the core thread itself.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod asgi;
pub mod dispatch;
pub mod errors;
pub mod files;
pub mod http;
pub mod json;
pub mod middleware;
pub mod native;
pub mod params;
pub mod python;
pub mod router;
pub mod server;
pub mod ws;

use pyo3::prelude::*;

#[pymodule(gil_used = true)]
fn _fastrapi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<python::AppCore>()?;
    m.add_class::<server::ServerConfig>()?;
    m.add_class::<python::request::ConnectionState>()?;
    m.add_class::<python::websocket::WebSocketChannel>()?;
    m.add_class::<python::pool::SyncPolicy>()?;
    m.add_class::<asgi::Receive>()?;
    m.add_class::<asgi::Send>()?;
    m.add_class::<asgi::Ready>()?;
    m.add_function(wrap_pyfunction!(server::run_worker, m)?)?;
    m.add_function(wrap_pyfunction!(server::resolve_driver, m)?)?;
    m.add_function(wrap_pyfunction!(server::set_parent_death_signal, m)?)?;
    m.add_function(wrap_pyfunction!(json::dumps, m)?)?;
    m.add_function(wrap_pyfunction!(python::log::report_exception, m)?)?;
    m.add_function(wrap_pyfunction!(middleware::session::timestamp_sign, m)?)?;
    m.add_function(wrap_pyfunction!(middleware::session::timestamp_unsign, m)?)?;
    Ok(())
}
