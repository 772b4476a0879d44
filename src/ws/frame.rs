//! Frame layer: an incremental decoder for client frames and an encoder for server frames.

use super::ProtocolError;

/// Largest payload a control frame may carry (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Longest frame header a client can send: 2 bytes, 8 bytes of length, 4 bytes of mask.
pub const MAX_HEADER_LEN: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// One decoded frame; the payload is already unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: OpCode,
    pub payload: Vec<u8>,
}

/// Decodes client frames from the front of a read buffer.
///
/// The decoder keeps no partial state: an incomplete frame is simply left in the buffer and
/// parsed again once more bytes arrived (re-reading a header of at most 14 bytes is cheaper
/// than tracking it). Size limits are checked from the header, before the payload is buffered.
#[derive(Debug)]
pub struct Decoder {
    max_payload: usize,
    needed: usize,
}

impl Decoder {
    /// `max_payload` bounds the payload of one data frame (a larger one fails with 1009).
    pub fn new(max_payload: usize) -> Self {
        Decoder { max_payload, needed: 2 }
    }

    /// After `decode` returned `Ok(None)`: the length the buffer must reach before the next
    /// frame can be decoded (the whole frame once its header is known). Useful to reserve.
    pub fn bytes_needed(&self) -> usize {
        self.needed
    }

    /// Decodes the frame at the start of `buf`. Returns the frame and how many bytes it used
    /// (drop them from the buffer), or `Ok(None)` when `buf` does not hold a whole frame yet.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
        self.decode_within(buf, self.max_payload)
    }

    /// Like `decode`, with a tighter bound for data frames: the assembler passes what is left
    /// of the message budget, so an oversized continuation is refused before it is buffered.
    pub(crate) fn decode_within(
        &mut self,
        buf: &[u8],
        data_limit: usize,
    ) -> Result<Option<(Frame, usize)>, ProtocolError> {
        let &[b0, b1, ..] = buf else {
            self.needed = 2;
            return Ok(None);
        };
        // Checks that need only the first two bytes come first, so garbage fails fast.
        if b0 & 0x70 != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        let opcode = OpCode::from_bits(b0 & 0x0F).ok_or(ProtocolError::UnknownOpcode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControl);
            }
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                return Err(ProtocolError::ControlTooLong);
            }
        }
        if b1 & 0x80 == 0 {
            return Err(ProtocolError::Unmasked);
        }
        let (len, mask_at): (u64, usize) = match len7 {
            126 => {
                let Some(&[hi, lo]) = buf.get(2..4) else {
                    self.needed = 4;
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes([hi, lo])), 4)
            }
            127 => {
                let Some(bytes) = buf.get(2..10) else {
                    self.needed = 10;
                    return Ok(None);
                };
                let mut be = [0u8; 8];
                be.copy_from_slice(bytes);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        // Control payloads are already bounded by 125; only data frames count against the budget.
        if !opcode.is_control() && len > data_limit as u64 {
            return Err(ProtocolError::TooBig);
        }
        let payload_at = mask_at + 4;
        // `len <= data_limit <= usize::MAX`, so the cast is exact; the sum may still overflow.
        let total = payload_at.checked_add(len as usize).ok_or(ProtocolError::TooBig)?;
        if buf.len() < total {
            self.needed = total;
            return Ok(None);
        }
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&buf[mask_at..payload_at]);
        let mut payload = buf[payload_at..total].to_vec();
        unmask(&mut payload, mask);
        self.needed = 2;
        Ok(Some((Frame { fin, opcode, payload }, total)))
    }
}

/// XORs `payload` with the 4-byte `mask` (masking and unmasking are the same operation).
/// Works a u64 at a time: the payload starts at mask offset 0, so each 8-byte chunk sees the
/// mask twice.
pub fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]]);
    let (chunks, rest) = payload.as_chunks_mut::<8>();
    for chunk in chunks {
        *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
    }
    // `rest` starts at a multiple of 8, hence at mask offset 0.
    for (i, b) in rest.iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// Writes a server frame header (unmasked) for a payload of `len` bytes, using the shortest
