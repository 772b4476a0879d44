//! Differential: the framing decision of `parse_head` (need more bytes / refuse with which status
//! / accept with which body length and persistence) against an independent reading of RFC 9112
//! (`fastrapi_fuzz::reference::head`, whose doc lists the intentional divergences).
#![no_main]

use fastrapi_fuzz::http::parse::{header_storage, parse_head, Framing, Limits};
use fastrapi_fuzz::reference::head::{self, Accepted};
use fastrapi_fuzz::Input;
use libfuzzer_sys::fuzz_target;

/// Finding F1 (fuzz/artifacts-found/README.md): an HTTP/1.0 request with Transfer-Encoding
/// keeps its connection when it asks for keep-alive, where RFC 9112 §6.1 says to close it. Set
/// to `false` once src/http/parse.rs closes (or refuses) such requests.
const TOLERATE_F1: bool = true;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limits = Limits {
        max_head_bytes: input.pick(&[64, 256, 16 * 1024]),
        max_headers: input.pick(&[2, 100, 200]),
        max_body_bytes: input.pick(&[10, 16 << 20]),
    };
    let buf = input.rest();
    let allowed = head::judge(
        buf,
        head::Limits {
            max_head_bytes: limits.max_head_bytes,
            max_headers: limits.max_headers,
            max_body_bytes: limits.max_body_bytes,
        },
    );
    let mut storage = header_storage();
    match parse_head(buf, &mut storage, &limits) {
        Ok(None) => assert!(allowed.incomplete, "we wait for more; allowed: {allowed:?}"),
        Err(e) => assert!(allowed.statuses.contains(&e.status()), "we refuse with {e:?}; allowed: {allowed:?}"),
        Ok(Some(h)) => {
            let ours = Accepted {
                head_len: h.head_len,
                version: h.version,
                path: h.path.to_string(),
                query: h.query.to_string(),
                framing: match h.framing {
                    Framing::None => head::Framing::None,
                    Framing::Length(n) => head::Framing::Length(n as u64),
                    Framing::Chunked => head::Framing::Chunked,
                },
                keep_alive: h.keep_alive,
            };
            let f1 = TOLERATE_F1 && ours.version == 0 && ours.framing == head::Framing::Chunked && ours.keep_alive;
            let expected = allowed.accepted.clone().map(|a| Accepted { keep_alive: a.keep_alive || f1, ..a });
            assert_eq!(Some(ours), expected, "we accept; allowed: {allowed:?}");
        }
    }
});
