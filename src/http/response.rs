//! Response serialisation: the status line, the server's own headers, the app's headers, and the
//! body's framing. Every response goes out through [`encode_head`] (or [`write_full`], which
//! uses it), so the rules for `connection`, `content-length` and `transfer-encoding` live here.

use std::borrow::Cow;

use super::date::append_date;

/// Connection-level facts that shape every response's head.
#[derive(Clone, Copy, Debug)]
pub struct WriteOpts<'a> {
    /// HEAD request: send the head (with the body's length) but not the body.
    pub head_only: bool,
    /// The connection closes after this response.
    pub close: bool,
    /// HTTP/1.0 client that asked for keep-alive: say that we keep it.
    pub http10_keep_alive: bool,
    /// Value of the `server` header, if one is configured.
    pub server: Option<&'a [u8]>,
    /// The client speaks HTTP/1.0 (no chunked responses).
    pub http10: bool,
}

impl<'a> WriteOpts<'a> {
    /// A response after which the connection closes (errors, refusals).
    pub fn closing(server: Option<&'a [u8]>) -> WriteOpts<'a> {
        WriteOpts { head_only: false, close: true, http10_keep_alive: false, server, http10: false }
    }

    /// Whether a complete body of a response with `status` goes on the wire.
    pub fn writes_body(&self, status: u16) -> bool {
        !self.head_only && status_allows_body(status)
    }
}

/// 1xx, 204 and 304 responses never carry a body or its length.
pub fn status_allows_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

pub fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

/// A header name or value the application produced that must never reach the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidHeader {
    Name,
    Value,
}

impl InvalidHeader {
    /// uvicorn's wording, so logs and tracebacks read the same.
    pub fn message(self) -> &'static str {
        match self {
            InvalidHeader::Name => "Invalid HTTP header name.",
            InvalidHeader::Value => "Invalid HTTP header value.",
        }
    }
}

/// The one check for headers that come from the application (uvicorn's `HEADER_RE` and
/// `HEADER_VALUE_RE`): a name is a non-empty token; a value has no control character but tab
/// (so no CR, LF or NUL: nothing can be injected into the head).
pub fn check_header(name: &[u8], value: &[u8]) -> Result<(), InvalidHeader> {
    if name.is_empty() || !name.iter().all(|&b| TOKEN[b as usize]) {
        return Err(InvalidHeader::Name);
    }
    if !value.iter().all(|&b| VALUE[b as usize]) {
        return Err(InvalidHeader::Value);
    }
    Ok(())
}

/// Bytes allowed in a header name: anything but controls and `()<>@,;:[]={} \t\\"`.
static TOKEN: [bool; 256] = {
    let mut table = [true; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = false;
        b += 1;
    }
    table[0x7f] = false;
    let separators = b"()<>@,;:[]={} \t\\\"";
    let mut i = 0;
    while i < separators.len() {
        table[separators[i] as usize] = false;
        i += 1;
    }
    table
};

/// Bytes allowed in a header value: anything but controls other than tab.
static VALUE: [bool; 256] = {
    let mut table = [true; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b == b'\t' as usize;
        b += 1;
    }
    table[0x7f] = false;
    table
};

pub type HeaderBytes = Cow<'static, [u8]>;

/// Response headers in order, with Starlette's `MutableHeaders` assignment rule. Names are
/// stored as given; lookups ignore case.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeaderList(pub Vec<(HeaderBytes, HeaderBytes)>);

impl HeaderList {
    pub fn from_pairs(pairs: &[(String, String)]) -> HeaderList {
        let mut list = HeaderList::default();
        for (name, value) in pairs {
            list.set(&name.to_ascii_lowercase(), value.as_bytes());
        }
        list
    }

    /// Appends a header the server itself made (trusted, not checked).
    pub fn push(&mut self, name: impl Into<HeaderBytes>, value: impl Into<HeaderBytes>) {
        self.0.push((name.into(), value.into()));
    }

