//! Body framing, both ways: an incremental decoder for chunked request bodies, and the encoder
//! for response bodies sent piece by piece.

use super::response::Framing;

/// Appends one piece of a response body framed as `framing` says (an empty piece writes nothing:
/// in chunked framing it would end the body).
pub fn encode_piece(framing: Framing, data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    if framing == Framing::Chunked {
        let mut size = [0u8; 16];
        let len = hex(data.len(), &mut size);
        out.extend_from_slice(&size[..len]);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(data);
    }
}

/// Appends what ends a body framed as `framing`.
pub fn encode_end(framing: Framing, out: &mut Vec<u8>) {
    if framing == Framing::Chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
}

fn hex(mut n: usize, buf: &mut [u8; 16]) -> usize {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut tmp = [0u8; 16];
    let mut i = 0;
    loop {
        tmp[i] = DIGITS[n & 0xf];
        i += 1;
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    for j in 0..i {
        buf[j] = tmp[i - 1 - j];
    }
    i
}

/// A request body read piece by piece (the ASGI path streams it to the app as it arrives).
#[derive(Debug)]
pub enum BodyReader {
    /// `remaining` bytes of a `Content-Length` body still to come.
    Length {
        remaining: usize,
    },
    Chunked(ChunkedDecoder),
    Done,
}

/// One piece of a request body, and whether more follows it.
pub type BodyPiece = (Vec<u8>, bool);

impl BodyReader {
    pub fn new(framing: super::parse::Framing, max_body: usize) -> BodyReader {
        match framing {
            super::parse::Framing::None => BodyReader::Done,
            super::parse::Framing::Length(n) => BodyReader::Length { remaining: n },
            super::parse::Framing::Chunked => BodyReader::Chunked(ChunkedDecoder::new(max_body)),
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self, BodyReader::Done)
    }

    /// Takes the next piece (at most `max_piece` bytes of body) from the start of `input`.
    /// Returns how many input bytes were used and the piece, if one is complete: `None` means
    /// more input is needed. An empty body gives one empty, last piece.
    pub fn next_piece(&mut self, input: &[u8], max_piece: usize) -> Result<(usize, Option<BodyPiece>), ChunkError> {
        match self {
            BodyReader::Done => Ok((0, None)),
            BodyReader::Length { remaining } => {
                let take = (*remaining).min(input.len()).min(max_piece);
                if take == 0 && *remaining > 0 {
                    return Ok((0, None));
                }
                *remaining -= take;
                let more = *remaining > 0;
                if !more {
                    *self = BodyReader::Done;
                }
                Ok((take, Some((input[..take].to_vec(), more))))
            }
            BodyReader::Chunked(decoder) => {
                let mut piece = Vec::new();
                let mut used = 0;
                while piece.len() < max_piece && !decoder.is_done() {
                    let end = input.len().min(used + max_piece - piece.len() + MAX_LINE);
                    let consumed = decoder.feed(&input[used..end], &mut piece)?;
                    if consumed == 0 {
                        break;
                    }
                    used += consumed;
                }
                if decoder.is_done() {
                    *self = BodyReader::Done;
                    return Ok((used, Some((piece, false))));
                }
                Ok((used, (!piece.is_empty()).then_some((piece, true))))
            }
        }
    }
}

/// Why a chunked body was rejected.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkError {
    Invalid(&'static str),
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex size line (and any chunk extension) up to CRLF.
    Size,
    /// Reading `remaining` bytes of chunk data.
    Data,
    /// Expecting the CRLF that ends a chunk's data.
    DataEnd,
    /// After the last chunk: skipping trailer lines until the empty line.
    Trailer,
    Done,
}

/// Decodes a chunked body fed in pieces; the decoded bytes are appended to `out`.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    remaining: usize,
    max_body: usize,
    decoded: usize,
}

/// Longest size line or trailer line we accept (hex size plus extensions).
const MAX_LINE: usize = 4096;

