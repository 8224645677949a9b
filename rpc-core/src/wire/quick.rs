//! The common request read without serde's visitors: an object (or an array of objects) whose
//! keys and `jsonrpc` and `method` strings have no escapes, the members' other values read raw.
//!
//! Reading a small call's envelope through serde costs about 2,000 instructions, most of them in
//! the visitor's key and string handling; scanning those few bytes directly costs a fraction
//! of it. Anything else (an escape, a member of another kind than expected, a syntax error, an
//! empty or oversize batch) returns `None` and the whole body goes to the full reader
//! ([`super::read`](super::read)), which decides: so the answer to every body is the full reader's, and the
//! worst a crafted body costs is the scan up to where it gives up, once, beside the full read.
//! The raw values (`params`, `id`, members the server does not read) are read by serde_json
//! itself, with the same code as the full reader's, so both accept the same values.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::message::{Envelope, Message, Text, entry, fill};
use super::{Body, Entry};

/// `text` read the quick way, or `None` for the full reader to read.
pub(super) fn body(text: &str, max_batch_len: usize) -> Option<Body<'_>> {
    let mut r = Reader { text, pos: 0 };
    r.skip_whitespace();
    let body = match r.peek()? {
        b'{' => Body::Single(entry(r.message()?)),
        b'[' => Body::Batch(r.batch(max_batch_len)?),
        _ => return None,
    };
    r.skip_whitespace();
    (r.pos == text.len()).then_some(body)
}

