//! Host header checking, with Starlette's `TrustedHostMiddleware` semantics.

use pyo3::prelude::*;

use crate::http::Head;

pub struct TrustedHost {
    /// Lower-cased patterns: exact hosts or `*.domain`.
    allowed_hosts: Vec<String>,
    www_redirect: bool,
    host_syntax: regex::Regex,
}

/// What to do with a request whose host is not allowed.
pub enum Rejection {
    /// 307 to the same URL on `www.` + host.
    Redirect(String),
    /// 400 `Invalid host header`.
    Invalid,
}

impl TrustedHost {
    pub fn from_py(config: &Bound<'_, PyAny>) -> PyResult<TrustedHost> {
        // Starlette's host grammar: a reg-name, or a bracketed IPv6 / IPvFuture literal, then a port.
        let host_syntax = regex::Regex::new(
            r"(?i)^(?P<host>[a-z0-9._~%!$&'()*+,;=-]+|\[(?:(?P<ipv6>[a-f0-9]*:[a-f0-9.:]+)|(?-i:v)[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+)\])(?::(?P<port>[0-9]+))?$",
        )
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        Ok(TrustedHost {
            allowed_hosts: config.getattr("allowed_hosts")?.extract()?,
            www_redirect: config.getattr("www_redirect")?.extract()?,
            host_syntax,
        })
    }

    /// `None` when the request may go on.
    pub fn check(&self, head: &Head<'_>) -> Option<Rejection> {
        let Some(raw_host) = head.header("host") else {
            return Some(Rejection::Invalid);
        };
        let host_header: String = raw_host.iter().map(|&b| b as char).collect();
        let host = match simple_host(raw_host) {
            // Most Host headers are a plain name or address with an optional port.
            Some(host) => host,
            None => {
                let Some(caps) = self.host_syntax.captures(&host_header) else {
                    return Some(Rejection::Invalid);
                };
                if let Some(ipv6) = caps.name("ipv6") {
                    if ipv6.as_str().parse::<std::net::Ipv6Addr>().is_err() {
                        return Some(Rejection::Invalid);
                    }
                }
                caps.name("host").map_or("", |m| m.as_str()).to_lowercase()
            }
        };
        let mut www = false;
        for pattern in &self.allowed_hosts {
            if host == *pattern || (pattern.starts_with('*') && host.ends_with(&pattern[1..])) {
                return None;
            }
            if format!("www.{host}") == *pattern {
                www = true;
            }
        }
        if www && self.www_redirect {
            let mut url = format!("http://www.{host_header}{}", crate::router::decode_path(head.path));
            if !head.query.is_empty() {
                url.push('?');
                url.push_str(head.query);
            }
            return Some(Rejection::Redirect(url));
        }
        Some(Rejection::Invalid)
    }
}

/// `name[:port]` made of letters, digits, dots and dashes: the host, lower-cased, without the
/// regex. `None` sends anything else through the full grammar.
fn simple_host(raw: &[u8]) -> Option<String> {
    let (host, port) = match raw.iter().position(|b| *b == b':') {
        Some(i) => (&raw[..i], Some(&raw[i + 1..])),
        None => (raw, None),
    };
    let host_ok = !host.is_empty() && host.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-');
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit));
    (host_ok && port_ok).then(|| String::from_utf8_lossy(host).to_lowercase())
}
