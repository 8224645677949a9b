//! Reading params with serde: a visitor for a method's whole params (an array or an object),
//! one param at a time with its name in any error, a left-out param as `None`, and the errors
//! for params beyond, unknown to or repeated in the signature.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess};

use super::{FromParams, Signature};

/// The whole params as the one element of a sequence, for a `params = "object"` signature.
pub(super) struct Whole<'a, R>(pub(super) Option<&'a mut serde_json::Deserializer<R>>);

impl<'de, R: serde_json::de::Read<'de>> SeqAccess<'de> for Whole<'_, R> {
    type Error = serde_json::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, serde_json::Error> {
        match self.0.take() {
            Some(de) => seed.deserialize(de).map(Some),
            None => Ok(None),
        }
    }
}

/// serde_json's message without its " at line 1 column 9" tail: positions inside the params
/// tell a caller little, and the message already names the param.
pub(super) fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let tail = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&tail) {
        Some(head) => head.to_owned(),
        None => text,
    }
}

/// Reads params by position (a sequence) or by name (a map) into `T`.
pub(super) struct ParamsVisitor<'s, T> {
    pub(super) sig: &'s Signature,
    pub(super) marker: PhantomData<T>,
}

impl<'de, T: FromParams> de::Visitor<'de> for ParamsVisitor<'_, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "params {}", self.sig.expected())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::visit_seq(seq, self.sig)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::visit_map(map, self.sig)
    }
}

/// Deserializes one param, naming it in any error.
pub(super) struct Param<'s, T> {
    name: &'s str,
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Param<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(d).map_err(|e| de::Error::custom(format_args!("param `{}`: {e}", self.name)))
    }
}

pub(super) fn param<T>(name: &str) -> Param<'_, T> {
    Param {
        name,
        marker: PhantomData,
    }
}

/// The value of a param that was left out: `None` for an `Option`, an error for anything else.
pub(super) fn missing<T: DeserializeOwned, E: de::Error>(name: &str) -> Result<T, E> {
    T::deserialize(Missing).map_err(|_| E::custom(format_args!("missing param `{name}`")))
}

/// A deserializer for an absent value: it offers `None` and `()`, and nothing else.
struct Missing;

#[derive(Debug)]
struct MissingError;

impl fmt::Display for MissingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("missing")
    }
}

impl std::error::Error for MissingError {}

impl de::Error for MissingError {
    fn custom<T: fmt::Display>(_: T) -> Self {
        MissingError
    }
}

impl<'de> Deserializer<'de> for Missing {
    type Error = MissingError;

    fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, MissingError> {
        Err(MissingError)
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, MissingError> {
        v.visit_none()
    }

    fn deserialize_unit<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, MissingError> {
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// Rejects positional params beyond the signature.
pub(super) fn no_more<'de, A: SeqAccess<'de>>(mut seq: A, sig: &Signature) -> Result<(), A::Error> {
    let mut extra = 0usize;
    while seq.next_element::<IgnoredAny>()?.is_some() {
        extra += 1;
    }
    if extra == 0 {
        return Ok(());
    }
    let n = sig.names.len();
    Err(de::Error::custom(format_args!(
        "too many params: expected at most {n} ({}), got {}",
        sig.expected(),
        n + extra
    )))
}

/// Finds the slot of a named param, rejecting names the signature lacks.
pub(super) fn slot_of<E: de::Error>(key: &str, sig: &Signature) -> Result<usize, E> {
    sig.index_of(key).ok_or_else(|| {
        E::custom(format_args!(
            "unknown param `{key}`, expected one of: {}",
            sig.expected()
        ))
    })
}

pub(super) fn duplicate<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("duplicate param `{name}`"))
}
