//! How JSON-RPC messages are cut out of a byte stream (a Unix socket, a pipe, stdin and stdout),
//! and written into one: the three framings in use.
//!
//! | [`Framing`] | Used by | A message on the wire |
//! |---|---|---|
//! | [`ContentLength`](Framing::ContentLength) | language servers (LSP), debug adapters | `Content-Length: N\r\n\r\n` then N bytes; other headers are read and ignored |
//! | [`Newline`](Framing::Newline) | tool servers (the Model Context Protocol), JSON Lines | one message per line; blank lines are skipped |
//! | [`Ethereum`](Framing::Ethereum) | Ethereum nodes' IPC (reth, geth), alloy, cast, web3.py | JSON values back to back, with or without whitespace between them; written each followed by `\n`, so that readers of lines and of values both work |
//!
//! [`Decoder`] cuts messages out of the bytes as they arrive, holding at most the message size
//! limit (plus a header) whatever the peer sends:
//!
//! ```
//! use rpc_core::framing::{Decoder, Framing, Frame};
//!
//! let mut decoder = Decoder::new(Framing::ContentLength, 1024);
//! decoder.extend(b"Content-Length: 2\r\n\r\n{}Content-Le");
//! assert_eq!(decoder.next_frame(), Some(Frame::Message(b"{}".to_vec())));
//! assert_eq!(decoder.next_frame(), None); // the rest of the next head has not come yet
//! ```

/// How messages are delimited on a byte stream. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// `Content-Length: N\r\n\r\n` headers, as the Language Server Protocol frames messages.
    ContentLength,
    /// One message per line (`\n`, or `\r\n`), as the Model Context Protocol's stdio transport.
    Newline,
    /// JSON values back to back, each written followed by `\n`: Ethereum IPC.
    Ethereum,
}

impl std::str::FromStr for Framing {
    type Err = String;

    /// A framing by the name a command line gives it: `content-length`, `newline` or
    /// `ethereum`.
    ///
    /// ```
    /// use rpc_core::framing::Framing;
    /// assert_eq!("content-length".parse(), Ok(Framing::ContentLength));
    /// assert!("lines".parse::<Framing>().unwrap_err().contains("newline"));
    /// ```
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "content-length" => Ok(Framing::ContentLength),
            "newline" => Ok(Framing::Newline),
            "ethereum" => Ok(Framing::Ethereum),
            other => Err(format!(
                "unknown framing `{other}`, expected one of: newline, content-length, ethereum"
            )),
        }
    }
}

/// The most bytes of a `Content-Length` message's head (its headers) before the message is
/// refused as malformed.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// What the decoder found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message's bytes (not checked to be JSON: the dispatcher answers a parse error).
    Message(Vec<u8>),
    /// A message over the size limit. Under `ContentLength` it is refused from its head and
    /// its bytes are skipped as they come, never held; under `Newline` the rest of its line is
    /// skipped. Either way the stream goes on with the next message.
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Bytes that cannot be framed: the stream cannot be followed any further, and the
    /// connection should end after saying so.
    Malformed(&'static str),
}

/// Cuts messages out of a byte stream. Feed it with [`extend`](Decoder::extend), then take
/// [`next_frame`](Decoder::next_frame) until `None`.
#[derive(Debug)]
pub struct Decoder {
    framing: Framing,
    limit: usize,
    buf: Vec<u8>,
    /// Where the scan of `buf` resumes (bytes before it are known not to end the message).
    scanned: usize,
    /// Bytes still to drop: the rest of a message refused for its size.
    skip: Skip,
    /// `Ethereum`: the value's nesting and string state at `scanned`.
    value: ValueScan,
    /// Set once the stream is malformed: nothing more is read.
    broken: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    None,
    /// This many more bytes (a `Content-Length` body).
    Bytes(usize),
    /// Up to and with the next newline.
    Line,
}

#[derive(Debug, Default, Clone, Copy)]
struct ValueScan {
    depth: usize,
    in_string: bool,
    escaped: bool,
    started: bool,
}

impl Decoder {
    /// A decoder for `framing`, refusing messages over `limit` bytes.
    pub fn new(framing: Framing, limit: usize) -> Self {
        Decoder {
            framing,
            limit,
            buf: Vec::new(),
            scanned: 0,
            skip: Skip::None,
            value: ValueScan::default(),
            broken: false,
        }
    }

    /// The framing it decodes.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Bytes held: a message (or head) not whole yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether part of a message has arrived and the rest has not.
    pub fn is_partial(&self) -> bool {
        self.buf.iter().any(|b| !b.is_ascii_whitespace()) || self.skip != Skip::None
    }

