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
    /// Starlette's `HTTPSRedirectMiddleware`: every plain-HTTP request is sent to https.
    HttpsRedirect,
}

impl Layer {
    /// Builds a layer from a `fastrapi.middleware` instance (its `native` names the kind).
    pub fn from_py(item: &Bound<'_, PyAny>) -> PyResult<Layer> {
        match item.getattr("native")?.extract::<String>()?.as_str() {
            "cors" => Ok(Layer::Cors(Cors::from_py(item)?)),
            "trusted_host" => Ok(Layer::TrustedHost(TrustedHost::from_py(item)?)),
            "gzip" => Ok(Layer::GZip(GZip::from_py(item)?)),
            "https_redirect" => Ok(Layer::HttpsRedirect),
            other => Err(pyo3::exceptions::PyValueError::new_err(format!("unknown native middleware {other:?}"))),
        }
    }
}

/// The https URL for a request, as `HTTPSRedirectMiddleware` builds it (`None`: empty Host).
pub fn https_url(
    head: &crate::http::Head<'_>,
    local: std::net::SocketAddr,
    prefix: &str,
    scheme: &str,
) -> Option<String> {
    // An empty Host counts as none: the URL is then built from the server's address.
    let netloc: String = match head.header("host").filter(|h| !h.is_empty()) {
        Some(host) => host.iter().map(|&b| b as char).collect(),
        None if local.port() == 80 => local.ip().to_string(),
        None => local.to_string(),
    };
    if netloc.is_empty() {
        return None;
    }
    let (host, port) = match netloc.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') && p.bytes().all(|b| b.is_ascii_digit()) => (h, p.parse::<u32>().ok()),
        _ => (netloc.as_str(), None),
    };
    let netloc = if matches!(port, Some(80) | Some(443)) {
        host.trim_start_matches('[').trim_end_matches(']').to_lowercase()
    } else {
        netloc.clone()
    };
    let mut url = format!("{scheme}://{netloc}{prefix}{}", crate::router::decode_path(head.path));
    if !head.query.is_empty() {
        url.push('?');
        url.push_str(head.query);
    }
    Some(url)
}
