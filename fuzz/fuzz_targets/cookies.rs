//! `Cookie` header values through `parse_cookies`, compared with Starlette's `cookie_parser`
//! (`reference::cookies`) as the parameter lookup uses the result: the last value of a name wins.
#![no_main]

use fastrapi_fuzz::query::parse_cookies;
use fastrapi_fuzz::reference::cookies;
use fastrapi_fuzz::{latin1, Input};
use libfuzzer_sys::fuzz_target;

/// Finding C1 (fuzz/artifacts-found/README.md): fastrapi keeps backslash escapes in quoted
/// values. Set to `true` once src/params/query.rs decodes them.
const DECODE_ESCAPES: bool = false;

fuzz_target!(|data: &[u8]| {
    // Only what httparse lets through in a header value reaches the parser.
    let value: Vec<u8> =
        Input::new(data).rest().iter().copied().filter(|b| *b == b'\t' || *b >= 0x20 && *b != 0x7f).collect();
    let header = latin1(&value);
    let ours = parse_cookies(&header);
    let reference = cookies::parse(&header, DECODE_ESCAPES);
    for (name, value) in &ours {
        assert!(reference.iter().any(|(n, _)| n == name), "we have {name:?}, Starlette does not");
        assert_eq!(name.trim(), name);
        assert!(value.len() <= header.len());
    }
    for (name, value) in &reference {
        let found = ours.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v);
        assert_eq!(found, Some(value), "cookie {name:?}");
    }
});
