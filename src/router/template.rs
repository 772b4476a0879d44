//! Path templates (`/items/{id}`, `{p:path}`, `{n:int}`) compiled once, matched like Starlette's
//! anchored regexes: greedy captures with backtracking, converters restricting each capture.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Converter {
    /// `[^/]+` (a newline too)
    Str,
    /// `.*`
    Path,
    /// `[0-9]+`
    Int,
    /// `[0-9]+(\.[0-9]+)?`
    Float,
    /// 8-4-4-4-12 hex digits of either case, each dash optional (Starlette 1.10's regex)
    Uuid,
}

impl Converter {
    pub fn name(self) -> &'static str {
        match self {
            Converter::Str => "str",
            Converter::Path => "path",
            Converter::Int => "int",
            Converter::Float => "float",
            Converter::Uuid => "uuid",
        }
    }
}

#[derive(Clone, Debug)]
enum Piece {
    Literal(String),
    Param(usize, Converter),
}

#[derive(Clone, Debug)]
pub struct Template {
    pieces: Vec<Piece>,
    /// Parameter names, in template order.
    pub params: Vec<(String, Converter)>,
    /// Literal text before the first parameter, checked before any backtracking.
    prefix: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TemplateError {
    UnknownConverter(String),
    DuplicateParam(String),
    NotAbsolute,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::UnknownConverter(c) => write!(f, "Unknown path convertor '{c}'"),
            TemplateError::DuplicateParam(p) => write!(f, "Duplicated param name {p} at path"),
            TemplateError::NotAbsolute => write!(f, "Routed paths must start with '/'"),
        }
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Length of a `{name}` or `{name:conv}` token at the start of `s`, with its parts.
fn param_token(s: &str) -> Option<(usize, &str, Option<&str>)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'{') || !b.get(1).is_some_and(|c| is_ident_start(*c)) {
        return None;
    }
    let mut i = 2;
    while i < b.len() && is_ident(b[i]) {
        i += 1;
    }
    let name = &s[1..i];
    let mut conv = None;
    if b.get(i) == Some(&b':') {
        let start = i + 1;
        if !b.get(start).is_some_and(|c| is_ident_start(*c)) {
            return None;
        }
        i = start + 1;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        conv = Some(&s[start..i]);
    }
    if b.get(i) != Some(&b'}') {
        return None;
    }
    Some((i + 1, name, conv))
}

