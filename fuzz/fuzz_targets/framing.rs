//! Any bytes, cut into any chunks, through each framing's decoder: it never panics, never holds
//! more than the message limit plus a head, and every message it yields is within the limit.
//! The first byte picks the framing and the limit, the second how the rest is cut.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rpc_core::framing::{Decoder, Frame, Framing, MAX_HEAD_BYTES, encode};

fuzz_target!(|input: &[u8]| {
    let [choice, cut, rest @ ..] = input else {
        return;
    };
    let framing = match choice % 3 {
        0 => Framing::ContentLength,
        1 => Framing::Newline,
        _ => Framing::Ethereum,
    };
    let limit = 16 + usize::from(choice / 3) * 64;
    let step = usize::from(*cut).max(1);
    let mut decoder = Decoder::new(framing, limit);
    let mut broken = false;
    for chunk in rest.chunks(step) {
        decoder.extend(chunk);
        while let Some(frame) = decoder.next_frame() {
            match frame {
                Frame::Message(message) => assert!(message.len() <= limit, "a message over the limit"),
                Frame::TooLarge { limit: said } => assert_eq!(said, limit),
                Frame::Malformed(_) => broken = true,
            }
        }
        assert!(
            decoder.buffered() <= limit + MAX_HEAD_BYTES + step,
            "{} bytes held with a limit of {limit}",
            decoder.buffered()
        );
        if broken {
            assert_eq!(decoder.buffered(), 0, "a broken stream holds nothing");
            return;
        }
    }
    // What the encoder writes, the decoder reads back whole.
    if rest.len() <= limit && !rest.contains(&b'\n') && framing != Framing::Ethereum {
        let mut framed = Vec::new();
        encode(framing, rest, &mut framed);
        let mut decoder = Decoder::new(framing, limit);
        decoder.extend(&framed);
        let whitespace = rest.iter().all(u8::is_ascii_whitespace);
        match decoder.next_frame() {
            Some(Frame::Message(message)) => {
                // A line's `\r\n` ending is a newline too.
                let expected = match framing {
                    Framing::Newline => rest.strip_suffix(b"\r").unwrap_or(rest),
                    _ => rest,
                };
                assert_eq!(message, expected);
            }
            None if framing == Framing::Newline && whitespace => {}
            other => panic!("{framing:?} read back {other:?}"),
        }
    }
});
