//! Query strings through `parse_query`: arbitrary text must split and decode as Python's
//! `parse_qsl(qs, keep_blank_values=True)` documents (`reference::urlencoding`), and pairs
//! encoded with a reference `urlencode` must come back unchanged.
#![no_main]

use fastrapi_fuzz::query::parse_query;
use fastrapi_fuzz::reference::urlencoding::{parse_qsl, urlencode};
use libfuzzer_sys::fuzz_target;

fn ours(qs: &str) -> Vec<(String, String)> {
    parse_query(qs).into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let pairs = ours(&text);
    assert_eq!(pairs, parse_qsl(&text));
    assert!(pairs.len() <= text.matches('&').count() + 1);
    // Decoding never lengthens: an escape is three bytes, its replacement at most three.
    assert!(pairs.iter().all(|(k, v)| k.len() + v.len() <= text.len()));

    // Round trip: NUL separates the names and values of the pairs to encode.
    let fields: Vec<&str> = text.split('\0').collect();
    let original: Vec<(String, String)> =
        fields.chunks(2).map(|kv| (kv[0].to_string(), kv.get(1).copied().unwrap_or_default().to_string())).collect();
    assert_eq!(ours(&urlencode(&original)), original);
});
