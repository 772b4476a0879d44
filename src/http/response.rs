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
}

pub fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
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
    if !opts.head_only && status_allows_body(status) {
        out.extend_from_slice(body);
    }
}

/// 1xx, 204 and 304 responses never carry a body or its length.
pub fn status_allows_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// A short plain-text error for requests that never reached the app (400, 413, 431, …).
pub fn write_protocol_error(out: &mut Vec<u8>, status: u16, message: &str, server: Option<&[u8]>) {
    let opts = WriteOpts {
        head_only: false,
        close: true,
        http10_keep_alive: false,
        server,
    };
    write_full(
        out,
        status,
        Some(b"text/plain; charset=utf-8"),
        &[],
        message.as_bytes(),
        &opts,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_response() {
        let mut out = Vec::new();
        let opts = WriteOpts {
            head_only: false,
            close: false,
            http10_keep_alive: false,
            server: None,
        };
        write_full(&mut out, 200, Some(b"application/json"), &[], b"{}", &opts);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\ndate: "));
        assert!(s.ends_with("content-length: 2\r\ncontent-type: application/json\r\n\r\n{}"));
    }

    #[test]
    fn head_and_no_content() {
        let mut out = Vec::new();
        let opts = WriteOpts {
            head_only: true,
            close: true,
            http10_keep_alive: false,
            server: Some(b"x"),
        };
        write_full(&mut out, 200, Some(b"text/plain"), &[], b"hello", &opts);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.contains("content-length: 5\r\n")
                && s.contains("connection: close\r\n")
                && s.contains("server: x\r\n")
        );
        assert!(s.ends_with("\r\n\r\n"));
        let mut out = Vec::new();
        let opts = WriteOpts {
            head_only: false,
            close: false,
            http10_keep_alive: false,
            server: None,
        };
        write_full(
            &mut out,
            204,
            Some(b"application/json"),
            &[],
            b"null",
            &opts,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains("content-length")
                && text.ends_with("content-type: application/json\r\n\r\n")
        );
    }
}
