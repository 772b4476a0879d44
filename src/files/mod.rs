//! Files sent from disk: `FileResponse` bodies, `StaticFiles` mounts and `Range` requests.
//!
//! Small files are read whole (so middleware such as GZip sees a complete body, as with
//! Starlette, whose `FileResponse` sends a file under one chunk in a single message); larger
//! files and ranges are read one chunk at a time as the socket accepts them.

pub mod range;
pub mod static_files;

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::http::response::HeaderList;
use range::{parse_range, Multipart, RangeError};

/// Starlette's `FileResponse.chunk_size`: files smaller than this go out as one body.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// The body of a file response still to be sent, in order.
pub struct FileBody {
    file: File,
    pieces: VecDeque<Piece>,
}

enum Piece {
    Bytes(Vec<u8>),
    Range { offset: u64, end: u64 },
}

impl FileBody {
    /// All `size` bytes of `file`, from the start.
    pub fn whole(file: File, size: u64) -> FileBody {
        FileBody { file, pieces: VecDeque::from([Piece::Range { offset: 0, end: size }]) }
    }

    /// The next chunk (at most [`CHUNK_SIZE`] bytes of the file), `None` at the end.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            match self.pieces.front_mut() {
                None => return Ok(None),
                Some(Piece::Bytes(bytes)) => {
                    let bytes = std::mem::take(bytes);
                    self.pieces.pop_front();
                    return Ok(Some(bytes));
                }
                Some(Piece::Range { offset, end }) if *offset >= *end => {
                    self.pieces.pop_front();
                }
                Some(Piece::Range { offset, end }) => {
                    let want = (*end - *offset).min(CHUNK_SIZE as u64) as usize;
                    let mut chunk = vec![0u8; want];
                    let read = self.file.read_at(&mut chunk, *offset)?;
                    if read == 0 {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the file is shorter than its announced length",
                        ));
                    }
                    chunk.truncate(read);
                    *offset += read as u64;
                    return Ok(Some(chunk));
                }
            }
        }
    }
}

/// What the request says about ranges (only looked at for GET and HEAD).
#[derive(Default, Clone)]
pub struct RangeRequest {
    pub range: Option<Vec<u8>>,
    pub if_range: Option<Vec<u8>>,
}

impl RangeRequest {
    /// The `Range` and `If-Range` of a GET or HEAD request that has a `Range`.
    pub fn of(head: &crate::http::Head<'_>) -> Option<RangeRequest> {
        use crate::http::Method;
        if !matches!(head.method, Method::Get | Method::Head) {
            return None;
        }
        let range = head.header("range")?;
        Some(RangeRequest { range: Some(range.to_vec()), if_range: head.header("if-range").map(<[u8]>::to_vec) })
    }
}

pub enum FileAnswer {
    /// A short plain-text answer instead of the file (400 malformed range, 416).
    Refused {
        status: u16,
        headers: Vec<(&'static [u8], Vec<u8>)>,
        body: &'static str,
    },
    /// Headers are final; `body` is `None` for HEAD.
    Whole {
        status: u16,
        headers: HeaderList,
        body: Option<Vec<u8>>,
    },
    Stream {
        status: u16,
        headers: HeaderList,
        body: FileBody,
    },
}

/// Decides how to answer with `file` (`size` bytes) for a response of `status` with
/// `headers`, honouring `Range`/`If-Range` as Starlette's `FileResponse` does.
pub fn answer(
    file: File,
    size: u64,
    status: u16,
    mut headers: HeaderList,
    request: Option<&RangeRequest>,
    head_only: bool,
) -> std::io::Result<FileAnswer> {
    let range = request.filter(|_| status == 200).and_then(|r| {
        let range = r.range.as_deref()?;
        let honoured = match r.if_range.as_deref() {
            None => true,
            Some(tag) if tag.starts_with(b"W/") => false,
            Some(tag) => [headers.first("last-modified"), headers.first("etag")].contains(&Some(tag)),
        };
        honoured.then_some(range)
    });
    let ranges = match range.map(|r| parse_range(&latin1(r), size)) {
        None => Vec::new(),
        Some(Ok(ranges)) => ranges,
        Some(Err(RangeError::Malformed(text))) => {
            return Ok(FileAnswer::Refused { status: 400, headers: Vec::new(), body: text });
        }
        Some(Err(RangeError::Unsatisfiable)) => {
            let content_range = format!("bytes */{size}").into_bytes();
            return Ok(FileAnswer::Refused { status: 416, headers: vec![(b"content-range", content_range)], body: "" });
        }
    };
    let mut digits = itoa::Buffer::new();
    match ranges.as_slice() {
        [] => {
            if head_only {
                return Ok(FileAnswer::Whole { status, headers, body: None });
            }
            if size < CHUNK_SIZE as u64 {
                let mut body = vec![0u8; size as usize];
                let read = read_fully(&file, &mut body)?;
                body.truncate(read);
                return Ok(FileAnswer::Whole { status, headers, body: Some(body) });
            }
            let pieces = VecDeque::from([Piece::Range { offset: 0, end: size }]);
            Ok(FileAnswer::Stream { status, headers, body: FileBody { file, pieces } })
        }
        &[(start, end)] => {
            headers.set("content-range", format!("bytes {}-{}/{}", start, end - 1, size).as_bytes());
            headers.set("content-length", digits.format(end - start).as_bytes());
            let pieces =
                if head_only { VecDeque::new() } else { VecDeque::from([Piece::Range { offset: start, end }]) };
            Ok(FileAnswer::Stream { status: 206, headers, body: FileBody { file, pieces } })
        }
        ranges => {
            let content_type = headers.first("content-type").unwrap_or_default().to_vec();
            let multipart = Multipart::new(&content_type, size);
            headers.set("content-type", multipart.content_type().as_bytes());
            headers.set("content-length", digits.format(multipart.content_length(ranges)).as_bytes());
            let mut pieces = VecDeque::new();
            if !head_only {
                for &(start, end) in ranges {
                    pieces.push_back(Piece::Bytes(multipart.part_head(start, end)));
                    pieces.push_back(Piece::Range { offset: start, end });
                    pieces.push_back(Piece::Bytes(b"\r\n".to_vec()));
                }
                pieces.push_back(Piece::Bytes(multipart.closing()));
            }
            Ok(FileAnswer::Stream { status: 206, headers, body: FileBody { file, pieces } })
        }
    }
}

fn read_fully(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}
