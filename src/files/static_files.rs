//! `StaticFiles` mounts served without Python for the common case: a GET/HEAD of a regular file
//! inside the directory. Everything else (directories, `html=True` pages, misses, odd paths,
//! conditional requests Rust can not decide exactly) is declined and answered by the Python
//! implementation, so every answer stays Starlette's.

use std::cell::RefCell;
use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use pyo3::prelude::*;

use crate::http::response::HeaderList;
use crate::http::Head;

pub struct StaticDir {
    /// The directory as `os.path.realpath` gives it.
    root: PathBuf,
    follow_symlink: bool,
}

/// A file found under the directory, with the headers Starlette's `FileResponse` would send.
pub struct Found {
    pub file: File,
    pub size: u64,
    pub headers: HeaderList,
}

pub enum Lookup {
    Found(Found),
    /// The file has not changed since the client's copy: 304 with these headers.
    NotModified(HeaderList),
    /// Python answers.
    Decline,
}

impl StaticDir {
    pub fn new(root: PathBuf, follow_symlink: bool) -> StaticDir {
        StaticDir { root, follow_symlink }
    }

    /// Looks up `route_path` (the decoded rest of the URL path after the mount).
    pub fn lookup(&self, route_path: &str, head: &Head<'_>) -> Lookup {
        let Some(relative) = normalise(route_path) else {
            return Lookup::Decline;
        };
        let joined = self.root.join(relative);
        let full = if self.follow_symlink {
            joined
        } else {
            match std::fs::canonicalize(&joined) {
                Ok(full) if full.starts_with(&self.root) => full,
                _ => return Lookup::Decline,
            }
        };
        let Ok(file) = File::open(&full) else {
            return Lookup::Decline;
        };
        let Ok(meta) = file.metadata() else {
            return Lookup::Decline;
        };
        if !meta.is_file() {
            return Lookup::Decline;
        }
        let Some(headers) = file_headers(&full, &meta) else {
            return Lookup::Decline;
        };
        match not_modified(&headers, head) {
            Some(true) => {
                let kept = headers.0.iter().filter(|(name, _)| name.as_ref() == b"etag").cloned().collect();
                Lookup::NotModified(HeaderList(kept))
            }
            Some(false) => Lookup::Found(Found { file, size: meta.len(), headers }),
            None => Lookup::Decline,
        }
    }
}

/// `os.path.normpath` of the route path made relative; `None` for what Rust leaves to Python
/// (the directory itself, paths climbing out with `..`, backslash-rooted names).
fn normalise(route_path: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = Vec::new();
    for part in route_path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() || parts[0].starts_with('\\') || parts.iter().any(|p| p.contains('\0')) {
        return None;
    }
    Some(parts.iter().collect())
}

/// Content type, `accept-ranges` and the stat headers, in Starlette's order and format.
fn file_headers(path: &Path, meta: &Metadata) -> Option<HeaderList> {
    let (seconds, nanos) = (meta.mtime(), meta.mtime_nsec());
    if seconds < 0 {
        return None;
    }
    // `os.stat().st_mtime` exactly as CPython computes it, and its `repr`.
    let mtime = seconds as f64 + nanos as f64 * 1e-9;
    let mut mtime_text = format!("{mtime}");
    if !mtime_text.contains('.') {
        mtime_text.push_str(".0");
    }
    let etag = Md5::digest(format!("{mtime_text}-{}", meta.len()).as_bytes());
    let etag: String = etag.iter().map(|b| format!("{b:02x}")).collect();
    let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime.floor() as u64);
    let mut headers = HeaderList::default();
    headers.push(&b"content-type"[..], content_type(path)?);
    headers.push(&b"accept-ranges"[..], &b"bytes"[..]);
    headers.push(&b"content-length"[..], meta.len().to_string().into_bytes());
    headers.push(&b"last-modified"[..], httpdate::fmt_http_date(modified).into_bytes());
    headers.push(&b"etag"[..], format!("\"{etag}\"").into_bytes());
    Some(headers)
}

/// Starlette's `StaticFiles.is_not_modified`; `None` when only Python can tell exactly
/// (an `If-Modified-Since` that is not an IMF-fixdate).
fn not_modified(headers: &HeaderList, head: &Head<'_>) -> Option<bool> {
    if let Some(tags) = head.header("if-none-match").filter(|v| !v.is_empty()) {
        let tags = String::from_utf8_lossy(tags);
        if tags.trim() == "*" {
            return Some(true);
        }
        let etag = headers.first("etag").unwrap_or_default();
        return Some(tags.split(',').any(|tag| tag.trim().trim_start_matches("W/").as_bytes() == etag));
    }
    let Some(since) = head.header("if-modified-since") else {
        return Some(false);
    };
    let since = std::str::from_utf8(since).ok()?;
    let imf_fixdate = since.len() == 29 && since.as_bytes()[3] == b',' && since.ends_with(" GMT");
    if !imf_fixdate {
        return None;
    }
    let since = httpdate::parse_http_date(since).ok()?;
    let modified = headers.first("last-modified")?;
    let modified = httpdate::parse_http_date(std::str::from_utf8(modified).ok()?).ok()?;
    Some(since >= modified)
}

thread_local! {
    /// File name → `content-type` value, from Python's `mimetypes` (per worker thread).
    static CONTENT_TYPES: RefCell<ahash::AHashMap<Vec<u8>, Vec<u8>>> = RefCell::new(ahash::AHashMap::new());
}

const CONTENT_TYPE_CACHE_LIMIT: usize = 4096;

/// What `FileResponse` picks: `mimetypes.guess_type(path)[0] or "application/octet-stream"`,
/// with `; charset=utf-8` for text. `mimetypes` only looks at the file name.
fn content_type(path: &Path) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let name = path.file_name()?.as_bytes().to_vec();
    if let Some(known) = CONTENT_TYPES.with(|cache| cache.borrow().get(&name).cloned()) {
        return Some(known);
    }
    let guessed = Python::attach(|py| -> PyResult<Option<String>> {
        let mimetypes = py.import("mimetypes")?;
        mimetypes.call_method1("guess_type", (path,))?.get_item(0)?.extract()
    })
    .ok()?;
    let mut value = guessed.unwrap_or_else(|| "application/octet-stream".to_string());
    if value.starts_with("text/") && !value.to_lowercase().contains("charset=") {
        value.push_str("; charset=utf-8");
    }
    let value = value.into_bytes();
    CONTENT_TYPES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() < CONTENT_TYPE_CACHE_LIMIT {
            cache.insert(name, value.clone());
        }
    });
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_like_normpath() {
        assert_eq!(normalise("a/b/../c.txt"), Some(PathBuf::from("a/c.txt")));
        assert_eq!(normalise("//a/./b"), Some(PathBuf::from("a/b")));
        assert_eq!(normalise("../etc/passwd"), None);
        assert_eq!(normalise("a/../../etc"), None);
        assert_eq!(normalise(""), None);
        assert_eq!(normalise("a/.."), None);
    }
}
