//! Request head parsing: httparse into a stack array of headers that borrow the read buffer.

/// Limits enforced while a request is read. Every one is a `serve()` option.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request head (request line + headers) in bytes; larger → 431.
    pub max_head_bytes: usize,
    /// Most header lines in one request; more → 431.
    pub max_headers: usize,
    /// Largest request body in bytes; larger → 413.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_head_bytes: 16 * 1024, max_headers: 100, max_body_bytes: 16 * 1024 * 1024 }
    }
}

/// Upper bound for the stack header array; `Limits::max_headers` may only lower it.
pub const HEADER_ARRAY: usize = 128;

/// The stack array httparse fills; uninitialised, so making one per request costs nothing.
pub type HeaderStorage<'b> = [std::mem::MaybeUninit<httparse::Header<'b>>; HEADER_ARRAY];

pub fn header_storage<'b>() -> HeaderStorage<'b> {
    [const { std::mem::MaybeUninit::uninit() }; HEADER_ARRAY]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Trace,
    Other,
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            _ => Method::Other,
        }
    }
}

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(usize),
    Chunked,
}

/// A parsed request head. Every slice points into the connection's read buffer.
#[derive(Debug)]
pub struct Head<'b> {
    pub method: Method,
    pub method_str: &'b str,
    /// The request target up to `?`, still percent-encoded.
    pub path: &'b str,
    /// The query string after `?` (empty when absent), still percent-encoded.
    pub query: &'b str,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    pub headers: &'b [httparse::Header<'b>],
    pub framing: Framing,
    pub keep_alive: bool,
    pub expect_continue: bool,
    /// Length of the head in bytes, including the blank line.
    pub head_len: usize,
}

impl<'b> Head<'b> {
    /// First value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }
}

/// Why a head could not be accepted. Each maps to one status code.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Malformed syntax or framing → 400.
    Invalid(&'static str),
    /// Head or header count over the limit → 431.
    TooLarge,
    /// Declared body over the limit → 413.
    BodyTooLarge,
    /// A transfer coding we do not implement → 501.
    UnsupportedTransferEncoding,
}

impl HeadError {
    pub fn status(&self) -> u16 {
        match self {
            HeadError::Invalid(_) => 400,
            HeadError::TooLarge => 431,
            HeadError::BodyTooLarge => 413,
            HeadError::UnsupportedTransferEncoding => 501,
        }
    }
}

