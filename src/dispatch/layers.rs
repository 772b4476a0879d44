//! The native middleware (CORS, GZip, TrustedHost, HTTPSRedirect) around every route, acting on
//! the typed response before it is encoded: on the way in a layer may answer by itself; on the
//! way out each layer edits the status-aware headers and body it is given.

use super::response::{Body, Response, TEXT};
use crate::http::response::HeaderList;
use crate::http::Head;
use crate::middleware::{https_url, Layer, Rejection};

/// What the layers need of the request on the way out.
pub struct RequestFacts {
    origin: Option<Vec<u8>>,
    accepts_gzip: bool,
}

impl RequestFacts {
    pub fn of(head: &Head<'_>) -> RequestFacts {
        RequestFacts {
            origin: head.header("origin").map(<[u8]>::to_vec),
            accepts_gzip: head.header("accept-encoding").is_some_and(|v| v.windows(4).any(|w| w == b"gzip")),
        }
    }
}

/// The way in, outermost first. A layer that answers by itself returns its response and how
/// many layers were entered before it (those see the answer on its way out).
pub fn enter(layers: &[Layer], request: &super::Request, ctx: &super::CallContext) -> Option<(Response, usize)> {
    let head = request.head;
    for (entered, layer) in layers.iter().enumerate() {
        let answer = match layer {
            Layer::TrustedHost(trusted) => match trusted.check(head) {
                None => None,
                Some(Rejection::Redirect(url)) => Some(Response::redirect(307, quote_location(&url))),
                Some(Rejection::Invalid) => Some(invalid_host()),
            },
            // Starlette redirects what the scope's scheme (proxy headers included) says is plain.
            Layer::HttpsRedirect => {
                let secure = match request.forwarded.scheme.unwrap_or("http") {
                    "http" => "https",
                    "ws" => "wss",
                    _ => continue,
                };
                Some(match https_url(head, ctx.local_addr, ctx.url_path_prefix(), secure) {
                    Some(url) => Response::redirect(307, quote_location(&url)),
                    None => invalid_host(),
                })
            }
            Layer::Cors(cors) => cors.preflight(head).map(|p| Response::full(p.status, Some(TEXT), p.headers, p.body)),
            Layer::GZip(_) => None,
        };
        if let Some(answer) = answer {
            return Some((answer, entered));
        }
    }
    None
}

fn invalid_host() -> Response {
    Response::full(400, Some(TEXT), HeaderList::default(), b"Invalid host header".to_vec())
}

/// The way out through `layers`, innermost first. A server error (500) passes none of them, as
/// Starlette's outermost error middleware answers it.
pub fn leave(layers: &[Layer], facts: &RequestFacts, mut response: Response) -> Response {
    if response.server_error {
        return response;
    }
    for layer in layers.iter().rev() {
        match layer {
            Layer::Cors(cors) => cors.apply(facts.origin.as_deref(), &mut response.headers),
            Layer::GZip(gzip) => {
                let (status, headers) = (response.status, &mut response.headers);
                match &mut response.body {
                    Body::Full(body) | Body::AsGiven(body) => gzip.apply(facts.accepts_gzip, status, headers, body),
                    Body::Stream(stream) => {
                        if gzip.apply_streaming(facts.accepts_gzip, status, headers) {
                            stream.compress(gzip.level());
                        }
                    }
                    Body::Omitted => {}
                }
            }
            Layer::TrustedHost(_) | Layer::HttpsRedirect => {}
        }
    }
    response
}

/// `urllib.parse.quote(url, safe=":/%#?=@[]!$&'()*+,;")`, as `RedirectResponse` does.
pub fn quote_location(url: &str) -> String {
    const SAFE: &[u8] = b":/%#?=@[]!$&'()*+,;_.-~";
    let mut out = String::with_capacity(url.len());
    for &b in url.as_bytes() {
        if b.is_ascii_alphanumeric() || SAFE.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
