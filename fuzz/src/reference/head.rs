//! A request head judged by the RFCs: RFC 9112 §2 (message format), §3 (request line), §5 (field
//! lines), §6 (message body length), §9.3 (persistence), and RFC 9110 §5.6 (lists), §7.2 (Host),
//! §8.6 (Content-Length). [`judge`] returns every outcome a conforming server may choose, widened
//! only by fastrapi's intentional divergences, each listed here and marked `Dn` where applied:
//!
//! - D1 Only origin-form targets (and `OPTIONS *`) are served: absolute-form gets 400, although
//!   RFC 9112 §3.2.2 says a server MUST accept it (Starlette could not route it).
//! - D2 The target is not checked against RFC 3986: any VCHAR and any valid UTF-8 is accepted
//!   (RFC 9112 §3 suggests 400 for an invalid request-line; h11 is as lenient).
//! - D3 Only HTTP/1.0 and HTTP/1.1: 1.2-1.9 get 400 (RFC 9110 §2.5: SHOULD process as 1.1),
//!   other majors 400 (RFC: 505).
//! - D4 Transfer-Encoding on more than one field line gets 400 (RFC 9110 §5.3: they form one list).
//! - D5 Transfer-Encoding must be exactly `chunked`; any other value gets 501, also a list that
//!   the RFCs read as chunked (`, chunked`: RFC 9110 §5.6.1 ignores empty list elements) or as
//!   invalid (`chunked, chunked`: 400).
//! - D6 Content-Length of more than 19 digits gets 400 even when its value is small or when 413
//!   would be the better answer for a huge one.
//! - D7 The Host value is not validated (RFC 9112 §3.2: MUST answer 400 to an invalid one).
//! - D8 At most 128 field lines whatever `max_headers` says (the stack array's size).
//! - D9 Any number of empty lines before the request line is skipped (RFC 9112 §2.2: SHOULD skip
//!   at least one).
//!
//! Where the RFCs leave a choice (MAY reject), both outcomes are allowed: `Content-Length: 5, 5`,
//! Content-Length with Transfer-Encoding, bare LF as a line terminator.

use super::{is_tchar, list_elements, trim_ows};

/// fastrapi's stack array of headers (D8).
const HEADER_ARRAY: usize = 128;
/// fastrapi parses Content-Length into a u64 of at most this many digits (D6).
const MAX_LENGTH_DIGITS: usize = 19;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_head_bytes: usize,
    pub max_headers: usize,
    pub max_body_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body (no framing header, or a length of 0).
    None,
    Length(u64),
    Chunked,
}

/// A head the server may accept, and what it must make of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub head_len: usize,
    /// The minor version: 0 or 1.
    pub version: u8,
    pub path: String,
    pub query: String,
    pub framing: Framing,
    /// Whether the connection persists after the response (RFC 9112 §9.3).
    pub keep_alive: bool,
}

/// Every outcome allowed for one input.
#[derive(Debug, Default)]
pub struct Allowed {
    /// Waiting for more bytes.
    pub incomplete: bool,
    /// Refusals with these statuses.
    pub statuses: Vec<u16>,
    /// Acceptance, with exactly this reading. RFC 9112 §6.1 and §6.3 allow processing some
    /// doubtful framings provided the connection closes afterwards: then `keep_alive` is false.
    pub accepted: Option<Accepted>,
}

impl Allowed {
    fn refuse(&mut self, status: u16) {
        if !self.statuses.contains(&status) {
            self.statuses.push(status);
        }
    }
}

/// One line of the head: its content without the terminator, and where the next begins.
struct Line<'a> {
    content: &'a [u8],
    next: usize,
}

/// The line starting at `pos`. CRLF ends it, and so does a bare LF (RFC 9112 §2.2: a recipient
/// MAY accept one). `None` when no LF has arrived yet.
fn line_at(buf: &[u8], pos: usize) -> Option<Line<'_>> {
    let rest = &buf[pos..];
    let lf = rest.iter().position(|b| *b == b'\n')?;
    let content = rest[..lf].strip_suffix(b"\r").unwrap_or(&rest[..lf]);
    Some(Line { content, next: pos + lf + 1 })
}

