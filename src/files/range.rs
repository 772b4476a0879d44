//! `Range: bytes=…` requests, with Starlette's `FileResponse` rules (so answers match FastAPI's).

/// Starlette answers at most this many ranges; more mean "send the whole file".
const MAX_RANGES: usize = 100;

#[derive(Debug, PartialEq, Eq)]
pub enum RangeError {
    /// → 400 with this text.
    Malformed(&'static str),
    /// → 416 with `Content-Range: bytes */{size}`.
    Unsatisfiable,
}

/// Byte ranges `[start, end)` to send; empty means the whole file (status 200).
pub fn parse_range(header: &str, size: u64) -> Result<Vec<(u64, u64)>, RangeError> {
    let Some((units, spec)) = header.split_once('=') else {
        return Err(RangeError::Malformed("Malformed range header."));
    };
    if !units.trim().eq_ignore_ascii_case("bytes") {
        return Err(RangeError::Malformed("Only support bytes range"));
    }
    if spec.matches(',').count() + 1 > MAX_RANGES {
        return Ok(Vec::new());
    }
    let size_i = i128::from(size);
    let mut ranges: Vec<(i128, i128)> = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        // Empty parts, a lone dash and parts without a dash are ignored, as are non-numbers.
        let Some((start, end)) = part.split_once('-').filter(|_| part != "-") else {
            continue;
        };
        let (start, end) = (start.trim(), end.trim());
        let range = if start.is_empty() {
            python_int(end).map(|suffix| ((size_i - suffix).max(0), size_i))
        } else {
            python_int(start).and_then(|first| {
                if end.is_empty() {
                    return Some((first, size_i));
                }
                let last = python_int(end)?;
                Some((first, if last < size_i { last + 1 } else { size_i }))
            })
        };
        ranges.extend(range);
    }
    if ranges.is_empty() {
        return Err(RangeError::Malformed("Range header: range must be requested"));
    }
    if ranges.iter().any(|&(start, _)| !(0..size_i).contains(&start)) {
        return Err(RangeError::Unsatisfiable);
    }
    if ranges.iter().any(|&(start, end)| start >= end) {
        return Err(RangeError::Malformed("Range header: start must be less than end"));
    }
    // Every value now lies in 0..=size, so the conversions below are exact.
    let mut ranges: Vec<(u64, u64)> = ranges.into_iter().map(|(s, e)| (s as u64, e as u64)).collect();
    if ranges.len() > 1 {
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        ranges = merged;
    }
    Ok(ranges)
}

/// Python's `int(text)` for what a header can hold: sign, ASCII digits, single `_` between digits.
fn python_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let mut value: i128 = 0;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?,
            b'_' => {}
            _ => return None,
        }
    }
    Some(if negative { -value } else { value })
}

/// The `multipart/byteranges` framing of several ranges (Starlette's layout, byte for byte
/// except the random boundary).
pub struct Multipart {
    pub boundary: String,
    content_type: Vec<u8>,
    size: u64,
}

impl Multipart {
    pub fn new(content_type: &[u8], size: u64) -> Multipart {
        Multipart { boundary: random_boundary(), content_type: content_type.to_vec(), size }
    }

    pub fn content_type(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }

    /// The header block that precedes the bytes of `[start, end)`.
    pub fn part_head(&self, start: u64, end: u64) -> Vec<u8> {
        let mut head = format!("--{}\r\nContent-Type: ", self.boundary).into_bytes();
        head.extend_from_slice(&self.content_type);
        head.extend_from_slice(
            format!("\r\nContent-Range: bytes {}-{}/{}\r\n\r\n", start, end - 1, self.size).as_bytes(),
        );
        head
    }

    pub fn closing(&self) -> Vec<u8> {
        format!("--{}--", self.boundary).into_bytes()
    }

    pub fn content_length(&self, ranges: &[(u64, u64)]) -> u64 {
        let parts: u64 = ranges.iter().map(|&(s, e)| self.part_head(s, e).len() as u64 + (e - s) + 2).sum();
        parts + self.closing().len() as u64
    }
}

/// 13 random bytes as hex, like Starlette's `token_hex(13)`.
fn random_boundary() -> String {
    let mut bytes = [0u8; 13];
    // SAFETY: the buffer is valid for writes of its length.
    let filled = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if filled != bytes.len() as isize {
        // No entropy source: any boundary that does not occur in the file works; time is enough.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes[..13].copy_from_slice(&nanos.to_le_bytes()[..13]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(vec![(0, 10)]));
        assert_eq!(parse_range("bytes=90-", 100), Ok(vec![(90, 100)]));
        assert_eq!(parse_range("bytes=-10", 100), Ok(vec![(90, 100)]));
        assert_eq!(parse_range("bytes=-1000", 100), Ok(vec![(0, 100)]));
        assert_eq!(parse_range("BYTES = 5-500", 100), Ok(vec![(5, 100)]));
        assert_eq!(parse_range("bytes=1_0-2_0", 100), Ok(vec![(10, 21)]));
    }

    #[test]
    fn several_ranges_are_sorted_and_merged() {
        assert_eq!(parse_range("bytes=50-59, 0-9, 5-20", 100), Ok(vec![(0, 21), (50, 60)]));
        assert_eq!(parse_range("bytes=0-1,x,-,,3-4", 100), Ok(vec![(0, 2), (3, 5)]));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_range("bytes", 100), Err(RangeError::Malformed("Malformed range header.")));
        assert_eq!(parse_range("items=0-1", 100), Err(RangeError::Malformed("Only support bytes range")));
        assert_eq!(parse_range("bytes=x-y", 100), Err(RangeError::Malformed("Range header: range must be requested")));
        assert_eq!(parse_range("bytes=100-", 100), Err(RangeError::Unsatisfiable));
        assert_eq!(parse_range("bytes=0-0", 0), Err(RangeError::Unsatisfiable));
        assert_eq!(
            parse_range("bytes=5-2", 100),
            Err(RangeError::Malformed("Range header: start must be less than end"))
        );
        assert_eq!(parse_range(&format!("bytes={}", vec!["0-1"; 101].join(",")), 100), Ok(vec![]));
    }

    #[test]
    fn multipart_length_matches_the_bytes() {
        let multipart = Multipart::new(b"text/plain; charset=utf-8", 1000);
        assert_eq!(multipart.boundary.len(), 26);
        let ranges = [(0, 10), (500, 1000)];
        let mut body = Vec::new();
        for &(s, e) in &ranges {
            body.extend(multipart.part_head(s, e));
            body.extend(std::iter::repeat_n(b'x', (e - s) as usize));
            body.extend_from_slice(b"\r\n");
        }
        body.extend(multipart.closing());
        assert_eq!(multipart.content_length(&ranges), body.len() as u64);
    }
}
