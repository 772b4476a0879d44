//! Arbitrary bytes through the chunked body decoder, fed whole and in reads of a fuzzed size as
//! the connection does. Checked: the split does not change the outcome, the decoded body is never
//! longer than what was consumed nor over the limit, and the outcome matches RFC 9112 §7.1
//! (`fastrapi_fuzz::reference::chunked`) up to the leniencies and limits listed below.
#![no_main]

use fastrapi_fuzz::http::body::{ChunkError, ChunkedDecoder};
use fastrapi_fuzz::reference::chunked::{self, Decoded, Leniency};
use fastrapi_fuzz::Input;
use libfuzzer_sys::fuzz_target;

/// The decoder's longest size or trailer line while it waits for the line's end.
const MAX_LINE: usize = 4096;
/// The decoder's most hex digits in a chunk size, leading zeros included.
const MAX_SIZE_DIGITS: usize = 15;

/// What the decoder accepts beyond the grammar: intentionally, except `control_characters`,
/// finding F2 (fuzz/artifacts-found/README.md); set it to `false` once src/http/body.rs refuses
/// them.
const OURS: Leniency = Leniency {
    whitespace_around_size: true,
    unchecked_extensions: true,
    unchecked_trailers: true,
    control_characters: true,
};

/// Finding F3 (fuzz/artifacts-found/README.md): a size or trailer line of `MAX_LINE` bytes or
/// more is refused when it arrives in pieces, accepted when it arrives whole. Set to `false` once
/// src/http/body.rs applies the limit to complete lines too.
const TOLERATE_F3: bool = true;

#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<(), ChunkError>,
    data: Vec<u8>,
    consumed: usize,
    done: bool,
}

/// Offers `input` `step` bytes at a time, re-offering what was not consumed, as conn.rs does.
fn decode(input: &[u8], step: usize, max_body: usize) -> Outcome {
    let mut decoder = ChunkedDecoder::new(max_body);
    let mut data = Vec::new();
    let mut consumed = 0;
    let mut received = 0;
    loop {
        received = (received + step).min(input.len());
        let offered = &input[consumed..received];
        match decoder.feed(offered, &mut data) {
            Ok(used) => {
                assert!(used <= offered.len());
                consumed += used;
            }
            // The connection answers 400 or 413 and closes: what was decoded no longer matters.
            Err(e) => return Outcome { result: Err(e), data: Vec::new(), consumed: 0, done: false },
        }
        assert!(data.len() <= consumed && data.len() <= max_body);
        if decoder.is_done() || received == input.len() {
            return Outcome { result: Ok(()), data, consumed, done: decoder.is_done() };
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let max_body = input.pick(&[0, 1, 16, 1 << 20]);
    let step = usize::from(input.byte()) + 1;
    let body = input.rest();
    // At most 64 reads: each re-offers the unfinished line, so tiny reads of a long one are slow.
    let step = step.max(body.len() / 64);
    let whole = decode(body, body.len().max(1), max_body);
    let split = decode(body, step, max_body);
    let strict = chunked::decode(body, Leniency::default());
    let lenient = chunked::decode(body, OURS);
    let f3 = TOLERATE_F3 && lenient.longest_line >= MAX_LINE && matches!(split.result, Err(ChunkError::Invalid(_)));
    if !f3 {
        assert_eq!(whole, split, "outcome depends on how the bytes arrive");
    }

    if let Decoded::Complete { .. } = strict.outcome {
        assert_eq!(strict.outcome, lenient.outcome, "the leniencies only widen the grammar");
    }
    let over_limits = lenient.declared > max_body as u128
        || lenient.longest_size > MAX_SIZE_DIGITS
        || lenient.unfinished_line > MAX_LINE;
    match (&whole.result, whole.done, &lenient.outcome) {
        (Ok(()), true, Decoded::Complete { data, consumed }) => {
            assert_eq!((&whole.data, whole.consumed), (data, *consumed));
            assert!(!over_limits);
        }
        (Ok(()), false, Decoded::Incomplete) => assert!(!over_limits),
        (Err(ChunkError::TooLarge), _, _) => assert!(lenient.declared > max_body as u128),
        (Err(ChunkError::Invalid(_)), _, outcome) => {
            assert!(*outcome == Decoded::Invalid || over_limits, "refused, but the reference says {outcome:?}")
        }
        (ours, done, reference) => panic!("decoder: {ours:?} (done: {done}); reference: {reference:?}"),
    }
});