/// How many bytes of `bytes` go before the first that ends a plain string's run: a quote, a
/// backslash, a control character. Eight bytes at a time (each byte of the word flagged at
/// once, its high bit set when it is one of those), then one by one.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // A byte below 0x20, one equal to `"`, one equal to `\`. (A flag can be wrong only
        // above a right one: the lowest is exact.)
        let flags = (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
            | zero_in(x ^ (ONES * u64::from(b'"')))
            | zero_in(x ^ (ONES * u64::from(b'\\')));
        if flags != 0 {
            return at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(chunks.remainder().len())
}

/// The members of a request object the quick reader reads.
#[derive(Clone, Copy)]
enum Member {
    Jsonrpc,
    Method,
    Params,
    Id,
    /// Any other: read past.
    Other,
}

/// The four names, quotes included, in the order requests usually give them.
const MEMBERS: [(&[u8], Member); 4] = [
    (b"\"jsonrpc\"", Member::Jsonrpc),
    (b"\"method\"", Member::Method),
    (b"\"params\"", Member::Params),
    (b"\"id\"", Member::Id),
];

struct Reader<'a> {
    text: &'a str,
    /// The next byte to read.
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// The next byte, consumed.
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// Consumes `want`, or fails.
    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// Skips JSON's whitespace (space, tab, line feed, carriage return), as serde_json does.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// A batch's messages, from its `[` to its `]`; `None` when empty (an invalid request the
    /// full reader words) or longer than `max` (refused by the full reader, which counts it
    /// without keeping its calls).
    fn batch(&mut self, max: usize) -> Option<Vec<Entry<'a>>> {
        self.expect(b'[')?;
        // Sized from the body, which the endpoint's body limit bounds, not from a number in it;
        // a request object takes at least 30 bytes.
        let mut entries = Vec::with_capacity((self.text.len() / 30).clamp(1, 128).min(max));
        loop {
            self.skip_whitespace();
            if entries.len() == max {
                return None;
            }
            entries.push(entry(self.message()?));
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                b']' => return Some(entries),
                _ => return None,
            }
        }
    }

    /// One request object, from its `{` to its `}`.
    fn message(&mut self) -> Option<Message<'a>> {
        self.expect(b'{')?;
        let mut envelope = Envelope::default();
        let mut repeated = false;
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(Message::Object(envelope));
        }
        loop {
            self.skip_whitespace();
            let member = self.member()?;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            match member {
                Member::Jsonrpc => {
                    let text = Text::Str(Cow::Borrowed(self.version()?));
                    repeated |= fill(&mut envelope.jsonrpc, text);
                }
                Member::Method => {
                    let text = Text::Str(Cow::Borrowed(self.plain_string()?));
                    repeated |= fill(&mut envelope.method, text);
                }
                Member::Params => repeated |= fill(&mut envelope.params, self.raw()?),
                Member::Id => repeated |= fill(&mut envelope.id, self.raw()?),
                Member::Other => {
                    self.raw()?;
                }
            }
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        Some(if repeated {
            Message::RepeatedMember
        } else {
            Message::Object(envelope)
        })
    }

    /// A member's name, its quotes included: one of a request's four names, matched whole, or
    /// any other plain string.
    fn member(&mut self) -> Option<Member> {
        let rest = &self.text.as_bytes()[self.pos..];
        for (name, member) in MEMBERS {
            if rest.starts_with(name) {
                self.pos += name.len();
                return Some(member);
            }
        }
        self.plain_string().map(|_| Member::Other)
    }

    /// The `jsonrpc` member's string: `"2.0"` matched whole, else any plain string.
    fn version(&mut self) -> Option<&'a str> {
        if self.text.as_bytes()[self.pos..].starts_with(b"\"2.0\"") {
            self.pos += 5;
            return self.text.get(self.pos - 4..self.pos - 1);
        }
        self.plain_string()
    }

    /// A string with no escapes and no control characters (which JSON forbids unescaped),
    /// borrowed from the body.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = start + plain_run(&self.text.as_bytes()[start..]);
        self.pos = end;
        self.expect(b'"')?;
        // Both ends are ASCII quotes, so the slice falls on character boundaries.
        self.text.get(start..end)
    }

    /// Any JSON value, read raw by serde_json (as the full reader reads it).
    fn raw(&mut self) -> Option<&'a RawValue> {
        let rest = self.text.get(self.pos..)?;
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
        let value = values.next()?.ok()?;
        self.pos += values.byte_offset();
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::{body, plain_run};

    #[test]
    fn a_plain_run_ends_at_a_quote_a_backslash_or_a_control_character() {
        for (text, run) in [
            ("", 0),
            ("abc", 3),
            ("abc\"", 3),
            ("abcdefgh\"", 8),
            ("abcdefghijklmnop", 16),
            ("abcdefg\\h", 7),
            ("ab\u{1f}cdefghij", 2),
            ("abcdefghij\tk", 10),
            ("é\u{7f}\u{80}ü\"", 7),
            ("\"abcdefgh", 0),
        ] {
            assert_eq!(plain_run(text.as_bytes()), run, "{text:?}");
        }
        // Every position and every byte value, against the plain definition.
        for len in 0..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let ends = b == b'"' || b == b'\\' || b < 0x20;
                    assert_eq!(plain_run(&bytes), if ends { at } else { len }, "{bytes:?}");
                }
            }
        }
    }
    use crate::wire::quick_read_agrees;

    #[test]
    fn reads_the_common_shapes_as_the_full_reader_does() {
        for text in [
            r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
            " { \"jsonrpc\" : \"2.0\" ,\n\t\"method\" : \"update\" , \"params\" : {\"a\":[1,\"}\"]} }\r\n",
            r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"foo":"boo"},{"jsonrpc":"2.0","method":"n","id":null}]"#,
            r#"[{"jsonrpc":"2.0","method":"a","params":[],"id":1,"id":2}]"#,
            r#"{"jsonrpc":"2.0","method":"été","params":["\u00e9\"]"],"id":-1.5e3,"x":{"y":null}}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":"no","id":true}"#,
            r#"{}"#,
            r#"[{}]"#,
        ] {
            assert!(body(text, 100).is_some(), "{text}");
            assert!(quick_read_agrees(text.as_bytes(), 100), "{text}");
        }
    }

    #[test]
    fn leaves_everything_else_to_the_full_reader() {
        for text in [
            // Escapes, and members of another kind than the quick reader reads.
            r#"{"jsonrpc":"2\u002e0","method":"m","id":1}"#,
            r#"{"json\u0072pc":"2.0","method":"m","id":1}"#,
            r#"{"jsonrpc":"2.0","method":1,"id":1}"#,
            "[1,2]",
            r#"[{"jsonrpc":"2.0","method":"m"},"x"]"#,
            // Empty, oversize (the limit below is 2), and broken bodies.
            "[]",
            r#"[{},{},{}]"#,
            r#"{"jsonrpc":"2.0","method":"m","params":[1,],"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"m","id":01}"#,
            r#"{"jsonrpc":"2.0","method":"m","id":1,}"#,
            r#"{"jsonrpc":"2.0","method":"m","id":1} x"#,
            r#"{"jsonrpc":"2.0","method":"m","id":1"#,
            "{\"jsonrpc\":\"2.0\",\"method\":\"a\tb\"}",
            "\u{a0}{}",
            "",
        ] {
            assert!(body(text, 2).is_none(), "{text}");
            assert!(quick_read_agrees(text.as_bytes(), 2), "{text}");
        }
    }
}
