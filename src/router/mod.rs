//! The route table: built once at start-up, one copy per worker, never shared or locked.
//!
//! Matching follows Starlette's rules: routes are tried in registration order, the first route
//! whose path and method both match wins; a route whose path matches but whose method does not
//! is remembered (the first such decides the 405 and its `Allow`). Static paths are looked up in
//! a hash map; parametrised paths are only tried when they were registered before the best
//! static match, and only after a cheap check of their literal prefix.

mod template;

use ahash::AHashMap;
use std::borrow::Cow;

pub use template::{Converter, Template, TemplateError};

use crate::http::Method;

/// The methods a route answers.
#[derive(Clone, Debug)]
pub struct Methods {
    /// `"*"`: every method (mounted applications decide for themselves).
    any: bool,
    known: Vec<Method>,
    other: Vec<String>,
    /// The `Allow` header value, in registration order.
    pub allow: String,
}

impl Methods {
    pub fn new(names: &[String]) -> Methods {
        let mut known = Vec::new();
        let mut other = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for name in names {
            let upper = name.to_ascii_uppercase();
            if seen.contains(&upper) {
                continue;
            }
            match Method::parse(&upper) {
                Method::Other => other.push(upper.clone()),
                m => known.push(m),
            }
            seen.push(upper);
        }
        Methods { any: seen.iter().any(|m| m == "*"), known, other, allow: seen.join(", ") }
    }

    pub fn allows(&self, method: Method, method_str: &str) -> bool {
        if self.any {
            return true;
        }
        match method {
            Method::Other => self.other.iter().any(|m| m == method_str),
            m => self.known.contains(&m),
        }
    }
}

#[derive(Debug)]
struct Entry {
    template: Template,
    methods: Methods,
}

/// Result of a lookup. `params` holds (name index in the template, decoded value).
#[derive(Debug, PartialEq)]
pub enum Lookup<'p> {
    Found { route: usize, params: Vec<(usize, Cow<'p, str>)> },
    MethodNotAllowed { route: usize },
    NotFound,
}

#[derive(Debug, Default)]
pub struct Router {
    entries: Vec<Entry>,
    statics: AHashMap<String, Vec<usize>>,
    dynamics: Vec<usize>,
}

impl Router {
    /// Adds a route; its index is the order of registration.
    pub fn add(&mut self, path: &str, methods: &[String]) -> Result<usize, TemplateError> {
        let template = Template::parse(path)?;
        let id = self.entries.len();
        if let Some(literal) = template.as_static() {
            self.statics.entry(literal.to_string()).or_default().push(id);
        } else {
            self.dynamics.push(id);
        }
        self.entries.push(Entry { template, methods: Methods::new(methods) });
        Ok(id)
    }

    pub fn template(&self, route: usize) -> &Template {
        &self.entries[route].template
    }

    pub fn allow_header(&self, route: usize) -> &str {
        &self.entries[route].methods.allow
    }

    /// Finds the route for a decoded path.
    pub fn lookup<'p>(&self, path: &'p str, method: Method, method_str: &str) -> Lookup<'p> {
        let mut full: Option<usize> = None;
        let mut partial: Option<usize> = None;
        for id in self.static_ids(path) {
            if self.entries[id].methods.allows(method, method_str) {
                full = Some(id);
                break;
            }
            partial.get_or_insert(id);
        }
        let mut params = Vec::new();
        for &id in &self.dynamics {
            if full.is_some_and(|f| f < id) {
                break;
            }
            let entry = &self.entries[id];
            let allowed = entry.methods.allows(method, method_str);
            if !allowed && partial.is_some_and(|p| p < id) {
                continue;
            }
            let mut captured = Vec::new();
            if entry.template.matches(path, &mut captured) {
                if allowed {
                    full = Some(id);
                    params = captured;
                    break;
                }
                partial = Some(partial.map_or(id, |p| p.min(id)));
            }
        }
        match (full, partial) {
            (Some(route), _) => {
                let params = params.into_iter().map(|(i, v)| (i, Cow::Borrowed(v))).collect();
                Lookup::Found { route, params }
            }
            (None, Some(route)) => Lookup::MethodNotAllowed { route },
            (None, None) => Lookup::NotFound,
        }
    }

    /// Whether any route matches `path` for some method: decides trailing-slash redirects.
    pub fn path_matches(&self, path: &str) -> bool {
        if self.static_ids(path).next().is_some() {
            return true;
        }
        let mut captured = Vec::new();
        self.dynamics.iter().any(|&id| {
            captured.clear();
            self.entries[id].template.matches(path, &mut captured)
        })
    }
}

impl Router {
    /// The static routes whose regex matches `path`, in registration order: those of the path
    /// itself and, as Python's `$` matches before a final newline, those of the path without it.
    fn static_ids(&self, path: &str) -> impl Iterator<Item = usize> + '_ {
        let ids = |p: &str| self.statics.get(p).map_or(&[][..], Vec::as_slice);
        let mut exact = ids(path).iter().copied().peekable();
        let mut before_newline = path.strip_suffix('\n').map_or(&[][..], ids).iter().copied().peekable();
        // Both lists are in registration order: merge them.
        std::iter::from_fn(move || match (exact.peek(), before_newline.peek()) {
            (Some(a), Some(b)) if b < a => before_newline.next(),
            (Some(_), _) => exact.next(),
            (None, _) => before_newline.next(),
        })
    }
}