/// Parses one head from the start of `buf`. `Ok(None)` means more bytes are needed.
pub fn parse_head<'b>(
    buf: &'b [u8],
    storage: &'b mut HeaderStorage<'b>,
    limits: &Limits,
) -> Result<Option<Head<'b>>, HeadError> {
    let max_headers = limits.max_headers.min(HEADER_ARRAY);
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(buf, &mut storage[..max_headers]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > limits.max_head_bytes { Err(HeadError::TooLarge) } else { Ok(None) };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Invalid("malformed request head")),
    };
    if head_len > limits.max_head_bytes {
        return Err(HeadError::TooLarge);
    }
    let method_str = req.method.unwrap_or("");
    let target = req.path.unwrap_or("");
    let version = req.version.unwrap_or(1);
    let headers: &'b [httparse::Header<'b>] = req.headers;
    let asterisk_options = target == "*" && method_str == "OPTIONS";
    if !target.starts_with('/') && !asterisk_options {
        // Absolute-form targets are only for proxies; Starlette would not route them either.
        return Err(HeadError::Invalid("request target must be origin-form"));
    }
    let (path, query) = match target.find('?') {
        Some(i) => (&target[..i], &target[i + 1..]),
        None => (target, ""),
    };

    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut saw_transfer_encoding = false;
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    let mut expect_continue = false;
    let mut host_count = 0;
    for h in headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = parse_content_length(h.value)?;
            if content_length.is_some_and(|prev| prev != n) {
                return Err(HeadError::Invalid("conflicting Content-Length headers"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if saw_transfer_encoding || chunked {
                return Err(HeadError::Invalid("repeated Transfer-Encoding"));
            }
            saw_transfer_encoding = true;
            let v = trim(h.value);
            if v.eq_ignore_ascii_case(b"chunked") {
                chunked = true;
            } else if version == 0 {
                return Err(HeadError::Invalid("Transfer-Encoding in an HTTP/1.0 request"));
            } else {
                return Err(HeadError::UnsupportedTransferEncoding);
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',') {
                let token = trim(token);
                if token.eq_ignore_ascii_case(b"close") {
                    conn_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    conn_keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("expect") {
            if trim(h.value).eq_ignore_ascii_case(b"100-continue") {
                expect_continue = version == 1;
            }
        } else if name.eq_ignore_ascii_case("host") {
            host_count += 1;
        }
    }
    if host_count > 1 {
        return Err(HeadError::Invalid("more than one Host header"));
    }
    if version == 1 && host_count == 0 {
        return Err(HeadError::Invalid("HTTP/1.1 request without Host"));
    }
    let framing = match (chunked, content_length) {
        (true, Some(_)) => return Err(HeadError::Invalid("both Content-Length and Transfer-Encoding")),
        (true, None) => Framing::Chunked,
        (false, Some(0)) | (false, None) => Framing::None,
        (false, Some(n)) => {
            if n > limits.max_body_bytes {
                return Err(HeadError::BodyTooLarge);
            }
            Framing::Length(n)
        }
    };
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; the connection closes
    // after the response (a front end that ignores it would read the body as the next request).
    let keep_alive = if version == 1 { !conn_close } else { conn_keep_alive && !conn_close && !chunked };
    Ok(Some(Head {
        method: Method::parse(method_str),
        method_str,
        path,
        query,
        version,
        headers,
        framing,
        keep_alive,
        expect_continue: expect_continue && framing != Framing::None,
        head_len,
    }))
}

fn parse_content_length(value: &[u8]) -> Result<usize, HeadError> {
    let v = trim(value);
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(HeadError::Invalid("invalid Content-Length"));
    }
    let mut n: usize = 0;
    for d in v {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add((d - b'0') as usize))
            .ok_or(HeadError::Invalid("invalid Content-Length"))?;
    }
    Ok(n)
}

pub fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    type Summary = (Method, String, String, Framing, bool, usize);

    fn parse(raw: &[u8]) -> Result<Option<Summary>, HeadError> {
        let mut storage = header_storage();
        let limits = Limits::default();
        parse_head(raw, &mut storage, &limits).map(|o| {
            o.map(|h| (h.method, h.path.to_string(), h.query.to_string(), h.framing, h.keep_alive, h.head_len))
        })
    }

    #[test]
    fn simple_get() {
        let raw = b"GET /items/1?q=x HTTP/1.1\r\nHost: a\r\n\r\n";
        let (m, p, q, f, ka, n) = parse(raw).unwrap().unwrap();
        assert_eq!(
            (m, p.as_str(), q.as_str(), f, ka, n),
            (Method::Get, "/items/1", "q=x", Framing::None, true, raw.len())
        );
    }

    #[test]
    fn partial_head_needs_more() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap(), None);
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        assert!(!parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap().4);
        assert!(parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap().unwrap().4);
        assert!(!parse(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").unwrap().unwrap().4);
    }

    #[test]
    fn http10_chunked_closes_the_connection() {
        // Fuzz finding F1.
        let raw = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
        let (_, _, _, framing, keep_alive, _) = parse(raw).unwrap().unwrap();
        assert_eq!((framing, keep_alive), (Framing::Chunked, false));
    }

    #[test]
    fn smuggling_is_rejected() {
        let both = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(parse(both), Err(HeadError::Invalid(_))));
        let two = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
        assert!(matches!(parse(two), Err(HeadError::Invalid(_))));
        let same = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(parse(same).unwrap().unwrap().3, Framing::Length(3));
        let signed = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n";
        assert!(matches!(parse(signed), Err(HeadError::Invalid(_))));
        let te_twice =
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(parse(te_twice), Err(HeadError::Invalid(_))));
    }

    #[test]
    fn limits() {
        let big = format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "a".repeat(20_000));
        assert_eq!(parse(big.as_bytes()), Err(HeadError::TooLarge));
        let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..120 {
            many.push_str(&format!("X-{i}: 1\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(parse(many.as_bytes()), Err(HeadError::TooLarge));
        let huge_body = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999\r\n\r\n";
        assert_eq!(parse(huge_body), Err(HeadError::BodyTooLarge));
    }

    #[test]
    fn garbage_is_invalid() {
        assert!(matches!(parse(b"\x00\x01\x02 nonsense\r\n\r\n"), Err(HeadError::Invalid(_))));
        assert!(matches!(parse(b"GET / HTTP/1.1\r\n\r\n"), Err(HeadError::Invalid(_))));
        assert!(matches!(parse(b"GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n"), Err(HeadError::Invalid(_))));
    }
}
