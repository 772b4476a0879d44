//! Message layer: reassembling fragmented messages, validating text, parsing close frames.

use super::frame::{Decoder, Frame, OpCode};
use super::ProtocolError;

/// What the peer sent, one whole message or control frame at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// `None` for an empty close payload (reported to applications as 1005).
    Close(Option<(u16, String)>),
}

/// Reassembles frames into messages (§5.4). Control frames may arrive between fragments and
/// are passed through at once.
#[derive(Debug)]
pub struct Assembler {
    max_message: usize,
    /// Opcode (Text or Binary) of the fragmented message in progress.
    partial: Option<OpCode>,
    buffer: Vec<u8>,
    /// Length of the prefix of `buffer` known to be valid UTF-8 and to end on a character
    /// boundary, so each fragment is checked once and an invalid sequence fails fast.
    utf8_valid: usize,
}

impl Assembler {
    pub fn new(max_message: usize) -> Self {
        Assembler { max_message, partial: None, buffer: Vec::new(), utf8_valid: 0 }
    }

    /// Bytes of the fragmented message in progress.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    pub fn in_progress(&self) -> bool {
        self.partial.is_some()
    }

    /// Takes one frame; returns a message when one is complete.
    pub fn push(&mut self, frame: Frame) -> Result<Option<Message>, ProtocolError> {
        let Frame { fin, opcode, payload } = frame;
        match opcode {
            OpCode::Ping => Ok(Some(Message::Ping(payload))),
            OpCode::Pong => Ok(Some(Message::Pong(payload))),
            OpCode::Close => Ok(Some(Message::Close(parse_close(&payload)?))),
            OpCode::Text | OpCode::Binary => {
                if self.partial.is_some() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                if payload.len() > self.max_message {
                    return Err(ProtocolError::TooBig);
                }
                if fin {
                    return finish(opcode, payload).map(Some);
                }
                self.partial = Some(opcode);
                self.buffer = payload;
                self.utf8_valid = 0;
                self.check_partial_utf8(opcode)?;
                Ok(None)
            }
            OpCode::Continuation => {
                let Some(started) = self.partial else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                if self.buffer.len().saturating_add(payload.len()) > self.max_message {
                    return Err(ProtocolError::TooBig);
                }
                self.buffer.extend_from_slice(&payload);
                if fin {
                    self.partial = None;
                    return finish(started, std::mem::take(&mut self.buffer)).map(Some);
                }
                self.check_partial_utf8(started)?;
                Ok(None)
            }
        }
    }

    /// Validates the text received so far, allowing only a truncated character at the end.
    fn check_partial_utf8(&mut self, opcode: OpCode) -> Result<(), ProtocolError> {
        if opcode != OpCode::Text {
            return Ok(());
        }
        match std::str::from_utf8(&self.buffer[self.utf8_valid..]) {
            Ok(_) => self.utf8_valid = self.buffer.len(),
            // `error_len() == None`: the input ends inside a character that may still complete.
            Err(e) if e.error_len().is_none() => self.utf8_valid += e.valid_up_to(),
            Err(_) => return Err(ProtocolError::InvalidUtf8),
        }
        Ok(())
    }
}

fn finish(opcode: OpCode, data: Vec<u8>) -> Result<Message, ProtocolError> {
    if opcode == OpCode::Text {
        String::from_utf8(data).map(Message::Text).map_err(|_| ProtocolError::InvalidUtf8)
    } else {
        Ok(Message::Binary(data))
    }
}

/// Whether a close code may be received on the wire: the codes `websockets` accepts
/// (1000-1003, 1007-1014) and the registered/private ranges 3000-4999. 1004 is reserved and
/// 1005/1006/1015 are for local reporting only.
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Parses a close frame's payload (§5.5.1): empty, or a 2-byte code and a UTF-8 reason.
pub fn parse_close(payload: &[u8]) -> Result<Option<(u16, String)>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::CloseTooShort),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_close_code(code) {
                return Err(ProtocolError::InvalidCloseCode(code));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some((code, reason.to_owned())))
        }
    }
}

