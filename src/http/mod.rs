//! HTTP/1.1 wire format: request heads, body framing, responses and the cached `Date`.

pub mod body;
pub mod date;
pub mod parse;
pub mod percent;
pub mod response;

pub use parse::{header_storage, parse_head, Framing, Head, HeadError, Limits, Method};
