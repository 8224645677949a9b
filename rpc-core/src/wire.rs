//! The JSON-RPC 2.0 wire format: requests borrowed straight from the body, and responses written
//! straight into one buffer.
//!
//! Nothing here builds a `serde_json::Value`: a request's `params` and `id` stay [`RawValue`]
//! slices of the body, so ids are echoed byte for byte (`"1"` and `1` stay distinct, `1.0` stays
//! `1.0`) and params are deserialized once, directly into the method's argument types.

use std::borrow::Cow;

use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::ErrorObject;

/// One valid request, borrowed from the body it came in.
///
/// ```
/// use rpc_core::wire::{parse_body, Body};
/// let body = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"7"}"#;
/// let Ok(Body::Single(Ok(req))) = parse_body(body) else { panic!() };
/// assert_eq!(req.method, "subtract");
/// assert_eq!(req.params.unwrap().get(), "[42,23]");
/// assert_eq!(req.id.unwrap().get(), r#""7""#);
/// ```
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The method name.
    pub method: Cow<'a, str>,
    /// The params: an array or an object, `None` when absent or `null`.
    pub params: Option<&'a RawValue>,
    /// The id exactly as sent; `None` makes the request a notification.
    pub id: Option<&'a RawValue>,
}

impl Request<'_> {
    /// Whether the request is a notification (it has no `id` member) and gets no response.
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }
}

/// A batch element or single message that is not a valid request: it is answered with
/// `-32600 Invalid Request`, echoing the id when one could be read.
#[derive(Debug, Clone)]
pub struct Invalid<'a> {
    /// The id, when the message had a valid one.
    pub id: Option<&'a RawValue>,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// One message of a body: a request, or the reason it is not one.
pub type Entry<'a> = Result<Request<'a>, Invalid<'a>>;

/// A parsed HTTP body.
#[derive(Debug)]
pub enum Body<'a> {
    /// A single message.
    Single(Entry<'a>),
    /// A non-empty batch.
    Batch(Vec<Entry<'a>>),
}

/// Everything a message may hold, each member read as loosely as it can be so that every check
/// is ours: `jsonrpc` and `method` as strings when they are strings, `params` and `id` left raw.
/// `id: Some("null")` is a call with a null id; `None` means no `id` member: a notification.
#[derive(Default)]
struct Envelope<'a> {
    jsonrpc: Option<Text<'a>>,
    method: Option<Text<'a>>,
    params: Option<&'a RawValue>,
    id: Option<&'a RawValue>,
}

/// A member that should be a string: its value, borrowed from the body when it has no escapes,
/// or only the fact that it is some other JSON value (read past, not kept). Read in one pass,
/// where a raw slice would be scanned again for escapes.
enum Text<'a> {
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

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text::NotAString)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Text<'de>, E> {
        Ok(Text::NotAString)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Text<'de>, E> {
        Ok(Text::NotAString)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Text<'de>, E> {
        Ok(Text::NotAString)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Text<'de>, E> {
        Ok(Text::NotAString)
    }

    fn visit_unit<E>(self) -> Result<Text<'de>, E> {
        Ok(Text::NotAString)
    }
}

/// One message as read in the single pass over the body: any JSON value is accepted here, so
/// that only a syntax error fails the parse and everything else is judged by [`check`].
enum Message<'a> {
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

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Message<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Message::NotAnObject)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Message<'de>, E> {
        Ok(Message::NotAnObject)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Message<'de>, E> {
        Ok(Message::NotAnObject)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Message<'de>, E> {
        Ok(Message::NotAnObject)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Message<'de>, E> {
        Ok(Message::NotAnObject)
    }

    fn visit_str<E>(self, _: &str) -> Result<Message<'de>, E> {
        Ok(Message::NotAnObject)
    }

    fn visit_unit<E>(self) -> Result<Message<'de>, E> {
        Ok(Message::NotAnObject)
    }
}

