//! The full reader of a request body: every message through serde's visitors in one pass over
//! it, each member as loosely as it can be read, so that every check is ours.

use std::borrow::Cow;

use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer};

use super::Body;
use super::message::{Envelope, Message, Text, entry, fill};
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

/// [`parse_body_limited`](super::parse_body_limited) through serde's visitors, for every body
/// the quick reader leaves.
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
