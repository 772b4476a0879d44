//! CORS, with Starlette's `CORSMiddleware` semantics: preflight requests answered here,
//! simple responses given their `Access-Control-*` and `Vary` headers.

use pyo3::prelude::*;

use crate::http::response::HeaderList;
use crate::http::Head;

pub struct Cors {
    allow_origins: Vec<String>,
    allow_methods: Vec<String>,
    /// Lower-cased, including the safelisted headers.
    allow_headers: Vec<String>,
    allow_all_origins: bool,
    allow_all_headers: bool,
    allow_credentials: bool,
    explicit_origin: bool,
    allow_origin_regex: Option<regex::Regex>,
    allow_private_network: bool,
    simple_headers: Vec<(String, String)>,
    preflight_headers: Vec<(String, String)>,
}

/// A preflight answer: status, headers, plain-text body.
pub struct Preflight {
    pub status: u16,
    pub headers: HeaderList,
    pub body: Vec<u8>,
}

impl Cors {
    /// Reads the settings a `fastrapi.middleware.cors.CORSMiddleware` derived.
    pub fn from_py(config: &Bound<'_, PyAny>) -> PyResult<Cors> {
        let regex: Option<String> = config.getattr("allow_origin_regex")?.extract()?;
        let allow_origin_regex = match regex {
            Some(pattern) => Some(
                regex::Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("allow_origin_regex: {e}")))?,
            ),
            None => None,
        };
        Ok(Cors {
            allow_origins: config.getattr("allow_origins")?.extract()?,
            allow_methods: config.getattr("allow_methods")?.extract()?,
            allow_headers: config.getattr("allow_headers")?.extract()?,
            allow_all_origins: config.getattr("allow_all_origins")?.extract()?,
            allow_all_headers: config.getattr("allow_all_headers")?.extract()?,
            allow_credentials: config.getattr("allow_credentials")?.extract()?,
            explicit_origin: config.getattr("explicit_origin")?.extract()?,
            allow_origin_regex,
            allow_private_network: config.getattr("allow_private_network")?.extract()?,
            simple_headers: config.getattr("simple_headers")?.extract()?,
            preflight_headers: config.getattr("preflight_headers")?.extract()?,
        })
    }

    fn is_allowed_origin(&self, origin: &str) -> bool {
        self.allow_all_origins
            || self.allow_origin_regex.as_ref().is_some_and(|r| r.is_match(origin))
            || self.allow_origins.iter().any(|o| o == origin)
    }

    /// The answer to a preflight request (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`), or `None` for any other request.
    pub fn preflight(&self, head: &Head<'_>) -> Option<Preflight> {
        if head.method_str != "OPTIONS" {
            return None;
        }
        let origin = latin1(head.header("origin")?);
        let method = latin1(head.header("access-control-request-method")?);
        let mut headers = HeaderList::from_pairs(&self.preflight_headers);
        let mut failures: Vec<&str> = Vec::new();
        if self.is_allowed_origin(&origin) {
            if self.explicit_origin {
                headers.set("access-control-allow-origin", origin.as_bytes());
            }
        } else {
            failures.push("origin");
        }
        if !self.allow_methods.contains(&method) {
            failures.push("method");
        }
        if let Some(requested) = head.header("access-control-request-headers") {
            if self.allow_all_headers {
                headers.set("access-control-allow-headers", requested);
            } else {
                let requested = latin1(requested).to_lowercase();
                if requested.split(',').any(|h| !self.allow_headers.iter().any(|a| a == h.trim())) {
                    failures.push("headers");
                }
            }
        }
        if head.header("access-control-request-private-network").is_some() {
            if self.allow_private_network {
                headers.set("access-control-allow-private-network", b"true");
            } else {
                failures.push("private-network");
            }
        }
        if failures.is_empty() {
            return Some(Preflight { status: 200, headers, body: b"OK".to_vec() });
        }
        let text = format!("Disallowed CORS {}", failures.join(", "));
        Some(Preflight { status: 400, headers, body: text.into_bytes() })
    }

    /// Adds the CORS headers of a simple (non-preflight) response.
    pub fn apply(&self, origin: Option<&[u8]>, headers: &mut HeaderList) {
        let origin = origin.map(latin1);
        if origin.is_some() {
            for (name, value) in &self.simple_headers {
                headers.set(&name.to_ascii_lowercase(), value.as_bytes());
            }
        }
        match origin {
            Some(origin) if self.allow_all_origins && self.allow_credentials => allow_explicit(headers, &origin),
            Some(origin) if !self.allow_all_origins && self.is_allowed_origin(&origin) => {
                allow_explicit(headers, &origin)
            }
            _ => add_vary_origin(headers),
        }
    }
}

fn allow_explicit(headers: &mut HeaderList, origin: &str) {
    headers.set("access-control-allow-origin", origin.as_bytes());
    add_vary_origin(headers);
}

fn add_vary_origin(headers: &mut HeaderList) {
    headers.append_to("vary", b"Origin");
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}