impl ChunkedDecoder {
    pub fn new(max_body: usize) -> Self {
        ChunkedDecoder { state: State::Size, remaining: 0, max_body, decoded: 0 }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes as much of `input` as possible. Returns how many bytes were consumed;
    /// unconsumed bytes (an incomplete line) must be offered again with more data.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkError> {
        let mut pos = 0;
        while pos < input.len() && self.state != State::Done {
            let rest = &input[pos..];
            match self.state {
                State::Size => {
                    let Some(line) = complete_line(rest)? else {
                        return Ok(pos);
                    };
                    let eol = line.len();
                    let hex_end = line.iter().position(|b| *b == b';').unwrap_or(line.len());
                    let (hex, extensions) = (trim_ows(&line[..hex_end]), &line[hex_end..]);
                    if has_controls(extensions) {
                        return Err(ChunkError::Invalid("control character in a chunk extension"));
                    }
                    if hex.is_empty() || hex.len() > 15 {
                        return Err(ChunkError::Invalid("invalid chunk size"));
                    }
                    let mut size: usize = 0;
                    for b in hex {
                        let digit = (*b as char).to_digit(16).ok_or(ChunkError::Invalid("invalid chunk size"))?;
                        size = size * 16 + digit as usize;
                    }
                    pos += eol + 2;
                    if size == 0 {
                        self.state = State::Trailer;
                    } else {
                        if self.decoded + size > self.max_body {
                            return Err(ChunkError::TooLarge);
                        }
                        self.remaining = size;
                        self.state = State::Data;
                    }
                }
                State::Data => {
                    let take = self.remaining.min(rest.len());
                    out.extend_from_slice(&rest[..take]);
                    self.remaining -= take;
                    self.decoded += take;
                    pos += take;
                    if self.remaining == 0 {
                        self.state = State::DataEnd;
                    }
                }
                State::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(pos);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(ChunkError::Invalid("chunk data not followed by CRLF"));
                    }
                    pos += 2;
                    self.state = State::Size;
                }
                State::Trailer => {
                    let Some(line) = complete_line(rest)? else {
                        return Ok(pos);
                    };
                    if has_controls(line) {
                        return Err(ChunkError::Invalid("control character in a trailer line"));
                    }
                    pos += line.len() + 2;
                    if line.is_empty() {
                        self.state = State::Done;
                    }
                }
                State::Done => {}
            }
        }
        Ok(pos)
    }
}

/// The size or trailer line at the start of `s` without its CRLF; `None` until it is complete.
/// The length limit applies to complete lines too, so the answer never depends on how the bytes
/// were split into reads (a line of `MAX_LINE` bytes is refused once its CR is in).
fn complete_line(s: &[u8]) -> Result<Option<&[u8]>, ChunkError> {
    match s.windows(2).position(|w| w == b"\r\n") {
        Some(eol) if eol < MAX_LINE => Ok(Some(&s[..eol])),
        None if s.len() <= MAX_LINE => Ok(None),
        _ => Err(ChunkError::Invalid("chunk size or trailer line too long")),
    }
}

