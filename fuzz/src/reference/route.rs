//! Starlette's route matching (1.10, `starlette.routing.compile_path` and
//! `starlette.convertors`): a template becomes the Python regex
//! `^literal(?P<name>convertor)…literal$`, applied with `re.match`.

use regex_lite::Regex;

/// A template piece, built by the target from fuzz bytes.
#[derive(Clone, Debug)]
pub enum Piece {
    Literal(String),
    /// The parameter's convertor name: `str`, `path`, `int`, `float` or `uuid`.
    Param(&'static str),
}

pub const CONVERTORS: [&str; 5] = ["str", "path", "int", "float", "uuid"];

/// Where fastrapi's router is known to differ from Starlette (reported, see
/// fuzz/artifacts-found/README.md); with it, the reference follows fastrapi there so that the
/// fuzzer can look for anything else. Set it to `false` once src/router is fixed.
#[derive(Clone, Copy, Debug)]
pub struct KnownDifferences {
    /// R1: fastrapi matches only at the end of the path; Python's `$` also matches before a
    /// final newline (Starlette routes `/ab%0A` to `/ab`).
    pub ends_only_at_end: bool,
    /// R2: fastrapi's `str` stops at a newline; `[^/]+` takes it.
    pub str_stops_at_newline: bool,
    /// R3: fastrapi's `uuid` wants lower case and dashes; Starlette 1.10's takes upper case hex
    /// and optional dashes.
    pub uuid_lowercase_with_dashes: bool,
}

/// The regex each convertor contributes, as `starlette.convertors.CONVERTOR_TYPES` lists it.
fn convertor_regex(name: &str, known: Option<KnownDifferences>) -> &'static str {
    match name {
        "str" if known.is_some_and(|k| k.str_stops_at_newline) => "[^/\\n]+",
        "uuid" if known.is_some_and(|k| k.uuid_lowercase_with_dashes) => {
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        }
        "path" => ".*",
        "int" => "[0-9]+",
        "float" => r"[0-9]+(?:\.[0-9]+)?",
        "uuid" => "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}",
        _ => "[^/]+",
    }
}

/// The template text (`/a/{p0:int}…`) Starlette and our router both read.
pub fn template_text(pieces: &[Piece]) -> String {
    let mut text = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal(l) => text.push_str(l),
            Piece::Param(conv) => text.push_str(&format!("{{p{i}:{conv}}}")),
        }
    }
    text
}

/// The compiled pattern. Python's `$` matches at the end or before a final newline; Rust's
/// `\z` only at the end, hence `\n?\z`. `known`: follow fastrapi where it is known to differ.
pub fn compile(pieces: &[Piece], known: Option<KnownDifferences>) -> Regex {
    let mut pattern = String::from(r"\A");
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal(l) => pattern.push_str(&regex_lite::escape(l)),
            Piece::Param(conv) => pattern.push_str(&format!("(?P<p{i}>{})", convertor_regex(conv, known))),
        }
    }
    pattern.push_str(if known.is_some_and(|k| k.ends_only_at_end) { r"\z" } else { r"\n?\z" });
    Regex::new(&pattern).expect("escaped literals and fixed convertor regexes always compile")
}

/// The captured value of every parameter, in template order, when the path matches.
pub fn captures(regex: &Regex, pieces: &[Piece], path: &str) -> Option<Vec<String>> {
    let caps = regex.captures(path)?;
    let values = pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, Piece::Param(_)))
        .map(|(i, _)| caps.name(&format!("p{i}")).map_or(String::new(), |m| m.as_str().to_string()))
        .collect();
    Some(values)
}
