//! The opening handshake (RFC 6455 §4.2): validating an upgrade request and writing the 101.
//!
//! Rejections mirror the `websockets` package (what uvicorn uses): the same checks in the same
//! order, the same statuses and the same response texts. An unsupported `Sec-WebSocket-Version`
//! also carries `Sec-WebSocket-Version: 13`, as RFC 6455 §4.4 asks.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use sha1::{Digest, Sha1};

/// Appended to the client's key before hashing (§1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Decodes a key the way `websockets` does (`base64.b64decode(key, validate=True)`): standard
/// alphabet, padding required, non-zero trailing bits tolerated.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A request header as the handshake sees it; implemented for httparse's headers and for
/// plain `(name, value)` pairs.
pub trait HeaderField {
    fn name(&self) -> &str;
    fn value(&self) -> &[u8];
}

impl HeaderField for httparse::Header<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn value(&self) -> &[u8] {
        self.value
    }
}

impl HeaderField for (&str, &[u8]) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> &[u8] {
        self.1
    }
}

/// An accepted upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The `Sec-WebSocket-Accept` value: base64(sha1(key + GUID)).
    pub accept: String,
    /// Subprotocols offered in `Sec-WebSocket-Protocol`, in order (the ASGI `subprotocols`).
    pub protocols: Vec<String>,
    /// Extensions offered in `Sec-WebSocket-Extensions`, one entry per offer with its
    /// parameters. Recorded only: we negotiate none, so the 101 carries no extension header.
    pub extensions: Vec<String>,
}

/// Why an upgrade request was refused. `status`, `headers` and `body` give the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not a GET (the method as received).
    BadMethod(String),
    /// HTTP/1.0.
    BadHttpVersion,
    /// `Connection` lacks the `upgrade` token, or `Upgrade` is not `websocket`. `header` is
    /// which one; `value` what it held (`None` when absent).
    NotUpgrade {
        header: &'static str,
        value: Option<String>,
    },
    MissingKey,
    DuplicateKey,
    /// The key is not base64 of 16 bytes.
    BadKey(String),
    MissingVersion,
    DuplicateVersion,
    /// A version other than 13.
    BadVersion(String),
}

impl HandshakeError {
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::NotUpgrade { .. } => 426,
            // uvicorn (with `websockets`) answers a wrong version with 400, as the other key and
            // version errors; the `Sec-WebSocket-Version: 13` header still says what we speak.
            _ => 400,
        }
    }

    /// Headers the rejection must carry besides the usual ones (the body is
    /// `text/plain; charset=utf-8` and the connection is closed afterwards).
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            HandshakeError::NotUpgrade { .. } => &[("Upgrade", "websocket")],
            HandshakeError::BadVersion(_) => &[("Sec-WebSocket-Version", "13")],
            _ => &[],
        }
    }

    /// The response body, worded as `websockets` words it.
    pub fn body(&self) -> String {
        let mut body = format!("Failed to open a WebSocket connection: {self}.\n");
        if let HandshakeError::NotUpgrade { .. } = self {
            body.push_str(
                "\nYou cannot access a WebSocket server directly with a browser. You need a WebSocket client.\n",
            );
        }
        body
    }
}

/// `websockets`' wording for a header problem (its `InvalidHeader.__str__`).
fn header_problem(f: &mut std::fmt::Formatter<'_>, name: &str, value: Option<&str>) -> std::fmt::Result {
    match value {
        None => write!(f, "missing {name} header"),
        Some("") => write!(f, "empty {name} header"),
        Some(v) => write!(f, "invalid {name} header: {v}"),
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::BadMethod(m) => write!(f, "unsupported HTTP method; expected GET; got {m}"),
            HandshakeError::BadHttpVersion => f.write_str("unsupported protocol; expected HTTP/1.1"),
            HandshakeError::NotUpgrade { header, value } => header_problem(f, header, value.as_deref()),
            HandshakeError::MissingKey => header_problem(f, "Sec-WebSocket-Key", None),
            HandshakeError::DuplicateKey => header_problem(f, "Sec-WebSocket-Key", Some("multiple values")),
            HandshakeError::BadKey(v) => header_problem(f, "Sec-WebSocket-Key", Some(v)),
            HandshakeError::MissingVersion => header_problem(f, "Sec-WebSocket-Version", None),
            HandshakeError::DuplicateVersion => header_problem(f, "Sec-WebSocket-Version", Some("multiple values")),
            HandshakeError::BadVersion(v) => header_problem(f, "Sec-WebSocket-Version", Some(v)),
        }
    }
}