/// Only spaces and tabs may surround the size (RFC 9112 §7.1 BWS): a bare CR or LF there would
/// end the line early for a front end that splits at LF (the chunk-extension smuggling pattern).
fn trim_ows(v: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ows(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    &v[start..end]
}

/// Control characters other than HTAB (RFC 9110 §5.5 field values; bare CR, LF and NUL among them).
fn has_controls(v: &[u8]) -> bool {
    v.iter().any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
}

#[cfg(test)]
mod tests {
    use crate::http::response::Framing;

    #[test]
    fn reads_bodies_piece_by_piece() {
        use crate::http::parse::Framing as RequestFraming;
        let mut reader = BodyReader::new(RequestFraming::Length(5), 100);
        assert_eq!(reader.next_piece(b"ab", 64), Ok((2, Some((b"ab".to_vec(), true)))));
        assert_eq!(reader.next_piece(b"", 64), Ok((0, None)));
        assert_eq!(reader.next_piece(b"cdeXYZ", 64), Ok((3, Some((b"cde".to_vec(), false)))));
        assert!(reader.is_done());
        let mut chunked = BodyReader::new(RequestFraming::Chunked, 100);
        let wire = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nNEXT";
        assert_eq!(chunked.next_piece(&wire[..6], 64), Ok((6, Some((b"abc".to_vec(), true)))));
        assert_eq!(chunked.next_piece(&wire[6..], 64), Ok((wire.len() - 10, Some((b"de".to_vec(), false)))));
        let mut too_big = BodyReader::new(RequestFraming::Chunked, 2);
        assert_eq!(too_big.next_piece(b"3\r\nabc\r\n", 64), Err(ChunkError::TooLarge));
    }

    #[test]
    fn encodes_pieces() {
        let mut out = Vec::new();
        encode_piece(Framing::Chunked, &[b'x'; 300], &mut out);
        encode_piece(Framing::Chunked, b"", &mut out);
        encode_end(Framing::Chunked, &mut out);
        assert!(out.starts_with(b"12c\r\nxxx") && out.ends_with(b"x\r\n0\r\n\r\n"));
        let mut decoder = ChunkedDecoder::new(1000);
        let mut decoded = Vec::new();
        assert_eq!(decoder.feed(&out, &mut decoded), Ok(out.len()));
        assert!(decoder.is_done() && decoded == vec![b'x'; 300]);
        let mut raw = Vec::new();
        encode_piece(Framing::UntilClose, b"abc", &mut raw);
        encode_end(Framing::UntilClose, &mut raw);
        assert_eq!(raw, b"abc");
    }

    use super::*;

    fn decode_all(pieces: &[&[u8]]) -> Result<(Vec<u8>, bool), ChunkError> {
        let mut d = ChunkedDecoder::new(1 << 20);
        let mut out = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for p in pieces {
            pending.extend_from_slice(p);
            let used = d.feed(&pending, &mut out)?;
            pending.drain(..used);
        }
        Ok((out, d.is_done()))
    }

    #[test]
    fn whole_body() {
        let (out, done) = decode_all(&[b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n"]).unwrap();
        assert_eq!((out.as_slice(), done), (&b"Wikipedia"[..], true));
    }

    #[test]
    fn byte_by_byte() {
        let raw = b"3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n";
        let pieces: Vec<&[u8]> = raw.chunks(1).collect();
        let (out, done) = decode_all(&pieces).unwrap();
        assert_eq!(out, b"abc0123456789abcdef");
        assert!(done);
    }

    #[test]
    fn incomplete_is_not_done() {
        let (out, done) = decode_all(&[b"3\r\nab"]).unwrap();
        assert_eq!((out.as_slice(), done), (&b"ab"[..], false));
    }

    #[test]
    fn control_characters_in_lines_are_refused() {
        // Fuzz finding F2: bare LF/CR/NUL in an extension, LF around the size, LF in a trailer.
        for wire in [
            &b"5;a\nb\r\nhello\r\n0\r\n\r\n"[..],
            b"5;a\rb\r\nhello\r\n0\r\n\r\n",
            b"5;a\0\r\nhello\r\n0\r\n\r\n",
            b"5\n\r\nhello\r\n0\r\n\r\n",
            b"\x0c5\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n0\r\nX: a\nb\r\n\r\n",
        ] {
            assert!(matches!(decode_all(&[wire]), Err(ChunkError::Invalid(_))), "{wire:?}");
        }
        let (out, done) = decode_all(&[b" 5\t;a=\"q\"\r\nhello\r\n0\r\nX: \tb\r\n\r\n"]).unwrap();
        assert_eq!((out.as_slice(), done), (&b"hello"[..], true));
    }

    #[test]
    fn long_lines_are_refused_however_they_arrive() {
        // Fuzz finding F3: the limit held only while a line was incomplete.
        for len in [MAX_LINE - 2, MAX_LINE - 1, MAX_LINE, MAX_LINE + 10] {
            let wire = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(len - 2));
            let whole = decode_all(&[wire.as_bytes()]);
            let split: Vec<&[u8]> = wire.as_bytes().chunks(100).collect();
            assert_eq!(whole, decode_all(&split), "line of {len} bytes");
            assert_eq!(whole.is_ok(), len < MAX_LINE, "line of {len} bytes");
        }
    }

    #[test]
    fn bad_input() {
        assert!(decode_all(&[b"zz\r\n"]).is_err());
        assert!(decode_all(&[b"3\r\nabcX\r\n"]).is_err());
        assert!(decode_all(&[b"fffffffffffffffff\r\n"]).is_err());
        let mut d = ChunkedDecoder::new(4);
        assert_eq!(d.feed(b"5\r\nhello\r\n", &mut Vec::new()), Err(ChunkError::TooLarge));
    }
}
