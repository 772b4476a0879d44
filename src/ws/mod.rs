//! WebSocket protocol codec (RFC 6455): the opening handshake, frame decoding and encoding,
//! and message assembly. Pure code over byte slices — no I/O, no Python — so it can be unit
//! tested and fuzzed on its own. The connection code owns the socket and the buffers.
//!
//! This module must not refer to anything else in the crate: the fuzz target in `fuzz/`
//! compiles these files on their own (with `#[path]`), without pyo3 or monoio.

pub mod frame;
pub mod handshake;
pub mod message;

pub use frame::{encode_binary, encode_close, encode_frame, encode_ping, encode_pong, encode_text};
pub use frame::{Decoder, Frame, OpCode};
pub use handshake::{is_upgrade_request, validate, write_response_head, Handshake, HandshakeError};
pub use message::{parse_close, Assembler, Message, MessageReader};

/// Why a peer's frames were rejected. Each maps to the close code we fail the connection with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// A client frame without the MASK bit (§5.1: the server must close the connection).
    Unmasked,
    /// RSV1-3 set while no extension was negotiated.
    ReservedBits,
    /// An opcode RFC 6455 does not define (the low four bits of the first byte).
    UnknownOpcode(u8),
    /// A close/ping/pong frame without FIN.
    FragmentedControl,
    /// A close/ping/pong frame with a payload over 125 bytes.
    ControlTooLong,
    /// A 64-bit payload length with the most significant bit set.
    LengthOverflow,
    /// A continuation frame with no fragmented message in progress.
    UnexpectedContinuation,
    /// A new text/binary frame while a fragmented message is still in progress.
    ExpectedContinuation,
    /// A close payload of exactly one byte.
    CloseTooShort,
    /// A close code that may not appear on the wire (e.g. 1005, 1006, 1015, 0-999).
    InvalidCloseCode(u16),
    /// A text message or close reason that is not UTF-8.
    InvalidUtf8,
    /// A frame or message over the configured maximum size.
    TooBig,
}

/// Close codes we send (RFC 6455 §7.4.1).
pub mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const INVALID_DATA: u16 = 1007;
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
    pub const SERVICE_RESTART: u16 = 1012;
}

impl ProtocolError {
    /// The close code to fail the connection with.
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8 => close_code::INVALID_DATA,
            ProtocolError::TooBig => close_code::MESSAGE_TOO_BIG,
            _ => close_code::PROTOCOL_ERROR,
        }
    }

    /// A short reason for the close frame (well under the 123 bytes a close reason may use).
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::Unmasked => "incorrect masking",
            ProtocolError::ReservedBits => "reserved bits must be 0",
            ProtocolError::UnknownOpcode(_) => "invalid opcode",
            ProtocolError::FragmentedControl => "fragmented control frame",
            ProtocolError::ControlTooLong => "control frame too long",
            ProtocolError::LengthOverflow => "invalid payload length",
            ProtocolError::UnexpectedContinuation => "unexpected continuation frame",
            ProtocolError::ExpectedContinuation => "expected a continuation frame",
            ProtocolError::CloseTooShort => "close frame too short",
            ProtocolError::InvalidCloseCode(_) => "invalid close code",
            ProtocolError::InvalidUtf8 => "invalid UTF-8",
            ProtocolError::TooBig => "message too big",
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::UnknownOpcode(op) => write!(f, "invalid opcode {op:#x}"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            other => f.write_str(other.reason()),
        }
    }
}

impl std::error::Error for ProtocolError {}