impl std::error::Error for HandshakeError {}

fn values<'h, H: HeaderField>(headers: &'h [H], name: &'static str) -> impl Iterator<Item = &'h [u8]> + 'h {
    headers.iter().filter(move |h| h.name().eq_ignore_ascii_case(name)).map(|h| h.value())
}

/// The comma-separated elements of every `name` header, trimmed, empty ones skipped.
fn tokens<'h, H: HeaderField>(headers: &'h [H], name: &'static str) -> impl Iterator<Item = &'h [u8]> + 'h {
    values(headers, name).flat_map(|v| v.split(|b| *b == b',')).map(trim).filter(|t| !t.is_empty())
}

fn has_token<H: HeaderField>(headers: &[H], name: &'static str, token: &str) -> bool {
    tokens(headers, name).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// The single value of `name`: `Ok(None)` if absent, `Err(())` if repeated.
fn single<'h, H: HeaderField>(headers: &'h [H], name: &'static str) -> Result<Option<&'h [u8]>, ()> {
    let mut all = values(headers, name);
    let first = all.next();
    if all.next().is_some() {
        return Err(());
    }
    Ok(first.map(trim))
}

fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Whether a request asks to become a WebSocket (`Connection: upgrade` and
/// `Upgrade: websocket`), i.e. whether to route it as one; `validate` then checks the rest.
pub fn is_upgrade_request<H: HeaderField>(headers: &[H]) -> bool {
    has_token(headers, "connection", "upgrade") && has_token(headers, "upgrade", "websocket")
}

/// Checks an upgrade request (§4.2.1). `http_minor` is the HTTP/1.x minor version.
pub fn validate<H: HeaderField>(method: &str, http_minor: u8, headers: &[H]) -> Result<Handshake, HandshakeError> {
    if method != "GET" {
        return Err(HandshakeError::BadMethod(method.to_owned()));
    }
    if http_minor < 1 {
        return Err(HandshakeError::BadHttpVersion);
    }
    // Connection, Upgrade, key, version: the order `websockets` checks them in.
    for (header, name, token) in [("Connection", "connection", "upgrade"), ("Upgrade", "upgrade", "websocket")] {
        if !has_token(headers, name, token) {
            let seen: Vec<&[u8]> = tokens(headers, name).collect();
            let value = (!seen.is_empty()).then(|| lossy(&seen.join(&b", "[..])));
            return Err(HandshakeError::NotUpgrade { header, value });
        }
    }

    let key = single(headers, "sec-websocket-key")
        .map_err(|()| HandshakeError::DuplicateKey)?
        .ok_or(HandshakeError::MissingKey)?;
    // Base64 of 16 bytes is exactly 24 characters; checking first also bounds the work.
    let key_ok = key.len() == 24 && KEY_BASE64.decode(key).is_ok_and(|raw| raw.len() == 16);
    if !key_ok {
        return Err(HandshakeError::BadKey(lossy(key)));
    }

    let version = single(headers, "sec-websocket-version")
        .map_err(|()| HandshakeError::DuplicateVersion)?
        .ok_or(HandshakeError::MissingVersion)?;
    if version != b"13" {
        return Err(HandshakeError::BadVersion(lossy(version)));
    }

    Ok(Handshake {
        accept: accept_key(key),
        protocols: tokens(headers, "sec-websocket-protocol").map(lossy).collect(),
        extensions: tokens(headers, "sec-websocket-extensions").map(lossy).collect(),
    })
}

/// base64(sha1(key + GUID)), the `Sec-WebSocket-Accept` value for `key`.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    STANDARD.encode(sha.finalize())
}

/// Writes the whole 101 response head, blank line included. `extra` headers (e.g. the ones
/// the application passed to `websocket.accept`) are written as given: the caller is
/// responsible for them holding no CR/LF.
pub fn write_response_head<N, V>(
    out: &mut Vec<u8>,
    accept: &str,
    protocol: Option<&str>,
    extra: impl IntoIterator<Item = (N, V)>,
) where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
    out.extend_from_slice(b"Sec-WebSocket-Accept: ");
    out.extend_from_slice(accept.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(protocol) = protocol {
        out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        out.extend_from_slice(protocol.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in extra {
        out.extend_from_slice(name.as_ref());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_ref());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";

    fn good() -> Vec<(&'static str, &'static [u8])> {
        vec![
            ("Host", b"server.example.com"),
            ("Upgrade", b"websocket"),
            ("Connection", b"Upgrade"),
            ("Sec-WebSocket-Key", KEY),
            ("Sec-WebSocket-Version", b"13"),
        ]
    }

    fn with(name: &'static str, value: &'static [u8]) -> Vec<(&'static str, &'static [u8])> {
        let mut h: Vec<_> = good().into_iter().filter(|(n, _)| !n.eq_ignore_ascii_case(name)).collect();
        h.push((name, value));
        h
    }

    fn without(name: &str) -> Vec<(&'static str, &'static [u8])> {
        good().into_iter().filter(|(n, _)| !n.eq_ignore_ascii_case(name)).collect()
    }

    #[test]
    fn rfc_example_accept() {
        // RFC 6455 §1.3.
        assert_eq!(accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let hs = validate("GET", 1, &good()).unwrap();
        assert_eq!(hs.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(hs.protocols.is_empty() && hs.extensions.is_empty());
    }

    #[test]
    fn works_with_httparse_headers() {
        let raw = b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                    Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Protocol: v2\r\n\
                    Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\r\n";
        let mut storage = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut storage);
        assert!(req.parse(raw).unwrap().is_complete());
        assert!(is_upgrade_request(req.headers));
        let hs = validate(req.method.unwrap(), req.version.unwrap(), req.headers).unwrap();
        assert_eq!(hs.protocols, ["chat", "superchat", "v2"]);
        assert_eq!(hs.extensions, ["permessage-deflate; client_max_window_bits", "x-foo"]);
    }

    #[test]
    fn header_names_and_tokens_are_case_insensitive() {
        let h: Vec<(&str, &[u8])> = vec![
            ("UPGRADE", b"WebSocket"),
            ("connection", b"keep-alive,UPGRADE"),
            ("sec-websocket-key", b" dGhlIHNhbXBsZSBub25jZQ== "),
            ("SEC-WEBSOCKET-VERSION", b"13"),
        ];
        assert!(is_upgrade_request(&h));
        assert_eq!(validate("GET", 1, &h).unwrap().accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn not_an_upgrade() {
        assert!(!is_upgrade_request(&without("Connection")));
        assert!(!is_upgrade_request(&with("Upgrade", b"h2c")));
        let err = validate("GET", 1, &without("Connection")).unwrap_err();
        assert_eq!(err, HandshakeError::NotUpgrade { header: "Connection", value: None });
        assert_eq!((err.status(), err.headers()), (426, &[("Upgrade", "websocket")][..]));
        assert_eq!(
            err.body(),
            "Failed to open a WebSocket connection: missing Connection header.\n\n\
             You cannot access a WebSocket server directly with a browser. You need a WebSocket client.\n"
        );
        let err = validate("GET", 1, &with("Connection", b"keep-alive")).unwrap_err();
        assert_eq!(err.to_string(), "invalid Connection header: keep-alive");
        let err = validate("GET", 1, &with("Upgrade", b"h2c, foo")).unwrap_err();
        assert_eq!(err.to_string(), "invalid Upgrade header: h2c, foo");
        assert_eq!(err.status(), 426);
    }

    #[test]
    fn method_and_http_version() {
        let err = validate("POST", 1, &good()).unwrap_err();
        assert_eq!((err.status(), err.to_string()), (400, "unsupported HTTP method; expected GET; got POST".into()));
        assert_eq!(validate("GET", 0, &good()).unwrap_err(), HandshakeError::BadHttpVersion);
    }

    #[test]
    fn bad_keys() {
        assert_eq!(validate("GET", 1, &without("Sec-WebSocket-Key")), Err(HandshakeError::MissingKey));
        let mut dup = good();
        dup.push(("Sec-WebSocket-Key", KEY));
        assert_eq!(validate("GET", 1, &dup), Err(HandshakeError::DuplicateKey));
        for key in [
            &b""[..],
            b"not base64!!",
            b"dGhlIHNhbXBsZSBub25jZQ",     // unpadded
            b"dGhlIHNhbXBsZSBub25jZQ==AA", // too long
            b"dGhlIHNhbXBsZSBub25j",       // 15 bytes, 20 chars
            b"dGhlIHNhbXBsZSBub25jZSE=",   // 17 bytes
            b"dGhlIHNhbXBsZSBub25jZ*==",   // bad character
        ] {
            let err = validate("GET", 1, &with("Sec-WebSocket-Key", key)).unwrap_err();
            assert_eq!(err, HandshakeError::BadKey(lossy(key.trim_ascii())), "{key:?}");
            assert_eq!(err.status(), 400);
        }
        // Non-zero trailing bits are accepted, as Python's b64decode accepts them.
        assert!(validate("GET", 1, &with("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZR==")).is_ok());
        let err = validate("GET", 1, &with("Sec-WebSocket-Key", b"abc")).unwrap_err();
        assert_eq!(err.body(), "Failed to open a WebSocket connection: invalid Sec-WebSocket-Key header: abc.\n");
        let err = validate("GET", 1, &with("Sec-WebSocket-Key", b"")).unwrap_err();
        assert_eq!(err.to_string(), "empty Sec-WebSocket-Key header");
    }

    #[test]
    fn bad_versions() {
        let err = validate("GET", 1, &with("Sec-WebSocket-Version", b"8")).unwrap_err();
        assert_eq!(err, HandshakeError::BadVersion("8".into()));
        assert_eq!((err.status(), err.headers()), (400, &[("Sec-WebSocket-Version", "13")][..]));
        assert_eq!(err.body(), "Failed to open a WebSocket connection: invalid Sec-WebSocket-Version header: 8.\n");
        let err = validate("GET", 1, &without("Sec-WebSocket-Version")).unwrap_err();
        assert_eq!((err.status(), err.to_string()), (400, "missing Sec-WebSocket-Version header".into()));
        let mut dup = good();
        dup.push(("Sec-WebSocket-Version", b"13"));
        assert_eq!(validate("GET", 1, &dup), Err(HandshakeError::DuplicateVersion));
        // "13, 8" is one header value, not the version 13.
        assert!(validate("GET", 1, &with("Sec-WebSocket-Version", b"13, 8")).is_err());
    }

    #[test]
    fn response_head() {
        let mut out = Vec::new();
        write_response_head(&mut out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Some("chat"), [(&b"x-a"[..], &b"1"[..])]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nx-a: 1\r\n\r\n"
        );
        let mut out = Vec::new();
        let extra: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        write_response_head(&mut out, "abc", None, extra);
        assert!(out.ends_with(b"Sec-WebSocket-Accept: abc\r\n\r\n"));
    }
}