/// Percent-decodes a request path as uvicorn does before Starlette routes it.
pub fn decode_path(raw: &str) -> Cow<'_, str> {
    crate::http::percent::decode(raw, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &[&str])]) -> Router {
        let mut r = Router::default();
        for (path, methods) in routes {
            let methods: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
            r.add(path, &methods).unwrap();
        }
        r
    }

    fn found(l: Lookup) -> (usize, Vec<String>) {
        match l {
            Lookup::Found { route, params } => (route, params.into_iter().map(|(_, v)| v.into_owned()).collect()),
            other => panic!("expected a match, got {other:?}"),
        }
    }

    #[test]
    fn static_paths_match_before_a_final_newline() {
        // Fuzz finding R1: Starlette's `^/ab$` matches `/ab\n`.
        let r = router(&[("/ab", &["POST"]), ("/ab\n", &["GET"]), ("/ab", &["GET"])]);
        assert_eq!(found(r.lookup("/ab\n", Method::Get, "GET")), (1, vec![]));
        assert_eq!(found(r.lookup("/ab\n", Method::Post, "POST")), (0, vec![]));
        assert_eq!(found(r.lookup("/ab", Method::Get, "GET")), (2, vec![]));
        assert!(r.path_matches("/ab\n\n") && !r.path_matches("/ab\n\n\n"));
    }

    #[test]
    fn static_and_params() {
        let r = router(&[("/hello", &["GET"]), ("/items/{id}", &["GET"]), ("/files/{p:path}", &["GET"])]);
        assert_eq!(found(r.lookup("/hello", Method::Get, "GET")), (0, vec![]));
        assert_eq!(found(r.lookup("/items/42", Method::Get, "GET")), (1, vec!["42".into()]));
        assert_eq!(found(r.lookup("/files/a/b.txt", Method::Get, "GET")), (2, vec!["a/b.txt".into()]));
        assert_eq!(r.lookup("/nope", Method::Get, "GET"), Lookup::NotFound);
        assert_eq!(r.lookup("/items/", Method::Get, "GET"), Lookup::NotFound);
        assert_eq!(r.lookup("/items/1/2", Method::Get, "GET"), Lookup::NotFound);
    }

    #[test]
    fn registration_order_decides() {
        let r = router(&[("/users/{id}", &["GET"]), ("/users/me", &["GET"])]);
        assert_eq!(found(r.lookup("/users/me", Method::Get, "GET")).0, 0);
        let r = router(&[("/users/me", &["GET"]), ("/users/{id}", &["GET"])]);
        assert_eq!(found(r.lookup("/users/me", Method::Get, "GET")).0, 0);
        assert_eq!(found(r.lookup("/users/7", Method::Get, "GET")).0, 1);
    }

    #[test]
    fn method_not_allowed_uses_first_partial() {
        let r = router(&[("/a", &["GET"]), ("/a", &["POST", "PUT"]), ("/{x}", &["DELETE"])]);
        assert_eq!(found(r.lookup("/a", Method::Put, "PUT")).0, 1);
        assert_eq!(found(r.lookup("/a", Method::Delete, "DELETE")).0, 2);
        assert_eq!(r.lookup("/a", Method::Patch, "PATCH"), Lookup::MethodNotAllowed { route: 0 });
        assert_eq!(r.allow_header(1), "POST, PUT");
    }

    #[test]
    fn converters() {
        let r = router(&[("/i/{x:int}", &["GET"]), ("/f/{x:float}", &["GET"]), ("/u/{x:uuid}", &["GET"])]);
        assert_eq!(found(r.lookup("/i/12", Method::Get, "GET")).1, vec!["12".to_string()]);
        assert_eq!(r.lookup("/i/-1", Method::Get, "GET"), Lookup::NotFound);
        assert_eq!(found(r.lookup("/f/1.5", Method::Get, "GET")).1, vec!["1.5".to_string()]);
        assert_eq!(r.lookup("/f/x", Method::Get, "GET"), Lookup::NotFound);
        let u = "/u/123e4567-e89b-12d3-a456-426614174000";
        assert_eq!(found(r.lookup(u, Method::Get, "GET")).0, 2);
        assert_eq!(r.lookup("/u/123", Method::Get, "GET"), Lookup::NotFound);
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_path("/a%20b"), "/a b");
        assert_eq!(decode_path("/a%2"), "/a%2");
        assert_eq!(decode_path("/caf%C3%A9"), "/café");
        assert_eq!(decode_path("/%FF"), "/\u{FFFD}");
    }

    #[test]
    fn slash_toggle_matching() {
        let r = router(&[("/items/", &["GET"]), ("/users/{id}", &["GET"])]);
        assert!(r.path_matches("/items/"));
        assert!(!r.path_matches("/items"));
        assert!(r.path_matches("/users/1"));
    }
}
