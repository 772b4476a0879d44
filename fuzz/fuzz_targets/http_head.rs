//! Arbitrary bytes and limits through the request head parser (`parse_head`). Besides never
//! panicking: the head lies inside the input and within the limits, its framing agrees with the
//! header lines it came from, it parses the same without the bytes that follow it (a pipelined
//! request), and every earlier cut of it is "need more bytes", as the server re-parses a head
//! that arrives in pieces.
#![no_main]

use fastrapi_fuzz::http::parse::{header_storage, parse_head, trim, Framing, HeadError, Limits, Method, HEADER_ARRAY};
use fastrapi_fuzz::Input;
use libfuzzer_sys::fuzz_target;

/// What a parsed head says, owned, so two parses can be compared.
#[derive(Debug, PartialEq)]
struct Summary {
    method: String,
    path: String,
    query: String,
    version: u8,
    headers: Vec<(String, Vec<u8>)>,
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
    head_len: usize,
}

fn parse(buf: &[u8], limits: &Limits) -> Result<Option<Summary>, HeadError> {
    let mut storage = header_storage();
    let head = parse_head(buf, &mut storage, limits)?;
    Ok(head.map(|h| {
        assert_eq!(h.method, Method::parse(h.method_str));
        Summary {
            method: h.method_str.to_string(),
            path: h.path.to_string(),
            query: h.query.to_string(),
            version: h.version,
            headers: h.headers.iter().map(|x| (x.name.to_string(), x.value.to_vec())).collect(),
            framing: h.framing,
            keep_alive: h.keep_alive,
            expect_continue: h.expect_continue,
            head_len: h.head_len,
        }
    }))
}

fn values<'a>(head: &'a Summary, name: &str) -> Vec<&'a [u8]> {
    head.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice()).collect()
}

fn check_accepted(buf: &[u8], limits: &Limits, head: &Summary) {
    let max_headers = limits.max_headers.min(HEADER_ARRAY);
    assert!(head.head_len <= buf.len() && head.head_len <= limits.max_head_bytes);
    let raw = &buf[..head.head_len];
    assert!(raw.ends_with(b"\n\n") || raw.ends_with(b"\n\r\n"), "a head ends with an empty line");
    assert!(head.headers.len() <= max_headers);
    assert!(head.version <= 1);
    assert!(!head.path.contains('?'));
    assert!(head.path.starts_with('/') || (head.path == "*" && head.method == "OPTIONS"));
    let hosts = values(head, "host").len();
    assert!(hosts <= 1 && (head.version == 0 || hosts == 1));

    let lengths: Vec<usize> = values(head, "content-length")
        .iter()
        .map(|v| parse_decimal(trim(v)).expect("accepted lengths are numbers"))
        .collect();
    let codings = values(head, "transfer-encoding");
    match head.framing {
        Framing::Chunked => {
            assert!(lengths.is_empty() && codings.len() == 1);
            assert!(trim(codings[0]).eq_ignore_ascii_case(b"chunked"));
        }
        Framing::Length(n) => {
            assert!(codings.is_empty() && n > 0 && n <= limits.max_body_bytes);
            assert!(!lengths.is_empty() && lengths.iter().all(|l| *l == n));
        }
        Framing::None => assert!(codings.is_empty() && lengths.iter().all(|l| *l == 0)),
    }
    if head.expect_continue {
        assert!(head.version == 1 && head.framing != Framing::None);
    }

    // The same head alone, and every cut of it, as the server sees it while bytes arrive.
    assert_eq!(parse(raw, limits).as_ref().ok().and_then(Option::as_ref), Some(head));
    let cuts = [0, 1, head.head_len / 2, head.head_len.saturating_sub(2), head.head_len - 1];
    for cut in cuts.into_iter().chain((1..8).map(|i| head.head_len * i / 8)) {
        if cut < head.head_len {
            assert_eq!(parse(&buf[..cut], limits), Ok(None), "cut at {cut} of {}", head.head_len);
        }
    }
}

fn parse_decimal(v: &[u8]) -> Option<usize> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limits = Limits {
        max_head_bytes: input.pick(&[16, 64, 256, 1024, 16 * 1024]),
        max_headers: input.pick(&[0, 1, 3, 100, 200]),
        max_body_bytes: input.pick(&[0, 1, 1000, 16 << 20, usize::MAX]),
    };
    let buf = input.rest();
    match parse(buf, &limits) {
        Ok(Some(head)) => check_accepted(buf, &limits, &head),
        Ok(None) => assert!(buf.len() <= limits.max_head_bytes),
        Err(HeadError::TooLarge) => {
            // Either the bytes are too many, or the lines are (one per header, one request line).
            let lines = buf.iter().filter(|b| **b == b'\n').count();
            assert!(buf.len() > limits.max_head_bytes || lines > limits.max_headers.min(HEADER_ARRAY));
        }
        Err(HeadError::BodyTooLarge) => assert!(limits.max_body_bytes < usize::MAX),
        Err(e) => assert!(matches!(e.status(), 400 | 501)),
    }
});
