//! Reading a request body: every message in one pass over it, each member as loosely as it can
//! be read, and every check ours.

use std::borrow::Cow;

use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{Body, Entry, Invalid, Request};
use crate::ErrorObject;

/// The `visit_*` methods of a visitor for the JSON kinds it reads past, each answering `$value`:
/// an array (its elements skipped), a boolean, a number, `null`.
macro_rules! other_kinds {
    ($de:lifetime, $value:expr) => {
        fn visit_seq<A: de::SeqAccess<$de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($value)
        }

        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// Everything a message may hold, each member read as loosely as it can be so that every check
/// is ours: `jsonrpc` and `method` as strings when they are strings, `params` and `id` left raw.
/// `id: Some("null")` is a call with a null id; `None` means no `id` member: a notification.
#[derive(Default)]
pub(super) struct Envelope<'a> {
    pub(super) jsonrpc: Option<Text<'a>>,
    pub(super) method: Option<Text<'a>>,
    pub(super) params: Option<&'a RawValue>,
    pub(super) id: Option<&'a RawValue>,
}

/// A member that should be a string: its value, borrowed from the body when it has no escapes,
/// or only the fact that it is some other JSON value (read past, not kept). Read in one pass,
/// where a raw slice would be scanned again for escapes.
pub(super) enum Text<'a> {
    Str(Cow<'a, str>),
    NotAString,
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> de::Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Owned(v)))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Text<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text::NotAString)
    }

    other_kinds!('de, Text::NotAString);
}

/// One message as read in the single pass over the body: any JSON value is accepted here, so
/// that only a syntax error fails the parse and everything else is judged by [`check`].
pub(super) enum Message<'a> {
    Object(Envelope<'a>),
    NotAnObject,
    RepeatedMember,
}

impl<'de> Deserialize<'de> for Message<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MessageVisitor)
    }
}

struct MessageVisitor;

impl<'de> de::Visitor<'de> for MessageVisitor {
    type Value = Message<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Message<'de>, A::Error> {
        let mut envelope = Envelope::default();
        let mut repeated = false;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "jsonrpc" => repeated |= fill(&mut envelope.jsonrpc, map.next_value()?),
                "method" => repeated |= fill(&mut envelope.method, map.next_value()?),
                "params" => repeated |= fill(&mut envelope.params, map.next_value()?),
                "id" => repeated |= fill(&mut envelope.id, map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(if repeated {
            Message::RepeatedMember
        } else {
            Message::Object(envelope)
        })
    }

    fn visit_str<E>(self, _: &str) -> Result<Message<'de>, E> {
        Ok(Message::NotAnObject)
    }

    other_kinds!('de, Message::NotAnObject);
}

/// Puts `value` in `slot`; whether the slot held one already (a repeated member).
pub(super) fn fill<T>(slot: &mut Option<T>, value: T) -> bool {
    slot.replace(value).is_some()
}

/// A JSON object key, borrowed from the input when it has no escapes. (serde's own `Cow<str>`
/// always allocates.)
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Parses an HTTP body into requests, in one pass over it.
///
/// A body that is not JSON at all is a parse error, and so is an empty one; an empty array is an
/// invalid request; both are answered by a single error object with `id: null`.
///
/// ```
/// use rpc_core::wire::parse_body;
/// assert_eq!(parse_body(b"[").unwrap_err().code, -32700);
/// assert_eq!(parse_body(b"[]").unwrap_err().code, -32600);
/// ```
pub fn parse_body(body: &[u8]) -> Result<Body<'_>, ErrorObject> {
    parse_body_limited(body, usize::MAX)
}

/// [`parse_body`], refusing a batch of more than `max_batch_len` calls with one
/// `-32600 Invalid Request` while it is read: the calls past the limit are only scanned for
/// syntax, never kept, so an oversize batch costs no more memory than the limit.
///
/// ```
/// use rpc_core::wire::{parse_body_limited, Body};
/// let call = r#"{"jsonrpc":"2.0","method":"m","id":1}"#;
/// let two = format!("[{call},{call}]");
/// assert!(matches!(parse_body_limited(two.as_bytes(), 2), Ok(Body::Batch(b)) if b.len() == 2));
/// let e = parse_body_limited(two.as_bytes(), 1).unwrap_err();
/// assert_eq!(e.code, -32600);
/// assert_eq!(e.data.unwrap().get(), r#""a batch holds at most 1 calls, this one 2""#);
/// ```
pub fn parse_body_limited(body: &[u8], max_batch_len: usize) -> Result<Body<'_>, ErrorObject> {
    // One UTF-8 check of the whole body, rather than one per raw value.
    let text = std::str::from_utf8(body).map_err(|_| ErrorObject::parse_error())?;
    match super::quick::body(text, max_batch_len) {
        Some(body) => Ok(body),
        None => full(text, max_batch_len),
    }
}

/// Whether the quick reader, where it reads `body` at all, reads it as the full reader does:
/// for the fuzz targets, which check it on every input.
#[doc(hidden)]
pub fn quick_read_agrees(body: &[u8], max_batch_len: usize) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return true;
    };
    super::quick::body(text, max_batch_len).is_none_or(|quick| {
        format!("{:?}", Ok::<_, ErrorObject>(quick)) == format!("{:?}", full(text, max_batch_len))
    })
}