/// Decoder and assembler together: reads messages straight from the connection's read buffer,
/// bounding each message (all fragments together) by `max_message` before buffering payload.
#[derive(Debug)]
pub struct MessageReader {
    decoder: Decoder,
    assembler: Assembler,
    max_message: usize,
}

impl MessageReader {
    pub fn new(max_message: usize) -> Self {
        MessageReader { decoder: Decoder::new(max_message), assembler: Assembler::new(max_message), max_message }
    }

    /// Decodes frames from the front of `buf` until a message or control frame is complete.
    /// Returns how many bytes were used (drop them from the buffer: fragments already taken
    /// in are kept by the reader) and the message, or `None` when more bytes are needed.
    /// After an error the connection must be failed with `error.close_code()`.
    pub fn read(&mut self, buf: &[u8]) -> Result<(usize, Option<Message>), ProtocolError> {
        let mut used = 0;
        loop {
            let budget = self.max_message.saturating_sub(self.assembler.buffered());
            let Some((frame, n)) = self.decoder.decode_within(&buf[used..], budget)? else {
                return Ok((used, None));
            };
            used += n;
            if let Some(message) = self.assembler.push(frame)? {
                return Ok((used, Some(message)));
            }
        }
    }

    /// After `read` returned no message: the length the unused rest of the buffer must reach
    /// before the next frame can be decoded.
    pub fn bytes_needed(&self) -> usize {
        self.decoder.bytes_needed()
    }

    /// Whether a fragmented message is partly received.
    pub fn in_progress(&self) -> bool {
        self.assembler.in_progress()
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::tests::client_frame;
    use super::*;

    const MASK: [u8; 4] = [0xA1, 0x0B, 0x77, 0xE4];

    /// Feeds `input` to a reader in pieces of `step` bytes, the way a socket would deliver it,
    /// and returns every message, stopping at the first error.
    fn read_all(input: &[u8], step: usize, max: usize) -> (Vec<Message>, Option<ProtocolError>) {
        let mut reader = MessageReader::new(max);
        let mut pending: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            pending.extend_from_slice(piece);
            loop {
                match reader.read(&pending) {
                    Ok((used, message)) => {
                        pending.drain(..used);
                        match message {
                            Some(m) => out.push(m),
                            None => break,
                        }
                    }
                    Err(e) => return (out, Some(e)),
                }
            }
        }
        (out, None)
    }

    fn msgs(input: &[u8]) -> (Vec<Message>, Option<ProtocolError>) {
        read_all(input, input.len(), 1 << 20)
    }

    fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
        frames.concat()
    }

    #[test]
    fn rfc_fragmented_hello() {
        // RFC 6455 §5.7: "Hel" then "lo" (masked here, as a client must).
        let raw = cat(&[client_frame(0x01, b"Hel", MASK), client_frame(0x80, b"lo", MASK)]);
        assert_eq!(msgs(&raw), (vec![Message::Text("Hello".into())], None));
    }

    #[test]
    fn control_frames_between_fragments() {
        let raw = cat(&[
            client_frame(0x02, b"ab", MASK),
            client_frame(0x89, b"p1", MASK),
            client_frame(0x00, b"cd", MASK),
            client_frame(0x8A, b"", MASK),
            client_frame(0x80, b"ef", MASK),
            client_frame(0x88, &[0x03, 0xE8, b'o', b'k'], MASK),
        ]);
        let expected = vec![
            Message::Ping(b"p1".to_vec()),
            Message::Pong(vec![]),
            Message::Binary(b"abcdef".to_vec()),
            Message::Close(Some((1000, "ok".into()))),
        ];
        assert_eq!(msgs(&raw), (expected, None));
    }

    #[test]
    fn byte_by_byte_gives_the_same_messages() {
        let text = "héllo wörld €𝄞".repeat(20);
        let bytes = text.as_bytes();
        let raw = cat(&[
            client_frame(0x81, b"", MASK),
            client_frame(0x01, &bytes[..7], MASK),
            client_frame(0x89, b"mid", MASK),
            client_frame(0x00, &bytes[7..200], MASK),
            client_frame(0x80, &bytes[200..], MASK),
            client_frame(0x82, &[9u8; 70000], MASK),
            client_frame(0x88, b"", MASK),
        ]);
        let whole = msgs(&raw);
        assert_eq!(whole.1, None);
        assert_eq!(whole.0.len(), 5);
        assert_eq!(whole.0[2], Message::Text(text));
        for step in [1, 2, 3, 7, 13, 1000] {
            assert_eq!(read_all(&raw, step, 1 << 20), whole, "step {step}");
        }
    }

    #[test]
    fn read_returns_used_bytes_of_absorbed_fragments() {
        let first = client_frame(0x01, b"ab", MASK);
        let mut raw = first.clone();
        raw.extend(&client_frame(0x80, b"cd", MASK)[..3]);
        let mut reader = MessageReader::new(100);
        assert_eq!(reader.read(&raw), Ok((first.len(), None)));
        assert!(reader.in_progress());
    }

    #[test]
    fn sequencing_errors() {
        assert_eq!(msgs(&client_frame(0x80, b"x", MASK)).1, Some(ProtocolError::UnexpectedContinuation));
        assert_eq!(msgs(&client_frame(0x00, b"x", MASK)).1, Some(ProtocolError::UnexpectedContinuation));
        let raw = cat(&[client_frame(0x01, b"a", MASK), client_frame(0x81, b"b", MASK)]);
        assert_eq!(msgs(&raw).1, Some(ProtocolError::ExpectedContinuation));
        let raw = cat(&[client_frame(0x02, b"a", MASK), client_frame(0x01, b"b", MASK)]);
        assert_eq!(msgs(&raw).1, Some(ProtocolError::ExpectedContinuation));
        assert_eq!(ProtocolError::ExpectedContinuation.close_code(), 1002);
    }

    #[test]
    fn invalid_utf8() {
        // Unfragmented: checked when the message completes.
        let (_, err) = msgs(&client_frame(0x81, &[b'a', 0xFF], MASK));
        assert_eq!(err, Some(ProtocolError::InvalidUtf8));
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
        // Fragmented: an invalid sequence fails at its fragment, before the message ends.
        let mut reader = MessageReader::new(100);
        assert_eq!(reader.read(&client_frame(0x01, &[0xC0, 0x80], MASK)), Err(ProtocolError::InvalidUtf8));
        // A character split across fragments is fine...
        let euro = "€".as_bytes();
        let raw = cat(&[
            client_frame(0x01, &euro[..1], MASK),
            client_frame(0x00, &euro[1..2], MASK),
            client_frame(0x80, &euro[2..], MASK),
        ]);
        assert_eq!(msgs(&raw), (vec![Message::Text("€".into())], None));
        // ...but not one left unfinished by the final fragment.
        let raw = cat(&[client_frame(0x01, b"a", MASK), client_frame(0x80, &euro[..2], MASK)]);
        assert_eq!(msgs(&raw).1, Some(ProtocolError::InvalidUtf8));
        // Binary messages are not checked.
        assert_eq!(msgs(&client_frame(0x82, &[0xFF], MASK)), (vec![Message::Binary(vec![0xFF])], None));
    }

    #[test]
    fn message_size_limit_across_fragments() {
        let ok = cat(&[client_frame(0x02, &[1; 6], MASK), client_frame(0x80, &[2; 4], MASK)]);
        assert_eq!(read_all(&ok, ok.len(), 10).1, None);
        let raw = cat(&[client_frame(0x02, &[1; 6], MASK), client_frame(0x80, &[2; 5], MASK)]);
        assert_eq!(read_all(&raw, raw.len(), 10).1, Some(ProtocolError::TooBig));
        // The over-budget continuation is refused from its header alone.
        let first = client_frame(0x02, &[1; 6], MASK);
        let mut reader = MessageReader::new(10);
        let mut buf = first.clone();
        buf.extend(&client_frame(0x80, &[2; 5], MASK)[..2]);
        assert_eq!(reader.read(&buf), Err(ProtocolError::TooBig));
        // A single frame over the limit.
        let raw = client_frame(0x81, &[b'a'; 11], MASK);
        assert_eq!(read_all(&raw, 1, 10).1, Some(ProtocolError::TooBig));
        // The assembler enforces the limit on its own too.
        let mut asm = Assembler::new(3);
        let big = Frame { fin: true, opcode: OpCode::Binary, payload: vec![0; 4] };
        assert_eq!(asm.push(big), Err(ProtocolError::TooBig));
    }

    #[test]
    fn close_payloads() {
        assert_eq!(parse_close(&[]), Ok(None));
        assert_eq!(parse_close(&[0x03]), Err(ProtocolError::CloseTooShort));
        assert_eq!(parse_close(&[0x03, 0xE8]), Ok(Some((1000, String::new()))));
        assert_eq!(parse_close(&[0x0F, 0xA0, b'h', b'i']), Ok(Some((4000, "hi".into()))));
        assert_eq!(parse_close(&[0x03, 0xE8, 0xFF]), Err(ProtocolError::InvalidUtf8));
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999] {
            assert_eq!(parse_close(&u16::to_be_bytes(code)), Ok(Some((code, String::new()))), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] {
            assert_eq!(parse_close(&u16::to_be_bytes(code)), Err(ProtocolError::InvalidCloseCode(code)), "{code}");
        }
        // Through the reader, with the matching close codes.
        let (_, err) = msgs(&client_frame(0x88, &[0x03], MASK));
        assert_eq!(err.map(|e| e.close_code()), Some(1002));
        let (_, err) = msgs(&client_frame(0x88, &[0x03, 0xED], MASK));
        assert_eq!(err, Some(ProtocolError::InvalidCloseCode(1005)));
        let (_, err) = msgs(&client_frame(0x88, &[0x03, 0xE8, 0xC3], MASK));
        assert_eq!(err.map(|e| e.close_code()), Some(1007));
    }

    /// Deterministic stand-in for the cargo-fuzz target (which needs nightly): random bytes,
    /// random mutations of valid frames, random split points. Must never panic, and must give
    /// the same result however the input is split.
    #[test]
    fn pseudo_fuzz_never_panics() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = cat(&[
            client_frame(0x01, "€uro".as_bytes(), MASK),
            client_frame(0x89, b"ping", MASK),
            client_frame(0x80, b"!", MASK),
            client_frame(0x82, &[5; 300], MASK),
            client_frame(0x88, &[0x03, 0xE8, b'x'], MASK),
        ]);
        let (mut outcomes, mut messages) = ([0usize; 2], 0);
        for round in 0..20_000 {
            let mut input: Vec<u8> = if round % 2 == 0 {
                let len = (next() % 64) as usize;
                (0..len).map(|_| next() as u8).collect()
            } else {
                let mut v = valid.clone();
                for _ in 0..(next() % 4) {
                    let at = (next() as usize) % v.len();
                    v[at] ^= 1 << (next() % 8);
                }
                v
            };
            // Frames with a MASK bit get past the first check more often.
            if round % 3 == 0 && input.len() > 1 {
                input[1] |= 0x80;
            }
            let step = 1 + (next() % 17) as usize;
            let max = [0, 1, 125, 1 << 16][(next() % 4) as usize];
            let split = read_all(&input, step, max);
            // How the input is split into reads must not change the outcome.
            assert_eq!(split, read_all(&input, input.len(), max), "{input:?} in {step}-byte reads");
            let (got, err) = split;
            outcomes[usize::from(err.is_some())] += 1;
            messages += got.len();
        }
        // Both paths were exercised, and mutated inputs still got past the first frames.
        assert!(outcomes[0] > 1000 && outcomes[1] > 1000 && messages > 10_000, "{outcomes:?} {messages}");
    }
}
