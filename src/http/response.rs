//! Response serialisation: status line, the framework headers, then the app's headers and body.

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
    /// A HEAD request whose complete bodies are still written, because middleware (GZip) must
    /// see them to set the headers; the body is cut off after the middleware ran.
    pub body_for_layers: bool,
}

impl<'a> WriteOpts<'a> {
    /// A response after which the connection closes (errors, refusals).
    pub fn closing(server: Option<&'a [u8]>) -> WriteOpts<'a> {
        WriteOpts {
            head_only: false,
            close: true,
            http10_keep_alive: false,
            server,
            http10: false,
            body_for_layers: false,
        }
    }

    /// Whether a complete body of a response with `status` goes into the output.
    pub fn writes_body(&self, status: u16) -> bool {
        (!self.head_only || self.body_for_layers) && status_allows_body(status)
    }
}

pub fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

/// Writes the status line and the headers every response carries (`date`, `server`, `connection`).
pub fn write_head_start(out: &mut Vec<u8>, status: u16, opts: &WriteOpts) {
    out.extend_from_slice(b"HTTP/1.1 ");
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\ndate: ");
    append_date(out);
    out.extend_from_slice(b"\r\n");
    if let Some(server) = opts.server {
        out.extend_from_slice(b"server: ");
        out.extend_from_slice(server);
        out.extend_from_slice(b"\r\n");
    }
    if opts.close {
        out.extend_from_slice(b"connection: close\r\n");
    } else if opts.http10_keep_alive {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
}

pub fn write_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

pub fn write_content_length(out: &mut Vec<u8>, len: usize) {
    let mut digits = itoa::Buffer::new();
    write_header(out, b"content-length", digits.format(len).as_bytes());
}

/// A complete response whose body is known: framework headers, content-type, length, extras.
pub fn write_full(
    out: &mut Vec<u8>,
    status: u16,
    content_type: Option<&[u8]>,
    extra_headers: &[(&[u8], &[u8])],
    body: &[u8],
    opts: &WriteOpts,
) {
    write_head_start(out, status, opts);
    for (name, value) in extra_headers {
        write_header(out, name, value);
    }
    if status_allows_body(status) {
        write_content_length(out, body.len());
    }
    // Starlette sets the media type even on bodiless statuses (204, 304).
    if let Some(ct) = content_type {
        write_header(out, b"content-type", ct);
    }
    out.extend_from_slice(b"\r\n");
    if opts.writes_body(status) {
        out.extend_from_slice(body);
    }
}

/// 1xx, 204 and 304 responses never carry a body or its length.
pub fn status_allows_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// A short plain-text error for requests that never reached the app (400, 413, 431, …).
pub fn write_protocol_error(out: &mut Vec<u8>, status: u16, message: &str, server: Option<&[u8]>) {
    let opts = WriteOpts::closing(server);
    write_full(out, status, Some(b"text/plain; charset=utf-8"), &[], message.as_bytes(), &opts);
}

/// Response headers as a list, with Starlette's `MutableHeaders` assignment rule.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeaderList(pub Vec<(Vec<u8>, Vec<u8>)>);

impl HeaderList {
    pub fn from_pairs(pairs: &[(String, String)]) -> HeaderList {
        let mut list = HeaderList::default();
        for (name, value) in pairs {
            list.set(&name.to_ascii_lowercase(), value.as_bytes());
        }
        list
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
            *v = value.to_vec();
            true
        });
        if !found {
            self.0.push((name.to_ascii_lowercase(), value.to_vec()));
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()));
    }

    pub fn get_all(&self, name: &str) -> Vec<Vec<u8>> {
        self.0.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v.clone()).collect()
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        for (name, value) in &self.0 {
            write_header(out, name, value);
        }
    }
}

/// Where the head of the response written at `from` ends (the index of its blank line).
pub fn head_end(out: &[u8], from: usize) -> Option<usize> {
    out[from..].windows(4).position(|w| w == b"\r\n\r\n").map(|p| from + p)
}

/// Whether the head between `from` and `end` has a header called `name` (lower-case).
pub fn head_has(out: &[u8], from: usize, end: usize, name: &[u8]) -> bool {
    out[from..end + 2].split(|b| *b == b'\n').skip(1).any(|line| {
        line.len() > name.len() && line[name.len()] == b':' && line[..name.len()].eq_ignore_ascii_case(name)
    })
}

