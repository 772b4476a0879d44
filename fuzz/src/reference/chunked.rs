//! The chunked transfer coding, decoded from the grammar of RFC 9112 §7.1 (whole input at once):
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-val  = token / quoted-string
//! trailer-section = *( field-line CRLF )
//! ```

use super::{is_tchar, trim_ows};

/// Leniencies a decoder may have beyond the grammar; the strict reading has none.
#[derive(Clone, Copy, Debug, Default)]
pub struct Leniency {
    /// SP and HTAB around the hex size, not only BWS before `;` (with `control_characters`: all
    /// ASCII whitespace, LF, FF and CR included).
    pub whitespace_around_size: bool,
    /// Anything but control characters (HTAB allowed) after the size's `;`.
    pub unchecked_extensions: bool,
    /// Trailer lines not checked as field lines, beyond having no control characters.
    pub unchecked_trailers: bool,
    /// Control characters too, in both of the above.
    pub control_characters: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The whole body: its data and how many input bytes it took (the rest is the next request).
    Complete {
        data: Vec<u8>,
        consumed: usize,
    },
    /// Valid so far, more input needed.
    Incomplete,
    Invalid,
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `qdtext` and `quoted-pair` contents (RFC 9110 §5.6.4).
fn quoted_string_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Some(i + 1),
            b'\\' => {
                let next = *s.get(i + 1)?;
                if !(next == b'\t' || next == b' ' || (0x21..=0x7e).contains(&next) || next >= 0x80) {
                    return None;
                }
                i += 2;
            }
            b if b == b'\t' || b == b' ' || b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80 => i += 1,
            _ => return None,
        }
    }
    None
}

fn token_len(s: &[u8]) -> usize {
    s.iter().take_while(|b| is_tchar(**b)).count()
}

/// `chunk-ext` exactly as the grammar has it.
fn valid_extensions(mut s: &[u8]) -> bool {
    loop {
        s = &s[s.iter().take_while(|b| is_ows(**b)).count()..];
        if s.is_empty() {
            return true;
        }
        if s[0] != b';' {
            return false;
        }
        s = trim_start_ows(&s[1..]);
        let name = token_len(s);
        if name == 0 {
            return false;
        }
        s = &s[name..];
        let after_name = trim_start_ows(s);
        if after_name.first() == Some(&b'=') {
            s = trim_start_ows(&after_name[1..]);
            let value = if s.first() == Some(&b'"') { quoted_string_len(s) } else { Some(token_len(s)) };
            match value {
                Some(n) if n > 0 => s = &s[n..],
                _ => return false,
            }
        }
    }
}

fn trim_start_ows(s: &[u8]) -> &[u8] {
    &s[s.iter().take_while(|b| is_ows(**b)).count()..]
}

fn has_controls(s: &[u8]) -> bool {
    s.iter().any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
}

/// `field-line` (RFC 9112 §5): a token, a colon, a value of VCHAR / obs-text / SP / HTAB.
fn valid_field_line(line: &[u8]) -> bool {
    let name = token_len(line);
    name > 0 && line.get(name) == Some(&b':') && !has_controls(&line[name + 1..])
}

/// A size line read: its hex digits (as written, leading zeros included) and the size, or `None`
/// when the line is invalid.
fn size_line(line: &[u8], leniency: Leniency) -> Option<(usize, u128)> {
    let controls_ok = leniency.control_characters;
    let (digits, extensions) = if leniency.whitespace_around_size {
        let semicolon = line.iter().position(|b| *b == b';').unwrap_or(line.len());
        let digits = if controls_ok { line[..semicolon].trim_ascii() } else { trim_ows(&line[..semicolon]) };
        (digits, &line[semicolon..])
    } else {
        let n = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        (&line[..n], &line[n..])
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let extensions_ok = if leniency.unchecked_extensions {
        extensions.is_empty() || (extensions[0] == b';' && (controls_ok || !has_controls(extensions)))
    } else {
        valid_extensions(extensions)
    };
    if !extensions_ok {
        return None;
    }
    // Leading zeros do not count; more than 32 significant digits cannot be a real size.
    let significant = &digits[digits.iter().take_while(|b| **b == b'0').count()..];
    let size = if significant.len() > 32 {
        u128::MAX
    } else {
        significant.iter().fold(0u128, |n, d| n * 16 + u128::from((*d as char).to_digit(16).unwrap_or(0)))
    };
    Some((digits.len(), size))
}

/// The next CRLF-terminated line starting at `pos`: its content and the position after it.
fn line_at(input: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = &input[pos..];
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], pos + end + 2))
}

/// The outcome, and what a decoder with limits needs to know about the input it walked.
#[derive(Debug)]
pub struct Walk {
    pub outcome: Decoded,
    /// Most hex digits in one chunk size (leading zeros included).
    pub longest_size: usize,
    /// The sizes declared so far, added up (saturating).
    pub declared: u128,
    /// Length of the final line when it has no CRLF yet (0 when not inside a line).
    pub unfinished_line: usize,
    /// Length of the longest complete size or trailer line, CRLF excluded.
    pub longest_line: usize,
}

pub fn decode(input: &[u8], leniency: Leniency) -> Walk {
    let mut walk =
        Walk { outcome: Decoded::Incomplete, longest_size: 0, declared: 0, unfinished_line: 0, longest_line: 0 };
    walk.outcome = walk_body(input, leniency, &mut walk);
    walk
}

fn walk_body(input: &[u8], leniency: Leniency, walk: &mut Walk) -> Decoded {
    let mut data = Vec::new();
    let mut pos = 0;
    loop {
        let Some((line, after)) = line_at(input, pos) else {
            walk.unfinished_line = input.len() - pos;
            return Decoded::Incomplete;
        };
        walk.longest_line = walk.longest_line.max(line.len());
        let Some((digits, size)) = size_line(line, leniency) else {
            return Decoded::Invalid;
        };
        walk.longest_size = walk.longest_size.max(digits);
        walk.declared = walk.declared.saturating_add(size);
        pos = after;
        if size == 0 {
            break;
        }
        let Some(end) = usize::try_from(size).ok().and_then(|n| pos.checked_add(n)) else {
            return Decoded::Incomplete;
        };
        if end > input.len() {
            return Decoded::Incomplete;
        }
        data.extend_from_slice(&input[pos..end]);
        pos = end;
        // Fewer than two bytes after the data: wait, whatever they are.
        match input.get(pos..pos + 2) {
            Some(b"\r\n") => pos += 2,
            Some(_) => return Decoded::Invalid,
            None => return Decoded::Incomplete,
        }
    }
    loop {
        let Some((line, after)) = line_at(input, pos) else {
            walk.unfinished_line = input.len() - pos;
            return Decoded::Incomplete;
        };
        pos = after;
        walk.longest_line = walk.longest_line.max(line.len());
        if line.is_empty() {
            return Decoded::Complete { data, consumed: pos };
        }
        let valid = if leniency.unchecked_trailers {
            leniency.control_characters || !has_controls(line)
        } else {
            valid_field_line(line)
        };
        if !valid {
            return Decoded::Invalid;
        }
    }
}