    /// Appends a header from the application, refusing what [`check_header`] refuses.
    pub fn push_checked(&mut self, name: &[u8], value: &[u8]) -> Result<(), InvalidHeader> {
        check_header(name, value)?;
        self.0.push((Cow::Owned(name.to_vec()), Cow::Owned(value.to_vec())));
        Ok(())
    }

    /// Replaces the first header called `name` (removing any others), or appends one.
    pub fn set(&mut self, name: &str, value: &[u8]) {
        let name = name.as_bytes();
        let mut found = false;
        self.0.retain_mut(|(n, v)| {
            if !n.eq_ignore_ascii_case(name) {
                return true;
            }
            if found {
                return false;
            }
            found = true;
            *v = Cow::Owned(value.to_vec());
            true
        });
        if !found {
            self.0.push((Cow::Owned(name.to_ascii_lowercase()), Cow::Owned(value.to_vec())));
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()));
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v.as_ref())
    }

    pub fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.0.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v.as_ref()).collect()
    }

    /// `self[name] = ", ".join([*self.getlist(name), value])`, as CORS and GZip add to `Vary`.
    pub fn append_to(&mut self, name: &str, value: &[u8]) {
        let mut joined = self.get_all(name).join(&b", "[..]);
        if !joined.is_empty() {
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(value);
        self.set(name, &joined);
    }
}

/// How the body that follows a head is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body at all (HEAD, 1xx/204/304), or its length is in the headers.
    AsDeclared,
    /// `Transfer-Encoding: chunked` (added here).
    Chunked,
    /// The body ends when the connection closes (an HTTP/1.0 client and no length).
    UntilClose,
}

/// What the body that will follow the head is, for the head's framing headers.
#[derive(Clone, Copy, Debug)]
pub enum BodyKind {
    /// A complete body of this many bytes: its `content-length` is added unless present.
    Full(usize),
    /// A body sent piece by piece: chunked unless the headers give its length.
    Streamed,
    /// No body, or one whose framing the headers already give: they are written as given.
    Omitted,
}

