//! Percent-decoding (`http::percent::decode`, and the router's `decode_path`), compared with
//! Python's `unquote` / `unquote_plus` (`reference::urlencoding`). Also: decoding never
//! lengthens, text without escapes comes back as it is, and decode(quote(x)) == x.
#![no_main]

use std::borrow::Cow;

use fastrapi_fuzz::http::percent::decode;
use fastrapi_fuzz::reference::urlencoding::{quote, unquote};
use fastrapi_fuzz::router::decode_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for plus_is_space in [false, true] {
        let decoded = decode(&text, plus_is_space);
        assert_eq!(decoded, unquote(&text, plus_is_space), "plus_is_space: {plus_is_space}");
        assert!(decoded.len() <= text.len());
        if matches!(decoded, Cow::Borrowed(_)) {
            assert_eq!(decoded, text);
        }
        assert_eq!(decode(&quote(text.as_bytes(), plus_is_space), plus_is_space), text);
    }
    assert_eq!(decode_path(&text), decode(&text, false));
});
