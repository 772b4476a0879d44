//! Arbitrary bytes through the WebSocket frame decoder and message assembler. Besides never
//! panicking, how the input is split into reads must not change the outcome.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../src/ws/mod.rs"]
mod ws;

/// Feeds `input` in `step`-byte reads; returns the messages and the error that ended it, if any.
fn read_all(input: &[u8], step: usize, max: usize) -> (Vec<ws::Message>, Option<ws::ProtocolError>) {
    let mut reader = ws::MessageReader::new(max);
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(step.max(1)) {
        pending.extend_from_slice(piece);
        loop {
            match reader.read(&pending) {
                Ok((used, message)) => {
                    assert!(used <= pending.len());
                    pending.drain(..used);
                    match message {
                        Some(m) => out.push(m),
                        None => break,
                    }
                }
                Err(e) => {
                    assert!(matches!(e.close_code(), 1002 | 1007 | 1009));
                    return (out, Some(e));
                }
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the message size limit and the read size.
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let max = [0usize, 125, 4096, 1 << 20][usize::from(control & 3)];
    let step = usize::from(control >> 2) + 1;
    let whole = read_all(input, input.len(), max);
    let split = read_all(input, step, max);
    assert_eq!(whole, split);
});
