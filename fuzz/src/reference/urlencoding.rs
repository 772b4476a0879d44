//! Percent-encoding (RFC 3986 §2.1, and `application/x-www-form-urlencoded` for `+`), and the
//! decoding Python's `urllib.parse.unquote` / `parse_qsl` document.

/// RFC 3986 §2.3 unreserved characters: the only ones a strict encoder leaves as they are.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// Encodes every byte outside `unreserved` as `%XX`; with `plus_for_space`, a space becomes `+`
/// (Python's `quote_plus`).
pub fn quote(bytes: &[u8], plus_for_space: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else if plus_for_space && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `urlencode(pairs)` as Python writes it: `quote_plus(key)=quote_plus(value)` joined by `&`.
pub fn urlencode(pairs: &[(String, String)]) -> String {
    let fields: Vec<String> =
        pairs.iter().map(|(k, v)| format!("{}={}", quote(k.as_bytes(), true), quote(v.as_bytes(), true))).collect();
    fields.join("&")
}

/// A piece of a percent-encoded string: a `%XX` escape with a valid hex pair, or anything else.
enum Token<'a> {
    Escape(u8),
    Text(&'a str),
}

fn tokens(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        let escape = bytes[i] == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if escape {
            if text_start < i {
                out.push(Token::Text(&s[text_start..i]));
            }
            let pair = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
            out.push(Token::Escape(u8::from_str_radix(pair, 16).unwrap_or(0)));
            i += 3;
            text_start = i;
        } else {
            i += 1;
        }
    }
    if text_start < bytes.len() {
        out.push(Token::Text(&s[text_start..]));
    }
    out
}

/// `urllib.parse.unquote(s, errors="replace")`: runs of escapes are decoded as UTF-8 with U+FFFD
/// for invalid sequences; text between them stays as it is; a `%` without two hex digits is text.
/// With `plus_is_space`, `unquote_plus`: `+` becomes a space first.
pub fn unquote(s: &str, plus_is_space: bool) -> String {
    let spaced;
    let s = if plus_is_space {
        spaced = s.replace('+', " ");
        spaced.as_str()
    } else {
        s
    };
    let mut out = String::new();
    let mut run: Vec<u8> = Vec::new();
    for token in tokens(s) {
        match token {
            Token::Escape(b) => run.push(b),
            Token::Text(text) => {
                out.push_str(&String::from_utf8_lossy(&run));
                run.clear();
                out.push_str(text);
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&run));
    out
}

/// `urllib.parse.parse_qsl(qs, keep_blank_values=True)`: fields split on `&`, empty ones
/// dropped, each split at its first `=` (none: the value is empty), both sides `unquote_plus`ed.
pub fn parse_qsl(qs: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for field in qs.split('&') {
        if field.is_empty() {
            continue;
        }
        let (name, value) = match field.find('=') {
            Some(i) => (&field[..i], &field[i + 1..]),
            None => (field, ""),
        };
        pairs.push((unquote(name, true), unquote(value, true)));
    }
    pairs
}