impl Template {
    pub fn parse(path: &str) -> Result<Template, TemplateError> {
        if !path.starts_with('/') {
            return Err(TemplateError::NotAbsolute);
        }
        let mut pieces = Vec::new();
        let mut params: Vec<(String, Converter)> = Vec::new();
        let mut literal = String::new();
        let mut rest = path;
        while !rest.is_empty() {
            if let Some((len, name, conv)) = param_token(rest) {
                let converter = match conv.unwrap_or("str") {
                    "str" => Converter::Str,
                    "path" => Converter::Path,
                    "int" => Converter::Int,
                    "float" => Converter::Float,
                    "uuid" => Converter::Uuid,
                    other => return Err(TemplateError::UnknownConverter(other.to_string())),
                };
                if params.iter().any(|(n, _)| n == name) {
                    return Err(TemplateError::DuplicateParam(name.to_string()));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Param(params.len(), converter));
                params.push((name.to_string(), converter));
                rest = &rest[len..];
            } else {
                let ch = rest.chars().next().unwrap_or_default();
                literal.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        let prefix = match pieces.first() {
            Some(Piece::Literal(l)) => l.clone(),
            _ => String::new(),
        };
        Ok(Template { pieces, params, prefix })
    }

    /// The path itself when the template has no parameters.
    pub fn as_static(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [Piece::Literal(l)] if self.params.is_empty() => Some(l),
            _ => None,
        }
    }

    /// Matches the whole of `path`; on success `out` holds (param index, raw capture).
    pub fn matches<'p>(&self, path: &'p str, out: &mut Vec<(usize, &'p str)>) -> bool {
        if !path.starts_with(self.prefix.as_str()) {
            return false;
        }
        out.clear();
        self.match_from(0, path, 0, out)
    }

    fn match_from<'p>(&self, piece: usize, path: &'p str, pos: usize, out: &mut Vec<(usize, &'p str)>) -> bool {
        let Some(p) = self.pieces.get(piece) else {
            return at_end(path, pos);
        };
        let rest = &path.as_bytes()[pos..];
        match p {
            Piece::Literal(l) => rest.starts_with(l.as_bytes()) && self.match_from(piece + 1, path, pos + l.len(), out),
            Piece::Param(index, converter) => {
                for end in candidate_ends(*converter, rest).into_iter().rev() {
                    if !path.is_char_boundary(pos + end) {
                        continue;
                    }
                    out.push((*index, &path[pos..pos + end]));
                    if self.match_from(piece + 1, path, pos + end, out) {
                        return true;
                    }
                    out.pop();
                }
                false
            }
        }
    }
}

/// Python's `$` without MULTILINE: the end of the path, or just before a newline that ends it
/// (so Starlette's `^/ab$` routes `/ab%0A`).
pub fn at_end(path: &str, pos: usize) -> bool {
    pos == path.len() || (pos + 1 == path.len() && path.ends_with('\n'))
}

/// Every length a converter's regex could match at the start of `s`, shortest first.
fn candidate_ends(converter: Converter, s: &[u8]) -> Vec<usize> {
    match converter {
        Converter::Str => {
            let n = s.iter().position(|b| *b == b'/').unwrap_or(s.len());
            (1..=n).collect()
        }
        Converter::Path => {
            let n = s.iter().position(|b| *b == b'\n').unwrap_or(s.len());
            (0..=n).collect()
        }
        Converter::Int => {
            let n = s.iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
            (1..=n).collect()
        }
        Converter::Float => {
            let d = s.iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
            let mut ends: Vec<usize> = (1..=d).collect();
            if d > 0 && s.get(d) == Some(&b'.') {
                let frac = s[d + 1..].iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len() - d - 1);
                ends.extend((1..=frac).map(|k| d + 1 + k));
            }
            ends
        }
        Converter::Uuid => {
            const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
            let mut i = 0;
            for (g, len) in GROUPS.iter().enumerate() {
                // `-?`: a dash is taken when present (a hex digit can not be one, so no backtracking).
                if g > 0 && s.get(i) == Some(&b'-') {
                    i += 1;
                }
                for _ in 0..*len {
                    match s.get(i) {
                        Some(c) if c.is_ascii_hexdigit() => i += 1,
                        _ => return Vec::new(),
                    }
                }
            }
            vec![i]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(t: &str, p: &str) -> Option<Vec<String>> {
        let t = Template::parse(t).unwrap();
        let mut out = Vec::new();
        t.matches(p, &mut out).then(|| out.iter().map(|(_, v)| v.to_string()).collect())
    }

    #[test]
    fn greedy_with_backtracking() {
        assert_eq!(caps("/f/{name}.{ext}", "/f/a.b.c"), Some(vec!["a.b".into(), "c".into()]));
        assert_eq!(caps("/{a:path}/x", "/1/2/x"), Some(vec!["1/2".into()]));
        assert_eq!(caps("/p/{rest:path}", "/p/"), Some(vec!["".into()]));
        assert_eq!(caps("/n/{v:float}", "/n/10"), Some(vec!["10".into()]));
        assert_eq!(caps("/n/{v:float}", "/n/1."), None);
    }

    #[test]
    fn final_newline_and_newlines_in_str() {
        // Fuzz findings R1 and R2: Python's `$` matches before a final newline; `[^/]+` takes one.
        assert_eq!(caps("/ab", "/ab\n"), Some(vec![]));
        assert_eq!(caps("/ab", "/ab\n\n"), None);
        assert_eq!(caps("/i/{x:int}", "/i/12\n"), Some(vec!["12".into()]));
        assert_eq!(caps("/s/{x}", "/s/b\nc"), Some(vec!["b\nc".into()]));
        assert_eq!(caps("/s/{x}", "/s/b\n"), Some(vec!["b\n".into()]));
        assert_eq!(caps("/p/{x:path}", "/p/a\n"), Some(vec!["a".into()]));
    }

    #[test]
    fn uuids_of_either_case_with_or_without_dashes() {
        // Fuzz finding R3: Starlette 1.10's uuid convertor.
        let t = "/u/{id:uuid}";
        for id in [
            "0b4e5a8c-1f2d-4e3a-9b8c-7d6e5f4a3b2c",
            "0B4E5A8C-1F2D-4E3A-9B8C-7D6E5F4A3B2C",
            "0b4e5a8c1f2d4e3a9b8c7d6e5f4a3b2c",
            "0b4e5a8c1f2d-4e3a9b8c-7d6e5f4a3b2c",
        ] {
            assert_eq!(caps(t, &format!("/u/{id}")), Some(vec![id.to_string()]), "{id}");
        }
        assert_eq!(caps(t, "/u/0b4e5a8c--1f2d-4e3a-9b8c-7d6e5f4a3b2c"), None);
        assert_eq!(caps(t, "/u/0b4e5a8c-1f2d-4e3a-9b8c-7d6e5f4a3b2"), None);
    }

    #[test]
    fn errors_and_literals() {
        assert!(matches!(Template::parse("/{x:nope}"), Err(TemplateError::UnknownConverter(_))));
        assert!(matches!(Template::parse("/{x}/{x}"), Err(TemplateError::DuplicateParam(_))));
        assert_eq!(caps("/{1}", "/{1}"), Some(vec![]));
        assert_eq!(Template::parse("/a/b").unwrap().as_static(), Some("/a/b"));
    }
}
