//! The `Cookie` header as Starlette's `cookie_parser` documents it: `;`-separated chunks, each
//! split at its first `=` (none: an empty name), both sides `str.strip()`ped, chunks with an
//! empty name and value dropped, later names overriding earlier ones, and values unquoted with
//! `http.cookies._unquote` (quotes removed, `\"`, `\\` and `\ooo` octal escapes decoded).

/// Python's `str.isspace()` for the Latin-1 range a header can hold.
fn is_python_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}')
}

/// `http.cookies._unquote`: a value of two or more characters between double quotes loses them,
/// and inside, a backslash before three octal digits (first 0-3) is that code point, a
/// backslash before any other character except a newline is that character. Without
/// `decode_escapes`, only the quotes go (what fastrapi does, reported as finding C1).
pub fn unquote(value: &str, decode_escapes: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 2 || chars[0] != '"' || chars[chars.len() - 1] != '"' {
        return value.to_string();
    }
    let inner = &chars[1..chars.len() - 1];
    if !decode_escapes {
        return inner.iter().collect();
    }
    let mut out = String::new();
    let mut i = 0;
    while i < inner.len() {
        if inner[i] != '\\' || i + 1 >= inner.len() {
            out.push(inner[i]);
            i += 1;
            continue;
        }
        let octal: Option<u32> = inner
            .get(i + 1..i + 4)
            .filter(|d| ('0'..='3').contains(&d[0]) && d[1..].iter().all(|c| ('0'..='7').contains(c)))
            .map(|d| d.iter().fold(0, |n, c| n * 8 + c.to_digit(8).unwrap_or(0)));
        if let Some(code) = octal {
            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            i += 4;
        } else if inner[i + 1] != '\n' {
            out.push(inner[i + 1]);
            i += 2;
        } else {
            out.push('\\');
            i += 1;
        }
    }
    out
}

/// Name → value, in first-seen order of names (a Python dict), the last value winning.
pub fn parse(header: &str, decode_escapes: bool) -> Vec<(String, String)> {
    let mut cookies: Vec<(String, String)> = Vec::new();
    for chunk in header.split(';') {
        let (name, value) = match chunk.find('=') {
            Some(i) => (&chunk[..i], &chunk[i + 1..]),
            None => ("", chunk),
        };
        let name = name.trim_matches(is_python_space);
        let value = value.trim_matches(is_python_space);
        if name.is_empty() && value.is_empty() {
            continue;
        }
        let value = unquote(value, decode_escapes);
        match cookies.iter_mut().find(|(n, _)| n == name) {
            Some(existing) => existing.1 = value,
            None => cookies.push((name.to_string(), value)),
        }
    }
    cookies
}
