//! What the fuzz targets share: the server's parsers compiled straight from `src/` (so neither
//! pyo3 nor monoio is needed), and reference implementations written from the RFCs and from
//! Python's documented behaviour, never from the code under test.

// The modules below are the server's own files; the targets use only part of them.
#[allow(dead_code, unused_imports)]
#[path = "../../src/http/mod.rs"]
pub mod http;
#[allow(dead_code, unused_imports)]
#[path = "../../src/params/query.rs"]
pub mod query;
#[allow(dead_code, unused_imports)]
#[path = "../../src/files/range.rs"]
pub mod range;
#[allow(dead_code, unused_imports)]
#[path = "../../src/router/mod.rs"]
pub mod router;

pub mod reference;

/// Reads a fuzz input front to back: a few control bytes, then the payload.
pub struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(bytes: &'a [u8]) -> Input<'a> {
        Input { bytes }
    }

    /// The next byte, 0 once the input is used up.
    pub fn byte(&mut self) -> u8 {
        let Some((&first, rest)) = self.bytes.split_first() else {
            return 0;
        };
        self.bytes = rest;
        first
    }

    /// One of `choices`, picked by the next byte.
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.byte()) % choices.len()]
    }

    pub fn rest(self) -> &'a [u8] {
        self.bytes
    }
}

/// Latin-1 decoding, which is how Starlette turns header bytes into `str`.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}