    /// Takes in bytes read from the stream. Bytes of a message being skipped are dropped here,
    /// so that a refused message is never held.
    pub fn extend(&mut self, mut bytes: &[u8]) {
        if self.broken {
            return;
        }
        if self.buf.is_empty() {
            bytes = self.drop_skipped(bytes);
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Drops the start of `bytes` that belongs to a message being skipped.
    fn drop_skipped<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        match self.skip {
            Skip::None => bytes,
            Skip::Bytes(n) => {
                let dropped = n.min(bytes.len());
                self.skip = if dropped == n {
                    Skip::None
                } else {
                    Skip::Bytes(n - dropped)
                };
                &bytes[dropped..]
            }
            Skip::Line => match bytes.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    self.skip = Skip::None;
                    &bytes[end + 1..]
                }
                None => &[],
            },
        }
    }

    /// The next frame, when the bytes so far hold one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.broken {
            return None;
        }
        if self.skip != Skip::None {
            let held = std::mem::take(&mut self.buf);
            let rest = self.drop_skipped(&held).to_vec();
            self.buf = rest;
            self.scanned = 0;
            if self.skip != Skip::None {
                return None;
            }
        }
        let frame = match self.framing {
            Framing::ContentLength => self.content_length(),
            Framing::Newline => self.line(),
            Framing::Ethereum => self.value(),
        };
        if matches!(frame, Some(Frame::Malformed(_))) {
            self.broken = true;
            self.buf = Vec::new();
        }
        frame
    }

    fn take(&mut self, end: usize, next: usize) -> Vec<u8> {
        let message = self.buf[..end].to_vec();
        self.buf.drain(..next);
        self.scanned = 0;
        message
    }

    fn content_length(&mut self) -> Option<Frame> {
        let head_end = match find(&self.buf, b"\r\n\r\n") {
            Some(end) => end,
            None if self.buf.len() > MAX_HEAD_BYTES => {
                return Some(Frame::Malformed("a message head is longer than 8 KiB"));
            }
            None => return None,
        };
        let head = &self.buf[..head_end];
        let mut length = None;
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Some(Frame::Malformed("a header line without a colon"));
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            if !name.eq_ignore_ascii_case(b"content-length") {
                continue;
            }
            let value = std::str::from_utf8(value).unwrap_or("").trim();
            match value.parse::<u64>() {
                Ok(n) => length = Some(n),
                Err(_) => return Some(Frame::Malformed("a Content-Length that is not a length")),
            }
        }
        let Some(length) = length else {
            return Some(Frame::Malformed("a message head without Content-Length"));
        };
        let body_start = head_end + 4;
        if length > self.limit as u64 {
            // Refused from its head: its bytes are dropped as they come, never held.
            self.buf.drain(..body_start);
            self.skip = Skip::Bytes(usize::try_from(length).unwrap_or(usize::MAX));
            let held = std::mem::take(&mut self.buf);
            self.buf = self.drop_skipped(&held).to_vec();
            self.scanned = 0;
            return Some(Frame::TooLarge { limit: self.limit });
        }
        let length = length as usize;
        if self.buf.len() < body_start + length {
            return None;
        }
        let message = self.buf[body_start..body_start + length].to_vec();
        self.buf.drain(..body_start + length);
        self.scanned = 0;
        Some(Frame::Message(message))
    }

    fn line(&mut self) -> Option<Frame> {
        loop {
            let Some(offset) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                if self.buf.len() > self.limit {
                    self.buf.clear();
                    self.scanned = 0;
                    self.skip = Skip::Line;
                    return Some(Frame::TooLarge { limit: self.limit });
                }
                self.scanned = self.buf.len();
                return None;
            };
            let end = self.scanned + offset;
            let line_end = if end > 0 && self.buf[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            if line_end > self.limit {
                self.take(0, end + 1);
                return Some(Frame::TooLarge { limit: self.limit });
            }
            let message = self.take(line_end, end + 1);
            if message.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Frame::Message(message));
        }
    }

    fn value(&mut self) -> Option<Frame> {
        // Whitespace between values is dropped.
        if !self.value.started {
            let start = self.buf.iter().position(|b| !b.is_ascii_whitespace());
            match start {
                None => {
                    self.buf.clear();
                    self.scanned = 0;
                    return None;
                }
                Some(start) => {
                    self.buf.drain(..start);
                    if !matches!(self.buf[0], b'{' | b'[') {
                        return Some(Frame::Malformed(
                            "expected a JSON object or array between messages",
                        ));
                    }
                    self.value = ValueScan {
                        started: true,
                        ..ValueScan::default()
                    };
                    self.scanned = 0;
                }
            }
        }
        let mut scan = self.value;
        for (i, &b) in self.buf.iter().enumerate().skip(self.scanned) {
            if scan.in_string {
                match (scan.escaped, b) {
                    (true, _) => scan.escaped = false,
                    (false, b'\\') => scan.escaped = true,
                    (false, b'"') => scan.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => scan.in_string = true,
                b'{' | b'[' => scan.depth += 1,
                b'}' | b']' => {
                    scan.depth = scan.depth.saturating_sub(1);
                    if scan.depth == 0 {
                        self.value = ValueScan::default();
                        if i + 1 > self.limit {
                            self.take(0, i + 1);
                            return Some(Frame::TooLarge { limit: self.limit });
                        }
                        return Some(Frame::Message(self.take(i + 1, i + 1)));
                    }
                }
                _ => {}
            }
        }
        self.value = scan;
        self.scanned = self.buf.len();
        if self.buf.len() > self.limit {
            // A value cannot be skipped without reading it whole: the stream ends here.
            return Some(Frame::Malformed("a message is larger than the limit"));
        }
        None
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Writes `message` framed by `framing` into `out`.
pub fn encode(framing: Framing, message: &[u8], out: &mut Vec<u8>) {
    match framing {
        Framing::ContentLength => {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(message.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(message);
        }
        Framing::Newline | Framing::Ethereum => {
            out.extend_from_slice(message);
            out.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(framing: Framing, limit: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut decoder = Decoder::new(framing, limit);
        let mut frames = Vec::new();
        for chunk in chunks {
            decoder.extend(chunk);
            while let Some(frame) = decoder.next_frame() {
                frames.push(frame);
            }
        }
        frames
    }

    fn msg(s: &str) -> Frame {
        Frame::Message(s.as_bytes().to_vec())
    }

    #[test]
    fn content_length_messages_split_anywhere() {
        let stream = b"Content-Length: 2\r\n\r\n{}Content-Type: x\r\ncontent-length:3\r\n\r\n[1]";
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                all(Framing::ContentLength, 64, &[a, b]),
                [msg("{}"), msg("[1]")],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_content_length_over_the_limit_is_refused_and_skipped_unread() {
        let mut decoder = Decoder::new(Framing::ContentLength, 4);
        decoder.extend(b"Content-Length: 1000000\r\n\r\nxxxx");
        assert_eq!(decoder.next_frame(), Some(Frame::TooLarge { limit: 4 }));
        // The rest of the million: 999,996 bytes.
        for _ in 0..999 {
            decoder.extend(&[b'x'; 1000]);
            assert_eq!(decoder.next_frame(), None);
            assert_eq!(decoder.buffered(), 0, "skipped bytes are not held");
        }
        decoder.extend(&[b'x'; 996]);
        decoder.extend(b"Content-Length: 2\r\n\r\n{}");
        assert_eq!(decoder.next_frame(), Some(msg("{}")), "the stream goes on");
    }

    #[test]
    fn bad_heads_end_the_stream() {
        for head in [
            &b"Content-Length: -3\r\n\r\n"[..],
            b"Content-Length: lots\r\n\r\n",
            b"Content-Type: x\r\n\r\n",
            b"no colon\r\n\r\n",
            b"Content-Length: 99999999999999999999999\r\n\r\n",
        ] {
            let frames = all(Framing::ContentLength, 64, &[head]);
            assert!(
                matches!(frames[..], [Frame::Malformed(_)]),
                "{head:?}: {frames:?}"
            );
        }
        let endless = vec![b'a'; MAX_HEAD_BYTES + 1];
        assert!(matches!(
            all(Framing::ContentLength, 64, &[&endless])[..],
            [Frame::Malformed(_)]
        ));
    }

    #[test]
    fn lines_split_anywhere_and_overlong_lines_are_skipped() {
        let stream = b"{\"a\":1}\r\n\n  \n[2]\n";
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                all(Framing::Newline, 64, &[a, b]),
                [msg("{\"a\":1}"), msg("[2]")],
                "cut at {cut}"
            );
        }
        let frames = all(Framing::Newline, 4, &[b"[1,2,3,4,5", b",6]\n[1]\n"]);
        assert_eq!(frames, [Frame::TooLarge { limit: 4 }, msg("[1]")]);
        let frames = all(Framing::Newline, 4, &[b"[1,2,3,4,5,6]\n[1]\n"]);
        assert_eq!(frames, [Frame::TooLarge { limit: 4 }, msg("[1]")]);
    }

    #[test]
    fn values_back_to_back_with_or_without_whitespace() {
        let stream = br#"{"a":"}{\"]"}[1,[2]]  {"b":{}}"#;
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                all(Framing::Ethereum, 64, &[a, b]),
                [msg(r#"{"a":"}{\"]"}"#), msg("[1,[2]]"), msg(r#"{"b":{}}"#)],
                "cut at {cut}"
            );
        }
        assert!(matches!(
            all(Framing::Ethereum, 64, &[b"garbage"])[..],
            [Frame::Malformed(_)]
        ));
        assert!(matches!(
            all(Framing::Ethereum, 8, &[b"[1,2,3,4,5"])[..],
            [Frame::Malformed(_)]
        ));
    }

    #[test]
    fn encode_frames_each_way() {
        let mut out = Vec::new();
        encode(Framing::ContentLength, b"{}", &mut out);
        encode(Framing::Newline, b"[]", &mut out);
        assert_eq!(out, b"Content-Length: 2\r\n\r\n{}[]\n");
    }
}
