//! Any bytes, cut into any chunks, through each framing's decoder (`ContentLength`, `Newline`,
//! `Ethereum`): it never panics, never holds more than the message limit plus a head and a
//! chunk, every message it yields is within the limit, and how the bytes are cut changes
//! nothing up to the first refusal. Then the encoder: the bytes split at `0xFF` into
//! messages, each framed as the framing allows, read back whole and in order, whatever the
//! chunks. The first byte picks the framing and the limit, the second how the rest is cut.

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
    let whole = decode(framing, limit, rest, Chunks::whole());
    let chunked = decode(framing, limit, rest, Chunks::new(*cut));
    // Up to the first frame that is no message, the messages are the same however the bytes
    // came (past it, a refusal may depend on what was held: a value over the limit is
    // refused whole when it came at once, and ends the stream when it came in parts).
    let (w, c) = (messages(&whole), messages(&chunked));
    let n = w.len().min(c.len());
    assert_eq!(w[..n], c[..n], "{framing:?} read differently when cut");
    if w.len() == whole.len() && c.len() == chunked.len() {
        assert_eq!(w, c, "{framing:?} read differently when cut");
    }

    // What the encoder writes, the decoder reads back whole, however it is cut.
    let sent: Vec<&[u8]> = rest
        .split(|&b| b == 0xFF)
        .filter_map(|m| framable(framing, limit, m))
        .collect();
    let mut framed = Vec::new();
    for message in &sent {
        encode(framing, message, &mut framed);
    }
    let read = decode(framing, limit, &framed, Chunks::new(cut.rotate_left(4)));
    let expected: Vec<Frame> = sent
        .iter()
        .map(|m| {
            // A line's `\r\n` ending is a newline too.
            let m = match framing {
                Framing::Newline => m.strip_suffix(b"\r").unwrap_or(m),
                _ => m,
            };
            Frame::Message(m.to_vec())
        })
        .collect();
    assert_eq!(read, expected, "{framing:?} round trip");
});

/// `message` as the framing can carry it whole, or `None`.
fn framable(framing: Framing, limit: usize, message: &[u8]) -> Option<&[u8]> {
    match framing {
        Framing::ContentLength => (message.len() <= limit).then_some(message),
        // A line without a newline in it, and not blank (blank lines are skipped).
        Framing::Newline => (message.len() <= limit
            && !message.contains(&b'\n')
            && !message.iter().all(u8::is_ascii_whitespace))
        .then_some(message),
        // One JSON object or array, without the whitespace around it that the decoder drops.
        Framing::Ethereum => {
            let message = message.trim_ascii();
            (message.len() <= limit
                && matches!(message.first(), Some(b'{' | b'['))
                && serde_json::from_slice::<serde::de::IgnoredAny>(message).is_ok())
            .then_some(message)
        }
        _ => None,
    }
}

/// Every frame of `bytes`, fed to a decoder in `chunks`, checking the decoder's bounds.
fn decode(framing: Framing, limit: usize, bytes: &[u8], mut chunks: Chunks) -> Vec<Frame> {
    let mut decoder = Decoder::new(framing, limit);
    let mut frames = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(chunks.next().min(rest.len()));
        rest = after;
        decoder.extend(chunk);
        while let Some(frame) = decoder.next_frame() {
            match &frame {
                Frame::Message(message) => {
                    assert!(message.len() <= limit, "a message over the limit")
                }
                Frame::TooLarge { limit: said } => assert_eq!(*said, limit),
                Frame::Malformed(_) => {
                    assert_eq!(decoder.buffered(), 0, "a broken stream holds nothing");
                    frames.push(frame);
                    return frames;
                }
            }
            frames.push(frame);
        }
        assert!(
            decoder.buffered() <= limit + MAX_HEAD_BYTES + chunk.len(),
            "{} bytes held with a limit of {limit}",
            decoder.buffered()
        );
    }
    frames
}

/// The messages before the first frame that is no message.
fn messages(frames: &[Frame]) -> Vec<&[u8]> {
    frames
        .iter()
        .map_while(|f| match f {
            Frame::Message(m) => Some(&m[..]),
            _ => None,
        })
        .collect()
}

/// Chunk lengths: all at once, or from 1 byte up to `cut + 1` bytes, varying from chunk to
/// chunk (a xorshift sequence seeded by `cut`; `cut` 0 feeds byte by byte).
struct Chunks {
    max: usize,
    state: u32,
}

impl Chunks {
    fn whole() -> Self {
        Chunks {
            max: usize::MAX,
            state: 0,
        }
    }

    fn new(cut: u8) -> Self {
        Chunks {
            max: usize::from(cut) + 1,
            state: 0x9E37_79B9 ^ u32::from(cut),
        }
    }

    fn next(&mut self) -> usize {
        if self.max == usize::MAX {
            return usize::MAX;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        1 + self.state as usize % self.max
    }
}