/// Writes the status line, the server's headers, `headers` and the framing for `body`; returns
/// how the body must be framed. `opts.close` is honoured; a close-delimited body forces it.
pub fn encode_head(out: &mut Vec<u8>, status: u16, headers: &HeaderList, body: BodyKind, opts: &WriteOpts) -> Framing {
    let framing = match body {
        BodyKind::Streamed if status_allows_body(status) && !opts.head_only && !headers.has("content-length") => {
            if opts.http10 {
                Framing::UntilClose
            } else {
                Framing::Chunked
            }
        }
        _ => Framing::AsDeclared,
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\ndate: ");
    append_date(out);
    out.extend_from_slice(b"\r\n");
    if let Some(server) = opts.server {
        write_header(out, b"server", server);
    }
    if opts.close || framing == Framing::UntilClose {
        out.extend_from_slice(b"connection: close\r\n");
    } else if opts.http10_keep_alive {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    // Where Starlette's `init_headers` puts it: after the app's headers, before the content type.
    let mut length = match body {
        BodyKind::Full(len) if status_allows_body(status) && !headers.has("content-length") => Some(len),
        _ => None,
    };
    for (name, value) in &headers.0 {
        if length.is_some() && name.eq_ignore_ascii_case(b"content-type") {
            write_header(out, b"content-length", digits.format(length.take().unwrap_or(0)).as_bytes());
        }
        write_header(out, name, value);
    }
    if let Some(len) = length {
        write_header(out, b"content-length", digits.format(len).as_bytes());
    }
    if framing == Framing::Chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
    framing
}

fn write_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// A complete response whose body is known: the server's headers, `content-length`,
/// `content-type` (Starlette sets it on bodiless statuses too), the extras, then the body.
pub fn write_full(
    out: &mut Vec<u8>,
    status: u16,
    content_type: Option<&'static [u8]>,
    extra_headers: &[(&[u8], &[u8])],
    body: &[u8],
    opts: &WriteOpts,
) {
    let mut headers = HeaderList::default();
    for (name, value) in extra_headers {
        headers.push(name.to_vec(), value.to_vec());
    }
    if let Some(content_type) = content_type {
        headers.push(&b"content-type"[..], content_type);
    }
    encode_head(out, status, &headers, BodyKind::Full(body.len()), opts);
    if opts.writes_body(status) {
        out.extend_from_slice(body);
    }
}

/// A short plain-text error for requests that never reached the app (400, 413, 431, …).
pub fn write_protocol_error(out: &mut Vec<u8>, status: u16, message: &str, server: Option<&[u8]>) {
    let opts = WriteOpts::closing(server);
    write_full(out, status, Some(b"text/plain; charset=utf-8"), &[], message.as_bytes(), &opts);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep_alive() -> WriteOpts<'static> {
        WriteOpts { close: false, ..WriteOpts::closing(None) }
    }

    #[test]
    fn full_response() {
        let mut out = Vec::new();
        write_full(&mut out, 200, Some(b"application/json"), &[], b"{}", &keep_alive());
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\ndate: "));
        assert!(s.ends_with("content-length: 2\r\ncontent-type: application/json\r\n\r\n{}"));
    }

    #[test]
    fn assignment_rule_and_append() {
        let mut headers = HeaderList::default();
        headers.push(&b"vary"[..], &b"a"[..]);
        headers.push(&b"x"[..], &b"1"[..]);
        headers.push(&b"Vary"[..], &b"b"[..]);
        headers.append_to("vary", b"Origin");
        headers.set("y", b"2");
        let pairs: Vec<(&[u8], &[u8])> = headers.0.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).collect();
        assert_eq!(pairs, vec![(&b"vary"[..], &b"a, b, Origin"[..]), (b"x", b"1"), (b"y", b"2")]);
    }

    #[test]
    fn head_and_no_content() {
        let mut out = Vec::new();
        let opts = WriteOpts { head_only: true, server: Some(b"x"), ..WriteOpts::closing(None) };
        write_full(&mut out, 200, Some(b"text/plain"), &[], b"hello", &opts);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.contains("content-length: 5\r\n") && s.contains("connection: close\r\n") && s.contains("server: x\r\n")
        );
        assert!(s.ends_with("\r\n\r\n"));
        let mut out = Vec::new();
        write_full(&mut out, 204, Some(b"application/json"), &[], b"null", &keep_alive());
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("content-length") && text.ends_with("content-type: application/json\r\n\r\n"));
    }

    #[test]
    fn streamed_framing() {
        let mut headers = HeaderList::default();
        headers.push(&b"content-type"[..], &b"text/plain"[..]);
        let mut out = Vec::new();
        assert_eq!(encode_head(&mut out, 200, &headers, BodyKind::Streamed, &keep_alive()), Framing::Chunked);
        assert!(String::from_utf8(out).unwrap().ends_with("transfer-encoding: chunked\r\n\r\n"));
        let http10 = WriteOpts { http10: true, ..keep_alive() };
        let mut out = Vec::new();
        assert_eq!(encode_head(&mut out, 200, &headers, BodyKind::Streamed, &http10), Framing::UntilClose);
        assert!(String::from_utf8(out).unwrap().contains("connection: close\r\n"));
        headers.push(&b"content-length"[..], &b"3"[..]);
        let mut out = Vec::new();
        assert_eq!(encode_head(&mut out, 200, &headers, BodyKind::Streamed, &keep_alive()), Framing::AsDeclared);
    }

    #[test]
    fn header_check_refuses_injection() {
        assert_eq!(check_header(b"x-echo", b"a\r\nset-cookie: evil=1"), Err(InvalidHeader::Value));
        assert_eq!(check_header(b"x-echo", b"a\0b"), Err(InvalidHeader::Value));
        assert_eq!(check_header(b"x echo", b"ok"), Err(InvalidHeader::Name));
        assert_eq!(check_header(b"", b"ok"), Err(InvalidHeader::Name));
        assert_eq!(check_header(b"x-echo", b"tab\tis fine; \xff too"), Ok(()));
    }
}