fn is_vchar_or_obs(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// A field value's octets (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB. CR, LF, NUL and other
/// controls are invalid.
fn is_field_value_octet(b: u8) -> bool {
    is_vchar_or_obs(b) || b == b' ' || b == b'\t'
}

/// Whether `bytes` (a part of a line, possibly cut short when `partial`) fits the target rule
/// (D2: VCHAR or UTF-8; httparse checks the UTF-8).
fn target_ok(bytes: &[u8], partial: bool) -> bool {
    if !bytes.iter().all(|b| is_vchar_or_obs(*b)) {
        return false;
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        // Cut in the middle of a character: the rest may still come.
        Err(e) => partial && e.error_len().is_none(),
    }
}

/// The versions fastrapi speaks (D3).
const VERSIONS: [&[u8]; 2] = [b"HTTP/1.0", b"HTTP/1.1"];

/// A complete request line's method, target and minor version.
type RequestLine<'a> = (&'a [u8], &'a [u8], u8);
/// A complete field line's name and OWS-trimmed value.
type FieldLine<'a> = (&'a [u8], &'a [u8]);

/// Request line `method SP request-target SP HTTP-version`; `partial` when its end has not arrived
/// (then only what is there is checked). Returns (method, target, minor version) when complete.
fn request_line(line: &[u8], partial: bool) -> Result<Option<RequestLine<'_>>, ()> {
    let mut parts = line.splitn(3, |b| *b == b' ');
    let method = parts.next().unwrap_or_default();
    let (Some(target), Some(version)) = (parts.next(), parts.next()) else {
        // Not all three parts yet.
        let target = line.get(method.len() + 1..);
        let method_ok = method.iter().all(|b| is_tchar(*b)) && (target.is_none() || !method.is_empty());
        return match (partial, method_ok && target.is_none_or(|t| target_ok(t, true))) {
            (true, true) => Ok(None),
            _ => Err(()),
        };
    };
    if method.is_empty() || !method.iter().all(|b| is_tchar(*b)) || target.is_empty() || !target_ok(target, false) {
        return Err(());
    }
    if partial {
        // A trailing CR ends the version: the LF is still to come.
        let fits = match version.strip_suffix(b"\r") {
            Some(whole) => VERSIONS.contains(&whole),
            None => VERSIONS.iter().any(|v| v.starts_with(version)),
        };
        return if fits { Ok(None) } else { Err(()) };
    }
    match VERSIONS.iter().position(|v| *v == version) {
        Some(minor) => Ok(Some((method, target, minor as u8))),
        None => Err(()),
    }
}

/// A field line `field-name ":" OWS field-value OWS` (RFC 9112 §5); no whitespace before the
/// colon, no obs-fold (a line starting with whitespace: RFC 9112 §5.2 allows rejecting it).
fn field_line(line: &[u8], partial: bool) -> Result<Option<FieldLine<'_>>, ()> {
    let name_len = line.iter().take_while(|b| is_tchar(**b)).count();
    let after_name = &line[name_len..];
    let value = match after_name.split_first() {
        Some((b':', value)) if name_len > 0 => value,
        // Only the name so far (or a lone CR that may end the head).
        None if partial => return Ok(None),
        Some((b'\r', [])) if partial && name_len == 0 => return Ok(None),
        _ => return Err(()),
    };
    let value_so_far = if partial { value.strip_suffix(b"\r").unwrap_or(value) } else { value };
    if !value_so_far.iter().all(|b| is_field_value_octet(*b)) {
        return Err(());
    }
    Ok((!partial).then(|| (&line[..name_len], trim_ows(value))))
}

/// All outcomes allowed for `buf`, the bytes received so far on a connection awaiting a request.
pub fn judge(buf: &[u8], limits: Limits) -> Allowed {
    let mut allowed = Allowed::default();
    let max_headers = limits.max_headers.min(HEADER_ARRAY);
    // D9: empty lines before the request line.
    let mut pos = 0;
    loop {
        match buf.get(pos..) {
            Some([b'\n', ..]) => pos += 1,
            Some([b'\r', b'\n', ..]) => pos += 2,
            _ => break,
        }
    }

    let mut request: Option<RequestLine> = None;
    let mut fields: Vec<FieldLine> = Vec::new();
    let mut hard_error = false;
    let head_len = loop {
        let Some(line) = line_at(buf, pos) else {
            // The rest has no LF yet: check what there is of the line.
            let partial = &buf[pos..];
            let ok = if request.is_none() {
                request_line(partial, true).is_ok()
            } else {
                // The (max_headers + 1)th field line is refused as soon as it begins.
                if !partial.is_empty() && partial[0] != b'\r' && fields.len() >= max_headers {
                    allowed.refuse(431);
                }
                field_line(partial, true).is_ok()
            };
            if !ok {
                allowed.refuse(400);
            }
            if buf.len() > limits.max_head_bytes {
                allowed.refuse(431);
                hard_error = true;
            }
            allowed.incomplete = !hard_error;
            return allowed;
        };
        // A bare CR anywhere in a line is invalid (RFC 9112 §2.2).
        if line.content.contains(&b'\r') {
            allowed.refuse(400);
            hard_error = true;
        }
        if request.is_none() {
            match request_line(line.content, false) {
                Ok(parsed) => request = parsed,
                Err(()) => {
                    allowed.refuse(400);
                    return allowed;
                }
            }
        } else if line.content.is_empty() {
            break line.next;
        } else {
            if fields.len() >= max_headers {
                allowed.refuse(431);
                hard_error = true;
            }
            match field_line(line.content, false) {
                Ok(Some(field)) => fields.push(field),
                _ => {
                    allowed.refuse(400);
                    hard_error = true;
                }
            }
        }
        if hard_error {
            return allowed;
        }
        pos = line.next;
    };
    if head_len > limits.max_head_bytes {
        allowed.refuse(431);
        return allowed;
    }
    let Some((method, target, version)) = request else {
        allowed.refuse(400);
        return allowed;
    };
    judge_semantics(&mut allowed, limits, head_len, method, target, version, &fields);
    allowed
}

