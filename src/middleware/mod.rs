//! Middleware configured from Python and run natively around every route, outermost first.

pub mod cors;
pub mod gzip;
pub mod session;
pub mod trusted_host;

use pyo3::prelude::*;

pub use cors::Cors;
pub use gzip::GZip;
pub use trusted_host::{Rejection, TrustedHost};

pub enum Layer {
    Cors(Cors),
    TrustedHost(TrustedHost),
    GZip(GZip),
}

impl Layer {
    /// Builds a layer from a `fastrapi.middleware` instance (its `native` names the kind).
    pub fn from_py(item: &Bound<'_, PyAny>) -> PyResult<Layer> {
        match item.getattr("native")?.extract::<String>()?.as_str() {
            "cors" => Ok(Layer::Cors(Cors::from_py(item)?)),
            "trusted_host" => Ok(Layer::TrustedHost(TrustedHost::from_py(item)?)),
            "gzip" => Ok(Layer::GZip(GZip::from_py(item)?)),
            other => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown native middleware {other:?}"
            ))),
        }
    }
}
