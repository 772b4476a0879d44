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

/// Starlette's `cookie_parser`: `;`-separated `name=value` pairs, whitespace trimmed,
/// surrounding quotes removed; a chunk without `=` is a value with an empty name.
pub fn parse_cookies(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|chunk| {
            let (k, v) = match chunk.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => ("", chunk.trim()),
            };
            if k.is_empty() && v.is_empty() {
                return None;
            }
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            Some((k.to_string(), v.to_string()))
        })
        .collect()
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
}