/// [`parse_body_limited`] through serde's visitors, for every body the quick reader leaves.
pub(super) fn full(text: &str, max_batch_len: usize) -> Result<Body<'_>, ErrorObject> {
    if text.trim_start().starts_with('[') {
        let mut de = serde_json::Deserializer::from_str(text);
        let batch = de::Deserializer::deserialize_seq(&mut de, BatchVisitor { max_batch_len })
            .and_then(|batch| de.end().map(|()| batch))
            .map_err(|_| ErrorObject::parse_error())?;
        return match batch {
            Batch::Within(messages) if messages.is_empty() => {
                Err(ErrorObject::invalid_request("empty batch"))
            }
            Batch::Within(messages) => Ok(Body::Batch(messages.into_iter().map(entry).collect())),
            Batch::Over(len) => {
                let reason = format!("a batch holds at most {max_batch_len} calls, this one {len}");
                Err(
                    ErrorObject::new(crate::ErrorCode::INVALID_REQUEST, "Invalid Request")
                        .with_data(&reason),
                )
            }
        };
    }
    let message: Message<'_> =
        serde_json::from_str(text).map_err(|_| ErrorObject::parse_error())?;
    Ok(Body::Single(entry(message)))
}

/// A batch as read: its messages, or only how many there were when over the limit.
enum Batch<'a> {
    Within(Vec<Message<'a>>),
    Over(usize),
}

struct BatchVisitor {
    max_batch_len: usize,
}

impl<'de> de::Visitor<'de> for BatchVisitor {
    type Value = Batch<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Batch<'de>, A::Error> {
        // A hint from the input itself must not size the buffer: it is the attacker's number.
        let mut messages = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while messages.len() < self.max_batch_len {
            match seq.next_element()? {
                Some(message) => messages.push(message),
                None => return Ok(Batch::Within(messages)),
            }
        }
        if seq.next_element::<IgnoredAny>()?.is_none() {
            return Ok(Batch::Within(messages));
        }
        drop(messages);
        let mut len = self.max_batch_len + 1;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            len += 1;
        }
        Ok(Batch::Over(len))
    }
}

pub(super) fn entry(message: Message<'_>) -> Entry<'_> {
    match message {
        Message::Object(envelope) => check(envelope),
        Message::NotAnObject => Err(Invalid {
            id: None,
            reason: "a request must be an object",
        }),
        Message::RepeatedMember => Err(Invalid {
            id: None,
            reason: "a request object must not repeat a member",
        }),
    }
}

fn check(envelope: Envelope<'_>) -> Entry<'_> {
    let id = match envelope.id {
        Some(raw) if is_valid_id(raw) => Some(raw),
        Some(_) => {
            return Err(Invalid {
                id: None,
                reason: "`id` must be a string, a number or null",
            });
        }
        None => None,
    };
    let invalid = |reason| Err(Invalid { id, reason });
    match envelope.jsonrpc {
        Some(Text::Str(v)) if v == "2.0" => {}
        _ => return invalid("`jsonrpc` must be exactly \"2.0\""),
    }
    let Some(Text::Str(method)) = envelope.method else {
        return invalid("`method` must be a string");
    };
    let params = match envelope.params {
        Some(p) if p.get().starts_with(['[', '{']) => Some(p),
        Some(p) if p.get() == "null" => None,
        None => None,
        Some(_) => return invalid("`params` must be an array or an object"),
    };
    Ok(Request { method, params, id })
}

fn is_valid_id(raw: &RawValue) -> bool {
    matches!(raw.get().as_bytes()[0], b'"' | b'-' | b'0'..=b'9' | b'n')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so the mutations repeat run to run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const SEEDS: &[&str] = &[
        r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
        r#"{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":"x"}"#,
        r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"foo":"boo"},{"jsonrpc":"2.0","method":"n"}]"#,
        r#"{"jsonrpc":"2\u002e0","method":"a\"b","id":null,"extra":[{"x":1}]}"#,
        "[1,2,3]",
    ];
    const ALPHABET: &[u8] = br#"{}[]":,\0123456789.-+eEtrufalsn u"#;

    /// Mutated requests, valid or not, are parsed or refused: never a panic, a request that
    /// parses has the shape the rest of the server relies on, and the quick reader reads each
    /// body it takes as the full reader does.
    #[test]
    fn mutated_bodies_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut quick = 0;
        for round in 0..20_000 {
            let mut body = SEEDS[round % SEEDS.len()].as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(body.len() + 1);
                match rng.below(3) {
                    0 if at < body.len() => {
                        body.remove(at);
                    }
                    1 => body.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
                    _ if at < body.len() => body[at] = rng.next() as u8,
                    _ => {}
                }
            }
            assert!(
                quick_read_agrees(&body, 3),
                "{}",
                String::from_utf8_lossy(&body)
            );
            quick += std::str::from_utf8(&body)
                .ok()
                .and_then(|text| super::super::quick::body(text, 3))
                .is_some() as usize;
            let entries = match parse_body(&body) {
                Err(e) => {
                    assert!(e.code == -32700 || e.code == -32600, "{e}");
                    continue;
                }
                Ok(Body::Single(entry)) => vec![entry],
                Ok(Body::Batch(entries)) => entries,
            };
            for request in entries.into_iter().flatten() {
                assert!(
                    request
                        .params
                        .is_none_or(|p| p.get().starts_with(['[', '{']))
                );
                if let Some(id) = request.id {
                    assert!(is_valid_id(id), "{}", id.get());
                }
            }
        }
        // Most mutations break a body, or leave it to the full reader; some keep it quick.
        assert!(quick > 1_000, "{quick} bodies read the quick way");
    }
}