/// Puts `value` in `slot`; whether the slot held one already (a repeated member).
fn fill<T>(slot: &mut Option<T>, value: T) -> bool {
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

fn entry(message: Message<'_>) -> Entry<'_> {
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

/// Writes the start of a success response; the result follows, then [`finish`].
pub fn start_result(out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","result":"#);
}

/// Writes `value` as a result's JSON. A value JSON cannot hold (a NaN, a map with non-string
/// keys, a failing `Serialize` impl) becomes `-32603 Internal error` for the caller; its reason
/// goes to the server's log with `what` (the method's name), never to the caller.
///
/// ```
/// let mut out = Vec::new();
/// rpc_core::wire::write_json(&mut out, &[1, 2], "lengths").unwrap();
/// assert_eq!(out, b"[1,2]");
/// let e = rpc_core::wire::write_json(&mut Vec::new(), &f64::NAN, "ratio").unwrap_err();
/// assert_eq!(e.code, -32603);
/// ```
pub fn write_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    what: &str,
) -> Result<(), ErrorObject> {
    crate::json::to_writer(out, value).map_err(|e| {
        tracing::error!(method = what, error = %e, "a result does not serialize to JSON; the call is answered -32603");
        ErrorObject::internal_error()
    })
}

/// Closes a response with its id (`null` when there is none).
pub fn finish(out: &mut Vec<u8>, id: Option<&RawValue>) {
    out.extend_from_slice(br#","id":"#);
    out.extend_from_slice(id.map_or("null", |id| id.get()).as_bytes());
    out.push(b'}');
}

/// Writes a whole error response.
///
/// ```
/// use rpc_core::{wire, ErrorObject};
/// let mut out = Vec::new();
/// wire::write_error(&mut out, &ErrorObject::parse_error(), None);
/// assert_eq!(
///     std::str::from_utf8(&out).unwrap(),
///     r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#
/// );
/// ```
pub fn write_error(out: &mut Vec<u8>, error: &ErrorObject, id: Option<&RawValue>) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","error":"#);
    // An error object always serializes: its members are an integer, a string and raw JSON.
    let _ = serde_json::to_writer(&mut *out, error);
    finish(out, id);
}

/// Writes a whole request; `id: None` writes a notification.
///
/// ```
/// let mut out = Vec::new();
/// rpc_core::wire::write_request(&mut out, "subtract", Some(&(42, 23)), Some(1)).unwrap();
/// assert_eq!(
///     std::str::from_utf8(&out).unwrap(),
///     r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#
/// );
/// ```
pub fn write_request<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    method: &str,
    params: Option<&P>,
    id: Option<u64>,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
    serde_json::to_writer(&mut *out, method)?;
    if let Some(params) = params {
        out.extend_from_slice(br#","params":"#);
        serde_json::to_writer(&mut *out, params)?;
    }
    if let Some(id) = id {
        out.extend_from_slice(br#","id":"#);
        // Writing into a `Vec` cannot fail.
        let _ = std::io::Write::write_fmt(out, format_args!("{id}"));
    }
    out.push(b'}');
    Ok(())
}

/// Deserializes a member that may hold `null` into `Some`, so that `"result": null` stays apart
/// from a missing `result`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// A response, borrowed from the body it came in (the client's side of the wire).
///
/// ```
/// use rpc_core::wire::Response;
/// let r = Response::parse(br#"{"jsonrpc":"2.0","result":19,"id":1}"#).unwrap();
/// assert_eq!(r.result.unwrap().get(), "19");
/// assert_eq!(r.id.get(), "1");
/// ```
#[derive(Debug, Deserialize)]
pub struct Response<'a> {
    /// Always `"2.0"`.
    #[serde(borrow)]
    pub jsonrpc: Cow<'a, str>,
    /// The result, on success (a `null` result is `Some("null")`).
    #[serde(borrow, default, deserialize_with = "present")]
    pub result: Option<&'a RawValue>,
    /// The error, on failure.
    #[serde(default)]
    pub error: Option<ErrorObject>,
    /// The id of the request this answers.
    #[serde(borrow)]
    pub id: &'a RawValue,
}

impl<'a> Response<'a> {
    /// Parses and checks one response object.
    pub fn parse(body: &'a [u8]) -> Result<Self, String> {
        let r: Response<'a> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        r.checked()
    }

    /// Parses a batch response: an array of response objects.
    pub fn parse_batch(body: &'a [u8]) -> Result<Vec<Self>, String> {
        let items: Vec<Response<'a>> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        items.into_iter().map(Response::checked).collect()
    }

    fn checked(self) -> Result<Self, String> {
        if self.jsonrpc != "2.0" {
            return Err(format!("`jsonrpc` is {:?}, not \"2.0\"", self.jsonrpc));
        }
        match (self.result, &self.error) {
            (Some(_), None) | (None, Some(_)) => Ok(self),
            // Servers written for JSON-RPC 1.0 send `"result": null` beside an error.
            (Some(r), Some(_)) if r.get() == "null" => Ok(Response {
                result: None,
                ..self
            }),
            (Some(_), Some(_)) => Err("a response holds both `result` and `error`".into()),
            (None, None) => Err("a response holds neither `result` nor `error`".into()),
        }
    }

    /// The id as a number, when the client sent a number.
    pub fn numeric_id(&self) -> Option<u64> {
        self.id.get().parse().ok()
    }
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

    /// Mutated requests, valid or not, are parsed or refused: never a panic, and a request that
    /// parses has the shape the rest of the server relies on.
    #[test]
    fn mutated_bodies_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
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
    }
}
