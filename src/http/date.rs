//! The `Date` header, formatted at most once per second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

struct Cached {
    second: u64,
    value: [u8; 29],
}

thread_local! {
    static DATE: RefCell<Cached> = const { RefCell::new(Cached { second: 0, value: [b' '; 29] }) };
}

/// Appends the current IMF-fixdate (29 bytes, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn append_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.second != second {
            let formatted = httpdate::fmt_http_date(now);
            let bytes = formatted.as_bytes();
            if bytes.len() == 29 {
                cached.value.copy_from_slice(bytes);
                cached.second = second;
            } else {
                out.extend_from_slice(bytes);
                return;
            }
        }
        out.extend_from_slice(&cached.value);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn looks_like_an_http_date() {
        let mut out = Vec::new();
        super::append_date(&mut out);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.len(), 29);
        assert!(s.ends_with(" GMT"));
        assert!(httpdate::parse_http_date(&s).is_ok());
    }
}
