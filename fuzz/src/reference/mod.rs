//! Independent references: each is written from a specification (RFC 9112, RFC 3986, Python's
//! and Starlette's documented behaviour), with a different structure from the code under test, so
//! that a shared misreading is unlikely.

pub mod chunked;
pub mod cookies;
pub mod head;
pub mod route;
pub mod urlencoding;

/// RFC 9110 §5.6.2 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §5.6.3 optional whitespace: SP and HTAB only.
pub fn trim_ows(v: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ows(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    &v[start..end]
}

/// The elements of an RFC 9110 §5.6.1 list (`#element`): comma-separated, OWS around each,
/// empty elements ignored.
pub fn list_elements(value: &[u8]) -> Vec<&[u8]> {
    value.split(|b| *b == b',').map(trim_ows).filter(|e| !e.is_empty()).collect()
}

/// The references checked against known answers (Python's, for the Python ones), so that a
/// target agreeing with them means something. `cargo test` in fuzz/.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_as_python() {
        let cases = [
            ("%C3%A9", "é"),
            ("%C3a%A9", "\u{fffd}a\u{fffd}"),
            ("%E2%82%C3%A9", "\u{fffd}é"),
            ("%F0%80%80", "\u{fffd}\u{fffd}\u{fffd}"),
            ("%%41%4", "%A%4"),
            ("%C3é", "\u{fffd}é"),
        ];
        for (encoded, decoded) in cases {
            assert_eq!(urlencoding::unquote(encoded, false), decoded);
        }
        assert_eq!(urlencoding::unquote("a+b%2B", false), "a+b+");
        assert_eq!(urlencoding::unquote("a+b%2B", true), "a b+");
        let pairs = urlencoding::parse_qsl("a=1&&b=&c&=&=x&a=b=c");
        let expected = [("a", "1"), ("b", ""), ("c", ""), ("", ""), ("", "x"), ("a", "b=c")];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_string(), v.to_string())));
    }

    #[test]
    fn cookies_as_starlette() {
        let parsed = cookies::parse(r#" a = 1 ;b; =x; ;;c="quoted";d="\101\"\\\n""#, true);
        let expected = [("a", "1"), ("", "x"), ("c", "quoted"), ("d", "A\"\\n")];
        assert_eq!(parsed, expected.map(|(k, v)| (k.to_string(), v.to_string())));
    }

    #[test]
    fn chunked_grammar() {
        use chunked::{decode, Decoded, Leniency};
        let body = b"5;a=b;q=\"x y\"\r\nhello\r\n0\r\nX-T: 1\r\n\r\nnext";
        let complete = Decoded::Complete { data: b"hello".to_vec(), consumed: body.len() - 4 };
        assert_eq!(decode(body, Leniency::default()).outcome, complete);
        assert_eq!(decode(b"5;\nx\r\nhello\r\n0\r\n\r\n", Leniency::default()).outcome, Decoded::Invalid);
        assert_eq!(decode(b" 5\r\nhello\r\n0\r\n\r\n", Leniency::default()).outcome, Decoded::Invalid);
        assert_eq!(decode(b"5\r\nhel", Leniency::default()).outcome, Decoded::Incomplete);
    }

    #[test]
    fn heads_by_the_rfc() {
        use head::{judge, Framing, Limits};
        let limits = Limits { max_head_bytes: 1024, max_headers: 10, max_body_bytes: 100 };
        let get = judge(b"GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n", limits).accepted.expect("a valid GET");
        assert_eq!(
            (get.path.as_str(), get.query.as_str(), get.framing, get.keep_alive),
            ("/a", "b=c", Framing::None, true)
        );
        let post = judge(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", limits).accepted;
        assert_eq!(post.map(|a| a.framing), Some(Framing::Length(5)));
        let both =
            judge(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", limits);
        assert!(both.statuses.contains(&400) && both.accepted.is_some_and(|a| !a.keep_alive));
        let old = judge(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n", limits);
        assert!(old.accepted.is_some_and(|a| a.framing == Framing::Chunked && !a.keep_alive));
        let partial = judge(b"GET / HTTP/1.1\r\nHo", limits);
        assert!(partial.incomplete && partial.statuses.is_empty());
        assert_eq!(judge(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", limits).statuses, [400]);
        assert_eq!(judge(b"GET / HTTP/1.1\r\n\r\n", limits).statuses, [400]);
        assert_eq!(judge(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", limits).statuses, [413]);
    }

    #[test]
    fn routes_as_starlette() {
        use route::{captures, compile, Piece};
        let pieces =
            [Piece::Literal("/f/".into()), Piece::Param("str"), Piece::Literal(".".into()), Piece::Param("str")];
        let regex = compile(&pieces, None);
        assert_eq!(captures(&regex, &pieces, "/f/a.b.c"), Some(vec!["a.b".to_string(), "c".to_string()]));
        assert_eq!(captures(&regex, &pieces, "/f/a.b\n"), Some(vec!["a".to_string(), "b\n".to_string()]));
        let uuid = [Piece::Literal("/u/".into()), Piece::Param("uuid")];
        let upper = "/u/ABCDEF0111112222333344445555ABCD";
        assert!(captures(&compile(&uuid, None), &uuid, upper).is_some());
    }
}
