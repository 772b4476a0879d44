//! Percent-decoding as Python's `urllib.parse.unquote` does it: `%XX` escapes decoded,
//! malformed escapes kept as text, invalid UTF-8 replaced with U+FFFD.

use std::borrow::Cow;

/// Decodes `%XX` escapes; with `plus_is_space`, `+` becomes a space (query strings).
pub fn decode(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|b| *b == b'%' || (plus_is_space && *b == b'+')) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_like_unquote() {
        assert_eq!(decode("/a%20b+c", false), "/a b+c");
        assert_eq!(decode("a%20b+c", true), "a b c");
        assert_eq!(decode("/a%2", false), "/a%2");
        assert_eq!(decode("%zz", true), "%zz");
        assert_eq!(decode("/caf%C3%A9", false), "/café");
        assert_eq!(decode("/%FF", false), "/\u{FFFD}");
    }
}
