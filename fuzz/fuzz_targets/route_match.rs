//! Route templates and paths through the router's matcher, compared with the regex Starlette
//! compiles for the same template (`reference::route`): the same paths match, with the same
//! captured values.
#![no_main]

use fastrapi_fuzz::reference::route::{self, KnownDifferences, Piece, CONVERTORS};
use fastrapi_fuzz::router::Template;
use libfuzzer_sys::fuzz_target;

/// Reported differences from Starlette, tolerated until src/router is fixed (then: `None`).
const KNOWN: Option<KnownDifferences> =
    Some(KnownDifferences { ends_only_at_end: true, str_stops_at_newline: true, uuid_lowercase_with_dashes: true });

/// Parameters in one template (the rest of the parameter bytes become literals) and characters
/// in one path: both matchers backtrack, so k unbounded parameters in a row cost O(n^k) in
/// either, which says nothing about fastrapi.
const MAX_PARAMS: usize = 3;
const MAX_PATH: usize = 64;

/// Literal characters of templates; no `}`, so a literal never spells a parameter.
const TEMPLATE_CHARS: &[char] = &['/', 'a', 'b', '1', '.', '-', '_', '{', 'é', ' '];
/// Path characters: what the convertors and literals care about, plus a newline.
const PATH_CHARS: &[char] = &['/', 'a', 'b', 'f', 'A', 'F', '0', '1', '9', '.', '-', '_', '{', 'é', ' ', '\n', '%'];

fuzz_target!(|data: &[u8]| {
    // Bytes before 0xFF describe the template, the rest the path.
    let split = data.iter().position(|b| *b == 0xFF).unwrap_or(data.len());
    let mut pieces = vec![Piece::Literal("/".to_string())];
    let mut params = 0;
    for &b in &data[..split] {
        if b < 0x30 && params < MAX_PARAMS {
            params += 1;
            pieces.push(Piece::Param(CONVERTORS[usize::from(b) % CONVERTORS.len()]));
        } else {
            let c = TEMPLATE_CHARS[usize::from(b) % TEMPLATE_CHARS.len()];
            match pieces.last_mut() {
                Some(Piece::Literal(l)) => l.push(c),
                _ => pieces.push(Piece::Literal(c.to_string())),
            }
        }
    }
    let path: String = data
        .get(split + 1..)
        .unwrap_or_default()
        .iter()
        .take(MAX_PATH)
        .map(|b| PATH_CHARS[usize::from(*b) % PATH_CHARS.len()])
        .collect();
    let path = format!("/{path}");

    let text = route::template_text(&pieces);
    let template = Template::parse(&text).expect("generated templates are valid");
    let mut captured = Vec::new();
    let ours =
        template.matches(&path, &mut captured).then(|| captured.iter().map(|(_, v)| v.to_string()).collect::<Vec<_>>());
    let starlette = route::captures(&route::compile(&pieces, KNOWN), &pieces, &path);
    assert_eq!(ours, starlette, "template {text:?}, path {path:?}");
});