/// Appends one header line to the head written at `from` (the body that follows is kept).
pub fn insert_header(out: &mut Vec<u8>, end: usize, name: &[u8], value: &[u8]) {
    let mut line = Vec::with_capacity(name.len() + value.len() + 4);
    line.extend_from_slice(name);
    line.extend_from_slice(b": ");
    line.extend_from_slice(value);
    line.extend_from_slice(b"\r\n");
    out.splice(end + 2..end + 2, line);
}

/// Lets `edit` change the status-aware headers and the body of the response that starts at
/// `from` and runs to the end of `out` (written without a body for HEAD requests).
pub fn rewrite_response(out: &mut Vec<u8>, from: usize, edit: impl FnOnce(u16, &mut HeaderList, &mut Vec<u8>)) {
    let Some(end) = out[from..].windows(4).position(|w| w == b"\r\n\r\n").map(|p| from + p) else {
        return;
    };
    let mut body = out.split_off(end + 4);
    let status = out
        .get(from + 9..from + 12)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse().ok())
        .unwrap_or(200);
    rewrite_head(out, from, |headers| edit(status, headers, &mut body));
    out.extend_from_slice(&body);
}

/// Lets `edit` change the headers of the response whose head starts at `from` in `out`,
/// then writes the head back in place (the body that follows is kept).
pub fn rewrite_head(out: &mut Vec<u8>, from: usize, edit: impl FnOnce(&mut HeaderList)) {
    let Some(end) = out[from..].windows(4).position(|w| w == b"\r\n\r\n").map(|p| from + p) else {
        return;
    };
    let head = &out[from..end];
    let Some(line_end) = head.windows(2).position(|w| w == b"\r\n") else {
        return;
    };
    let status_line = head[..line_end].to_vec();
    let mut headers = HeaderList::default();
    for line in head[line_end + 2..].split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(colon) = line.iter().position(|b| *b == b':') {
            let value = &line[colon + 1..];
            let value = value.strip_prefix(b" ").unwrap_or(value);
            headers.0.push((line[..colon].to_vec(), value.to_vec()));
        }
    }
    edit(&mut headers);
    let mut rebuilt = status_line;
    rebuilt.extend_from_slice(b"\r\n");
    headers.write(&mut rebuilt);
    out.splice(from..end + 2, rebuilt);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_response() {
        let mut out = Vec::new();
        let opts = WriteOpts { close: false, ..WriteOpts::closing(None) };
        write_full(&mut out, 200, Some(b"application/json"), &[], b"{}", &opts);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\ndate: "));
        assert!(s.ends_with("content-length: 2\r\ncontent-type: application/json\r\n\r\n{}"));
    }

    #[test]
    fn rewrite_keeps_body_and_applies_assignment_rule() {
        let mut out = b"prefix".to_vec();
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\nvary: a\r\nx: 1\r\nvary: b\r\n\r\nbody");
        rewrite_head(&mut out, 6, |h| {
            let vary = h.get_all("vary").join(&b", "[..]);
            h.set("vary", &vary);
            h.set("y", b"2");
        });
        assert_eq!(String::from_utf8(out).unwrap(), "prefixHTTP/1.1 200 OK\r\nvary: a, b\r\nx: 1\r\ny: 2\r\n\r\nbody");
    }

    #[test]
    fn head_and_no_content() {
        let mut out = Vec::new();
        let opts = WriteOpts {
            head_only: true,
            close: true,
            http10_keep_alive: false,
            server: Some(b"x"),
            http10: false,
            body_for_layers: false,
        };
        write_full(&mut out, 200, Some(b"text/plain"), &[], b"hello", &opts);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.contains("content-length: 5\r\n") && s.contains("connection: close\r\n") && s.contains("server: x\r\n")
        );
        assert!(s.ends_with("\r\n\r\n"));
        let mut out = Vec::new();
        let opts = WriteOpts { close: false, ..WriteOpts::closing(None) };
        write_full(&mut out, 204, Some(b"application/json"), &[], b"null", &opts);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("content-length") && text.ends_with("content-type: application/json\r\n\r\n"));
    }
}