/// The field values of every line named `name`.
fn values<'a>(fields: &[(&'a [u8], &'a [u8])], name: &str) -> Vec<&'a [u8]> {
    fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| *v).collect()
}

fn judge_semantics(
    allowed: &mut Allowed,
    limits: Limits,
    head_len: usize,
    method: &[u8],
    target: &[u8],
    version: u8,
    fields: &[(&[u8], &[u8])],
) {
    // Errors that leave no way to accept the request.
    let mut fatal = false;
    let asterisk = target == b"*" && method == b"OPTIONS";
    if !target.starts_with(b"/") && !asterisk {
        allowed.refuse(400); // D1
        fatal = true;
    }
    let hosts = values(fields, "host").len();
    if hosts > 1 || (version == 1 && hosts == 0) {
        allowed.refuse(400); // RFC 9112 §3.2; D7: the value itself is not checked.
        fatal = true;
    }

    let transfer_encodings = values(fields, "transfer-encoding");
    let content_lengths = values(fields, "content-length");
    let mut must_close = false;
    let mut framing = Framing::None;
    if !transfer_encodings.is_empty() {
        if version == 0 {
            // RFC 9112 §6.1: faulty framing; processing it is allowed if the connection closes.
            allowed.refuse(400);
            must_close = true;
        }
        if transfer_encodings.len() > 1 {
            allowed.refuse(400); // D4
            fatal = true;
        }
        let joined = transfer_encodings.join(&b", "[..]);
        let codings: Vec<&[u8]> = list_elements(&joined);
        let is_chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
        let chunked_last = codings.last().is_some_and(|c| is_chunked(c));
        let chunked_count = codings.iter().filter(|c| is_chunked(c)).count();
        if !chunked_last || chunked_count > 1 {
            allowed.refuse(400); // RFC 9112 §6.3 rule 4, §6.1 (chunked once only)
            fatal = true;
        }
        if codings.iter().any(|c| !is_chunked(c)) {
            allowed.refuse(501); // RFC 9112 §6.1: a transfer coding we do not implement
            fatal = true;
        }
        let exactly_chunked = transfer_encodings.len() == 1 && transfer_encodings[0].eq_ignore_ascii_case(b"chunked");
        if !exactly_chunked {
            allowed.refuse(501); // D5
            fatal = true;
        }
        if !content_lengths.is_empty() {
            // RFC 9112 §6.3 rule 3: MAY reject; if processed, by Transfer-Encoding, then close.
            allowed.refuse(400);
            must_close = true;
        }
        framing = Framing::Chunked;
    } else if !content_lengths.is_empty() {
        let joined = content_lengths.join(&b", "[..]);
        let elements: Vec<&[u8]> = joined.split(|b| *b == b',').map(trim_ows).collect();
        let all_digits = elements.iter().all(|e| !e.is_empty() && e.iter().all(u8::is_ascii_digit));
        // Compared as numbers, leading zeros aside.
        let significant = |e: &&[u8]| -> Vec<u8> { e.iter().skip_while(|d| **d == b'0').copied().collect() };
        let first = significant(&elements[0]);
        if !all_digits || elements.iter().any(|e| significant(e) != first) {
            allowed.refuse(400); // RFC 9112 §6.3 rule 5
            fatal = true;
        } else {
            if elements.len() > 1 {
                allowed.refuse(400); // RFC 9110 §8.6: MAY reject repeated values
            }
            if elements.iter().any(|e| e.len() > MAX_LENGTH_DIGITS) {
                allowed.refuse(400); // D6
                fatal = true;
            }
            let value: Option<u64> =
                std::str::from_utf8(&first).ok().and_then(|s| if s.is_empty() { Some(0) } else { s.parse().ok() });
            match value {
                Some(0) => framing = Framing::None,
                Some(n) if n <= limits.max_body_bytes as u64 => framing = Framing::Length(n),
                _ => {
                    allowed.refuse(413);
                    fatal = true;
                }
            }
        }
    }
    if fatal {
        return;
    }

    let connection = values(fields, "connection").join(&b", "[..]);
    let options = list_elements(&connection);
    let has = |option: &[u8]| options.iter().any(|o| o.eq_ignore_ascii_case(option));
    let persistent = if version == 1 { !has(b"close") } else { has(b"keep-alive") && !has(b"close") };
    let (path, query) = match target.iter().position(|b| *b == b'?') {
        Some(i) => (&target[..i], &target[i + 1..]),
        None => (target, &b""[..]),
    };
    allowed.accepted = Some(Accepted {
        head_len,
        version,
        path: String::from_utf8_lossy(path).into_owned(),
        query: String::from_utf8_lossy(query).into_owned(),
        framing,
        keep_alive: persistent && !must_close,
    });
}
