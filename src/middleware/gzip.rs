//! Response compression, with Starlette's `GZipMiddleware` semantics: complete bodies are
//! compressed whole, streamed bodies chunk by chunk as they are produced.

use std::io::Write;

use pyo3::prelude::*;

use crate::http::response::HeaderList;

pub struct GZip {
    minimum_size: usize,
    level: u32,
    /// Lower-cased media types (`type/*` allowed) never compressed.
    exclude: Vec<String>,
}

impl GZip {
    pub fn from_py(config: &Bound<'_, PyAny>) -> PyResult<GZip> {
        let level: i64 = config.getattr("compresslevel")?.extract()?;
        Ok(GZip {
            minimum_size: config.getattr("minimum_size")?.extract()?,
            level: level.clamp(0, 9) as u32,
            exclude: config.getattr("exclude_content_types")?.extract()?,
        })
    }

    pub fn minimum_size(&self) -> usize {
        self.minimum_size
    }

    pub fn level(&self) -> u32 {
        self.level
    }

    /// For a streamed body (always past `minimum_size` for Starlette, which sees its first
    /// chunk with more to come): sets the headers, and tells whether to compress the stream.
    pub fn apply_streaming(&self, accepts_gzip: bool, status: u16, headers: &mut HeaderList) -> bool {
        if headers.has("content-encoding") || status == 206 || self.excluded(headers) {
            return false;
        }
        headers.append_to("vary", b"Accept-Encoding");
        if !accepts_gzip {
            return false;
        }
        headers.set("content-encoding", b"gzip");
        headers.remove("content-length");
        true
    }

    /// Compresses `body` in place when the client accepts gzip and the response qualifies;
    /// a large response always gets `Vary: Accept-Encoding`.
    pub fn apply(&self, accepts_gzip: bool, status: u16, headers: &mut HeaderList, body: &mut Vec<u8>) {
        if headers.has("content-encoding") || status == 206 || self.excluded(headers) {
            return;
        }
        if body.len() < self.minimum_size {
            return;
        }
        headers.append_to("vary", b"Accept-Encoding");
        if !accepts_gzip {
            return;
        }
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 2), flate2::Compression::new(self.level));
        if encoder.write_all(body).is_err() {
            return;
        }
        let Ok(compressed) = encoder.finish() else {
            return;
        };
        headers.set("content-encoding", b"gzip");
        let mut digits = itoa::Buffer::new();
        headers.set("content-length", digits.format(compressed.len()).as_bytes());
        *body = compressed;
    }

    fn excluded(&self, headers: &HeaderList) -> bool {
        let Some(content_type) = headers.first("content-type") else {
            return false;
        };
        let text = String::from_utf8_lossy(content_type).to_lowercase();
        let media_type = text.split(';').next().unwrap_or("").trim().to_string();
        let wildcard = format!("{}/*", media_type.split('/').next().unwrap_or(""));
        let grpc = media_type.starts_with("application/grpc+");
        self.exclude.iter().any(|e| *e == media_type || *e == wildcard || (grpc && e == "application/grpc"))
    }
}