/// length encoding as §5.2 requires. Lets a caller write a large payload separately.
pub fn encode_header(out: &mut Vec<u8>, opcode: OpCode, fin: bool, len: usize) {
    out.push(if fin { 0x80 } else { 0 } | opcode.bits());
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(len16) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&len16.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// Writes one whole server frame.
pub fn encode_frame(out: &mut Vec<u8>, opcode: OpCode, fin: bool, payload: &[u8]) {
    out.reserve(10 + payload.len());
    encode_header(out, opcode, fin, payload.len());
    out.extend_from_slice(payload);
}

pub fn encode_text(out: &mut Vec<u8>, text: &str) {
    encode_frame(out, OpCode::Text, true, text.as_bytes());
}

pub fn encode_binary(out: &mut Vec<u8>, data: &[u8]) {
    encode_frame(out, OpCode::Binary, true, data);
}

/// A ping; a payload over 125 bytes is truncated, since a longer control frame is invalid.
pub fn encode_ping(out: &mut Vec<u8>, data: &[u8]) {
    encode_frame(out, OpCode::Ping, true, &data[..data.len().min(MAX_CONTROL_PAYLOAD)]);
}

/// A pong (echoing a ping's payload, which is at most 125 bytes); longer data is truncated.
pub fn encode_pong(out: &mut Vec<u8>, data: &[u8]) {
    encode_frame(out, OpCode::Pong, true, &data[..data.len().min(MAX_CONTROL_PAYLOAD)]);
}

/// A close frame: empty for `None`, else the code and the reason, truncated at a character
/// boundary to fit the 125-byte control payload. The code is written as given: the caller
/// must not send 1005/1006/1015, which exist only for reporting.
pub fn encode_close(out: &mut Vec<u8>, close: Option<(u16, &str)>) {
    let Some((code, reason)) = close else {
        encode_frame(out, OpCode::Close, true, &[]);
        return;
    };
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
    payload[..2].copy_from_slice(&code.to_be_bytes());
    payload[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
    encode_frame(out, OpCode::Close, true, &payload[..2 + end]);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a client (masked) frame from a raw first byte; the length encoding is chosen by
    /// the server encoder and the MASK bit and key are spliced in.
    pub(crate) fn client_frame(b0: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(&mut out, OpCode::Continuation, false, payload.len());
        out[0] = b0;
        out[1] |= 0x80;
        out.extend_from_slice(&mask);
        let start = out.len();
        out.extend_from_slice(payload);
        unmask(&mut out[start..], mask);
        out
    }

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn decode_one(bytes: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
        Decoder::new(1 << 20).decode(bytes)
    }

    fn frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Frame {
        Frame { fin, opcode, payload: payload.to_vec() }
    }

    #[test]
    fn rfc_masked_hello() {
        // RFC 6455 §5.7: a single-frame masked text message containing "Hello".
        let raw = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        assert_eq!(decode_one(&raw), Ok(Some((frame(true, OpCode::Text, b"Hello"), 11))));
        assert_eq!(client_frame(0x81, b"Hello", MASK), raw);
    }

    #[test]
    fn rfc_masked_pong() {
        // RFC 6455 §5.7: a masked pong whose body is "Hello".
        let raw = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        assert_eq!(decode_one(&raw), Ok(Some((frame(true, OpCode::Pong, b"Hello"), 11))));
    }

    #[test]
    fn rfc_unmasked_examples_encode_exactly() {
        let mut out = Vec::new();
        encode_text(&mut out, "Hello");
        assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);

        out.clear();
        encode_frame(&mut out, OpCode::Text, false, b"Hel");
        encode_frame(&mut out, OpCode::Continuation, true, b"lo");
        assert_eq!(out, [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);

        out.clear();
        encode_ping(&mut out, b"Hello");
        assert_eq!(out, [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);

        out.clear();
        encode_binary(&mut out, &[7u8; 256]);
        assert_eq!(&out[..4], &[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(out.len(), 4 + 256);

        out.clear();
        encode_binary(&mut out, &vec![7u8; 65536]);
        assert_eq!(&out[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(out.len(), 10 + 65536);
    }

    #[test]
    fn unmasked_client_frame_is_rejected() {
        // The RFC's unmasked "Hello" is valid from a server but not from a client.
        assert_eq!(decode_one(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]), Err(ProtocolError::Unmasked));
        assert_eq!(ProtocolError::Unmasked.close_code(), 1002);
    }

    #[test]
    fn length_encoding_boundaries() {
        for (len, header_len, len7) in [(0, 2, 0), (125, 2, 125), (126, 4, 126), (65535, 4, 126), (65536, 10, 127)] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let mut out = Vec::new();
            encode_binary(&mut out, &payload);
            assert_eq!(out.len(), header_len + len, "server frame of {len}");
            assert_eq!(out[1], len7);

            let raw = client_frame(0x82, &payload, MASK);
            assert_eq!(raw.len(), header_len + 4 + len, "client frame of {len}");
            let (f, used) = decode_one(&raw).unwrap().unwrap();
            assert_eq!((f.payload, used), (payload, raw.len()));
        }
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let raw = client_frame(0x82, &[1u8; 300], MASK);
        let mut d = Decoder::new(1 << 20);
        assert_eq!(d.decode(&raw[..1]), Ok(None));
        assert_eq!(d.bytes_needed(), 2);
        assert_eq!(d.decode(&raw[..3]), Ok(None));
        assert_eq!(d.bytes_needed(), 4);
        assert_eq!(d.decode(&raw[..5]), Ok(None));
        assert_eq!(d.bytes_needed(), raw.len());
        assert_eq!(d.decode(&raw[..raw.len() - 1]), Ok(None));
        let (f, used) = d.decode(&raw).unwrap().unwrap();
        assert_eq!((f.payload.len(), used), (300, raw.len()));
    }

    #[test]
    fn consumes_only_the_first_frame() {
        let mut raw = client_frame(0x89, b"a", MASK);
        let first = raw.len();
        raw.extend(client_frame(0x81, b"b", MASK));
        let (f, used) = decode_one(&raw).unwrap().unwrap();
        assert_eq!((f, used), (frame(true, OpCode::Ping, b"a"), first));
    }

    #[test]
    fn header_errors() {
        assert_eq!(decode_one(&client_frame(0xC1, b"x", MASK)), Err(ProtocolError::ReservedBits));
        assert_eq!(decode_one(&client_frame(0xA1, b"x", MASK)), Err(ProtocolError::ReservedBits));
        assert_eq!(decode_one(&client_frame(0x91, b"x", MASK)), Err(ProtocolError::ReservedBits));
        for op in [3u8, 7, 0xB, 0xF] {
            assert_eq!(decode_one(&client_frame(0x80 | op, b"", MASK)), Err(ProtocolError::UnknownOpcode(op)));
        }
        assert_eq!(decode_one(&client_frame(0x09, b"x", MASK)), Err(ProtocolError::FragmentedControl));
        assert_eq!(decode_one(&client_frame(0x88, &[b'x'; 126], MASK)), Err(ProtocolError::ControlTooLong));
        assert!(decode_one(&client_frame(0x89, &[b'x'; 125], MASK)).unwrap().is_some());
        // Errors that need only two bytes are reported before the rest arrives.
        assert_eq!(decode_one(&[0x8A, 0xFE]), Err(ProtocolError::ControlTooLong));
        assert_eq!(decode_one(&[0x82, 0x7E]), Err(ProtocolError::Unmasked));
    }

    #[test]
    fn sixty_four_bit_length_with_msb_set() {
        let raw = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode_one(&raw), Err(ProtocolError::LengthOverflow));
        // Non-MSB huge length: refused as too big from the header alone.
        let raw = [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(decode_one(&raw), Err(ProtocolError::TooBig));
        // Without a limit it is a legal (if absurd) length: wait for it.
        let mut unlimited = Decoder::new(usize::MAX);
        assert_eq!(unlimited.decode(&raw), Ok(None));
        assert_eq!(unlimited.bytes_needed(), 14 + (u64::MAX >> 1) as usize);
    }

    #[test]
    fn too_big_is_detected_from_the_header() {
        let mut d = Decoder::new(100);
        assert!(d.decode(&client_frame(0x82, &[0u8; 100], MASK)).unwrap().is_some());
        // Only the 4-byte header of a 101-byte frame is offered: refused without the payload.
        let raw = client_frame(0x82, &[0u8; 101], MASK);
        assert_eq!(d.decode(&raw[..4]), Err(ProtocolError::TooBig));
        assert_eq!(ProtocolError::TooBig.close_code(), 1009);
        // Control frames are not subject to the data limit.
        let mut d = Decoder::new(10);
        assert!(d.decode(&client_frame(0x89, &[0u8; 125], MASK)).unwrap().is_some());
    }

    #[test]
    fn unmask_matches_bytewise_for_all_lengths() {
        let mask = [0x01, 0x80, 0xFF, 0x5A];
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut fast = data.clone();
            unmask(&mut fast, mask);
            let slow: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
            assert_eq!(fast, slow, "length {len}");
        }
    }

    #[test]
    fn close_encoding() {
        let mut out = Vec::new();
        encode_close(&mut out, None);
        assert_eq!(out, [0x88, 0x00]);

        out.clear();
        encode_close(&mut out, Some((1000, "bye")));
        assert_eq!(out, [0x88, 0x05, 0x03, 0xE8, b'b', b'y', b'e']);

        // A reason too long for a control frame is cut at a character boundary.
        out.clear();
        let reason = "é".repeat(100);
        encode_close(&mut out, Some((1001, &reason)));
        assert_eq!(out[1] as usize, out.len() - 2);
        assert!(out.len() - 2 <= MAX_CONTROL_PAYLOAD);
        assert_eq!(out.len() - 4, 122);
        assert!(std::str::from_utf8(&out[4..]).is_ok());

        out.clear();
        encode_pong(&mut out, &[1u8; 200]);
        assert_eq!(out[1], 125);
    }
}
