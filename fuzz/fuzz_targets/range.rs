//! `Range` header values (as `files::answer` hands them over: Latin-1 text) through
//! `parse_range`, for fuzzed file sizes. Checked: the ranges lie inside the file, sorted, merged
//! and not touching; "the whole file" only for over 100 ranges; and for several ranges the
//! `multipart/byteranges` framing announces exactly the bytes it writes.
#![no_main]

use fastrapi_fuzz::range::{parse_range, Multipart, RangeError};
use fastrapi_fuzz::{latin1, Input};
use libfuzzer_sys::fuzz_target;

/// Checks the part heads and the closing line of a multipart answer, and that its announced
/// length is the length of what it writes.
fn check_multipart(content_type: &[u8], size: u64, ranges: &[(u64, u64)]) {
    let multipart = Multipart::new(content_type, size);
    let boundary = &multipart.boundary;
    assert!(boundary.len() == 26 && boundary.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(multipart.content_type(), format!("multipart/byteranges; boundary={boundary}"));
    let mut written: u64 = 0;
    for &(start, end) in ranges {
        let head = multipart.part_head(start, end);
        let mut expected = format!("--{boundary}\r\nContent-Type: ").into_bytes();
        expected.extend_from_slice(content_type);
        expected.extend_from_slice(format!("\r\nContent-Range: bytes {start}-{}/{size}\r\n\r\n", end - 1).as_bytes());
        assert_eq!(head, expected);
        written += head.len() as u64 + (end - start) + 2;
    }
    let closing = multipart.closing();
    assert_eq!(closing, format!("--{boundary}--").into_bytes());
    assert_eq!(multipart.content_length(ranges), written + closing.len() as u64);
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    // No file is larger than `off_t` allows: i64::MAX.
    let size = match input.byte() % 8 {
        0 => 0,
        1 => 1,
        2 => 100,
        3 => 1 << 20,
        4 => i64::MAX as u64,
        _ => u64::from_le_bytes(std::array::from_fn(|_| input.byte())) & i64::MAX as u64,
    };
    let content_type_len = usize::from(input.byte() % 32);
    let rest = input.rest();
    let (content_type, header) = rest.split_at(content_type_len.min(rest.len()));
    let header = latin1(header);
    match parse_range(&header, size) {
        Ok(ranges) if ranges.is_empty() => assert!(header.matches(',').count() + 1 > 100),
        Ok(ranges) => {
            assert!(ranges.iter().all(|&(start, end)| start < end && end <= size));
            assert!(ranges.windows(2).all(|w| w[0].1 < w[1].0), "sorted, merged, not touching: {ranges:?}");
            if ranges.len() > 1 {
                check_multipart(content_type, size, &ranges);
            }
        }
        Err(RangeError::Unsatisfiable) => assert!(header.contains('-')),
        Err(RangeError::Malformed(_)) => {}
    }
});
