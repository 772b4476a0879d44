//! Query strings and cookies, split and decoded as Starlette does.

use std::borrow::Cow;

/// `urllib.parse.parse_qsl(qs, keep_blank_values=True)`: `&`-separated, `+` is a space,
/// percent escapes decoded with invalid UTF-8 replaced.
pub fn parse_query(qs: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    qs.split('&')
        .filter(|field| !field.is_empty())
        .map(|field| {
            let (k, v) = field.split_once('=').unwrap_or((field, ""));
            (unquote_plus(k), unquote_plus(v))
        })
        .collect()
}

pub fn unquote_plus(s: &str) -> Cow<'_, str> {
    crate::http::percent::decode(s, true)
}

/// Starlette's `cookie_parser`: `;`-separated `name=value` pairs, each side stripped of what
/// Python's `str.strip()` removes, values unquoted as `http.cookies._unquote` does; a chunk
/// without `=` is a value with an empty name.
pub fn parse_cookies(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|chunk| {
            let (k, v) = chunk.split_once('=').unwrap_or(("", chunk));
            let (k, v) = (k.trim_matches(is_python_space), v.trim_matches(is_python_space));
            if k.is_empty() && v.is_empty() {
                return None;
            }
            Some((k.to_string(), unquote_cookie(v)))
        })
        .collect()
}

/// Python's `str.isspace()` over the Latin-1 characters a header value decodes to.
pub fn is_python_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..=' ' | '\u{85}' | '\u{a0}')
}

/// `http.cookies._unquote`: a value between double quotes loses them, and inside, `\ooo` (first
/// digit 0-3) is that code point and a backslash before any other character but a newline
/// stands for that character.
fn unquote_cookie(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    if !inner.contains('\\') {
        return inner.to_string();
    }
    let chars: Vec<char> = inner.chars().collect();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < chars.len() {
        let escaped = chars.get(i + 1).filter(|next| chars[i] == '\\' && **next != '\n');
        let Some(&next) = escaped else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        match octal_escape(&chars[i + 1..]) {
            Some(code) => {
                out.push(code);
                i += 4;
            }
            None => {
                out.push(next);
                i += 2;
            }
        }
    }
    out
}

/// The character of three octal digits, the first 0-3, at the start of `digits`.
fn octal_escape(digits: &[char]) -> Option<char> {
    let [first, second, third] = digits.get(..3)?.try_into().ok()?;
    let value = |c: char, max: u32| c.to_digit(8).filter(|d| *d <= max);
    let code = value(first, 3)? * 64 + value(second, 7)? * 8 + value(third, 7)?;
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query() {
        let q = parse_query("a=1&b=&c&&d=x+y%21&a=2&e=%E2%82%AC&f=%zz");
        let flat: Vec<(String, String)> = q.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let want = [("a", "1"), ("b", ""), ("c", ""), ("d", "x y!"), ("a", "2"), ("e", "€"), ("f", "%zz")];
        assert_eq!(flat, want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>());
    }

    #[test]
    fn cookies() {
        assert_eq!(
            parse_cookies("a=1; b=\"two\" ;c"),
            vec![("a".into(), "1".into()), ("b".into(), "two".into()), ("".into(), "c".into())]
        );
    }

    #[test]
    fn quoted_cookie_values_are_unescaped_as_python_does() {
        // Fuzz finding C1: Starlette unquotes with http.cookies._unquote.
        let value = |header: &str| parse_cookies(header).pop().map(|(_, v)| v);
        assert_eq!(value(r#"a="x\"y""#).as_deref(), Some("x\"y"));
        assert_eq!(value(r#"a="\101\\\477z""#).as_deref(), Some("A\\477z"));
        assert_eq!(value("a=\"\\\n\\\"").as_deref(), Some("\\\n\\"));
        assert_eq!(value(r#"a=x\"y"#).as_deref(), Some(r#"x\"y"#));
        assert_eq!(parse_cookies("\x1ca=1\x1f"), vec![("a".into(), "1".into())]);
    }
}
