//! Params: decoding a request's params straight into a method's argument types, by position or
//! by name, and encoding a client's arguments the same two ways.
//!
//! A method's arguments are a tuple; [`Signature`] names them. Decoding reads the params'
//! raw JSON once, with no intermediate `serde_json::Value`, and every failure is a
//! `-32602 Invalid params` that says which param and why:
//!
//! ```
//! use rpc_core::params::{decode, Signature};
//! use serde_json::value::RawValue;
//!
//! static SIG: Signature = Signature::new(&["minuend", "subtrahend"], false);
//! let by_position = RawValue::from_string("[42, 23]".into()).unwrap();
//! let by_name = RawValue::from_string(r#"{"subtrahend": 23, "minuend": 42}"#.into()).unwrap();
//! assert_eq!(decode::<(i64, i64)>(Some(&by_position), &SIG).unwrap(), (42, 23));
//! assert_eq!(decode::<(i64, i64)>(Some(&by_name), &SIG).unwrap(), (42, 23));
//!
//! let missing = RawValue::from_string(r#"{"minuend": 42}"#.into()).unwrap();
//! let err = decode::<(i64, i64)>(Some(&missing), &SIG).unwrap_err();
//! assert_eq!(err.code, -32602);
//! assert_eq!(err.data.unwrap().get(), r#""missing param `subtrahend`""#);
//! ```
//!
//! A trailing `Option` may be left out, by position or by name. The last argument of a
//! *variadic* signature collects every remaining positional param (it must deserialize from a
//! JSON array, like `Vec<T>`); by name it is passed as one array.

use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::ErrorObject;
use crate::wire::Key;

mod read;

use read::{ParamsVisitor, Whole, duplicate, missing, no_more, param, slot_of, without_position};

/// The names of a method's params, in order, and whether the last one is variadic.
#[derive(Debug)]
pub struct Signature {
    names: &'static [&'static str],
    variadic: bool,
    object: bool,
}

impl Signature {
    /// A signature; `variadic` makes the last param collect the remaining positional params.
    pub const fn new(names: &'static [&'static str], variadic: bool) -> Self {
        Self {
            names,
            variadic,
            object: false,
        }
    }

    /// The same signature, its one param being the whole params object (`params = "object"`),
    /// as Language Server Protocol and Model Context Protocol methods take theirs: absent
    /// params decode as `null`, so that the param may be an `Option`.
    ///
    /// ```
    /// use rpc_core::params::{decode, Signature};
    /// use serde_json::value::RawValue;
    ///
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// #[serde(rename_all = "camelCase")]
    /// struct Hover { text_document: String, line: u32 }
    ///
    /// static SIG: Signature = Signature::new(&["params"], false).object();
    /// // Keys the struct does not name (a newer client's) are left alone, as serde leaves them.
    /// let params = RawValue::from_string(
    ///     r#"{"textDocument": "a.txt", "line": 3, "workDoneToken": 1}"#.into(),
    /// ).unwrap();
    /// let (hover,) = decode::<(Hover,)>(Some(&params), &SIG).unwrap();
    /// assert_eq!(hover, Hover { text_document: "a.txt".into(), line: 3 });
    /// ```
    pub const fn object(mut self) -> Self {
        self.object = true;
        self
    }

    /// The param names, in order.
    pub fn names(&self) -> &'static [&'static str] {
        self.names
    }

    /// Whether the last param is variadic.
    pub fn is_variadic(&self) -> bool {
        self.variadic
    }

    fn index_of(&self, key: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == key)
    }

    fn expected(&self) -> String {
        match self.names {
            [] => "no params".into(),
            names => names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// A tuple of argument types that can be decoded from params. Implemented for tuples of up to 16
/// types that implement serde's `DeserializeOwned`.
pub trait FromParams: Sized {
    /// How many arguments the tuple holds.
    const ARITY: usize;

    #[doc(hidden)]
    fn visit_seq<'de, A: SeqAccess<'de>>(seq: A, sig: &Signature) -> Result<Self, A::Error>;

    #[doc(hidden)]
    fn visit_map<'de, A: MapAccess<'de>>(map: A, sig: &Signature) -> Result<Self, A::Error>;
}

/// Decodes `params` (absent, an array or an object) into the argument tuple `T`.
pub fn decode<T: FromParams>(params: Option<&RawValue>, sig: &Signature) -> Result<T, ErrorObject> {
    if sig.object {
        decode_object(params, sig)
    } else {
        decode_listed(params, sig)
    }
}

/// [`decode`] for a signature that takes params by position or by name (not `object`). The
/// generated code calls this or [`decode_object`], whichever its method's signature is, so that
/// each argument tuple's code has one way of reading its params, not both.
pub(crate) fn decode_listed<T: FromParams>(
    params: Option<&RawValue>,
    sig: &Signature,
) -> Result<T, ErrorObject> {
    // Generated code always agrees with itself; a hand-written caller may not, and a mismatch
    // is the server's fault, not the caller's.
    if T::ARITY != sig.names.len() || sig.object {
        return Err(ErrorObject::internal_error());
    }
    let text = params.map_or("[]", RawValue::get);
    let mut de = serde_json::Deserializer::from_str(text);
    let visitor = ParamsVisitor::<T> {
        sig,
        marker: PhantomData,
    };
    let decoded = if text.starts_with('{') {
        de.deserialize_map(visitor)
    } else {
        de.deserialize_seq(visitor)
    };
    decoded.map_err(|e| ErrorObject::invalid_params(&without_position(&e)))
}

/// [`decode`] for a `params = "object"` signature: the whole params are its one param.
pub(crate) fn decode_object<T: FromParams>(
    params: Option<&RawValue>,
    sig: &Signature,
) -> Result<T, ErrorObject> {
    if T::ARITY != sig.names.len() || !sig.object {
        return Err(ErrorObject::internal_error());
    }
    let text = params.map_or("null", RawValue::get);
    let mut de = serde_json::Deserializer::from_str(text);
    T::visit_seq(Whole(Some(&mut de)), sig)
        .and_then(|value| de.end().map(|()| value))
        .map_err(|e| object_error(&e, sig))
}

/// The error of params that are not the object an `object` signature takes: what is wrong with
/// the object itself (the caller sent the params object, not a param of that name).
fn object_error(e: &serde_json::Error, sig: &Signature) -> ErrorObject {
    let why = without_position(e);
    let named = sig.names.first().map(|n| format!("param `{n}`: "));
    let why = named
        .and_then(|prefix| why.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or(why);
    ErrorObject::invalid_params(&why)
}

impl FromParams for () {
    const ARITY: usize = 0;

    fn visit_seq<'de, A: SeqAccess<'de>>(seq: A, sig: &Signature) -> Result<Self, A::Error> {
        no_more(seq, sig)
    }

    fn visit_map<'de, A: MapAccess<'de>>(mut map: A, sig: &Signature) -> Result<Self, A::Error> {
        match map.next_key::<Key<'de>>()? {
            Some(key) => slot_of(&key.0, sig),
            None => Ok(0),
        }
        .map(|_| ())
    }
}

macro_rules! tuple_params {
    ($len:expr => $($idx:tt $T:ident $v:ident),+) => {
        impl<$($T: DeserializeOwned),+> FromParams for ($($T,)+) {
            const ARITY: usize = $len;

            fn visit_seq<'de, Acc: SeqAccess<'de>>(mut seq: Acc, sig: &Signature) -> Result<Self, Acc::Error> {
                let last = $len - 1;
                $(
                    let $v: $T = if sig.variadic && $idx == last {
                        // The variadic param takes the rest of the array.
                        $T::deserialize(de::value::SeqAccessDeserializer::new(&mut seq))
                            .map_err(|e| de::Error::custom(format_args!("param `{}`: {e}", sig.names[$idx])))?
                    } else {
                        match seq.next_element_seed(param::<$T>(sig.names[$idx]))? {
                            Some(v) => v,
                            None => missing(sig.names[$idx])?,
                        }
                    };
                )+
                no_more(seq, sig)?;
                Ok(($($v,)+))
            }

            fn visit_map<'de, Acc: MapAccess<'de>>(mut map: Acc, sig: &Signature) -> Result<Self, Acc::Error> {
                $( let mut $v: Option<$T> = None; )+
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match slot_of::<Acc::Error>(&key.0, sig)? {
                        $(
                            $idx => {
                                if $v.is_some() {
                                    return Err(duplicate(sig.names[$idx]));
                                }
                                $v = Some(map.next_value_seed(param::<$T>(sig.names[$idx]))?);
                            }
                        )+
                        _ => return Err(de::Error::custom("param index out of range")),
                    }
                }
                Ok(($(
                    match $v {
                        Some(v) => v,
                        None => missing(sig.names[$idx])?,
                    },
                )+))
            }
        }

        impl<$($T: Serialize),+> Serialize for Positional<($(&$T,)+)> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some($len))?;
                $( seq.serialize_element(self.0.$idx)?; )+
                seq.end()
            }
        }

        impl<$($T: Serialize),+> Serialize for Named<($(&$T,)+)> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if self.1.len() != $len {
                    return Err(serde::ser::Error::custom(format_args!(
                        "{} names for {} params", self.1.len(), $len
                    )));
                }
                let mut map = s.serialize_map(Some($len))?;
                $( map.serialize_entry(self.1[$idx], self.0.$idx)?; )+
                map.end()
            }
        }
    };
}

/// A client's arguments sent by position: a JSON array.
///
/// ```
/// use rpc_core::params::Positional;
/// assert_eq!(serde_json::to_string(&Positional((&1, &"a"))).unwrap(), r#"[1,"a"]"#);
/// ```
#[derive(Debug)]
pub struct Positional<T>(pub T);

/// A client's arguments sent by name: a JSON object.
///
/// ```
/// use rpc_core::params::Named;
/// let p = Named((&42, &23), &["minuend", "subtrahend"]);
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"minuend":42,"subtrahend":23}"#);
/// ```
#[derive(Debug)]
pub struct Named<T>(pub T, pub &'static [&'static str]);

/// A client's variadic arguments sent by position: the fixed ones, then every element of the
/// variadic collection, in one flat JSON array.
///
/// ```
/// use rpc_core::params::Variadic;
/// let rest = vec![3, 4];
/// assert_eq!(serde_json::to_string(&Variadic((&1, &2), &rest)).unwrap(), "[1,2,3,4]");
/// assert_eq!(serde_json::to_string(&Variadic((), &rest)).unwrap(), "[3,4]");
/// ```
#[derive(Debug)]
pub struct Variadic<'r, F, R>(pub F, pub &'r R);

macro_rules! variadic_params {
    ($($idx:tt $T:ident),*) => {
        impl<'r, $($T: Serialize,)* R> Serialize for Variadic<'r, ($(&$T,)*), R>
        where
            &'r R: IntoIterator,
            <&'r R as IntoIterator>::Item: Serialize,
        {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(None)?;
                $( seq.serialize_element(self.0.$idx)?; )*
                for item in self.1 {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
        }
    };
}

// Every tuple size up to the macro's limit, and `MAX_PARAMS` itself, from the one constant the
// macro checks methods against.
rpc_macros::__params_impls!(tuple_params, variadic_params);

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    fn err<T: FromParams + std::fmt::Debug>(params: &str, sig: &Signature) -> String {
        let e = decode::<T>(Some(&raw(params)), sig).unwrap_err();
        assert_eq!(e.code, -32602);
        serde_json::from_str(e.data.unwrap().get()).unwrap()
    }

    static QUAD: Signature = Signature::new(&["a", "b", "c"], false);
    static OPT: Signature = Signature::new(&["x", "y"], false);
    static VAR: Signature = Signature::new(&["first", "rest"], true);
    static NONE: Signature = Signature::new(&[], false);

    #[test]
    fn positional_and_named_agree() {
        let p: (f64, f64, f64) = decode(Some(&raw("[1, 2.5, -3]")), &QUAD).unwrap();
        let n: (f64, f64, f64) = decode(Some(&raw(r#"{"c":-3,"a":1,"b":2.5}"#)), &QUAD).unwrap();
        assert_eq!(p, (1.0, 2.5, -3.0));
        assert_eq!(p, n);
    }

    #[test]
    fn arity_and_names_are_checked() {
        assert_eq!(err::<(f64, f64, f64)>("[1, 2]", &QUAD), "missing param `c`");
        assert_eq!(
            err::<(f64, f64, f64)>("[1, 2, 3, 4, 5]", &QUAD),
            "too many params: expected at most 3 (`a`, `b`, `c`), got 5"
        );
        assert_eq!(
            err::<(f64, f64, f64)>(r#"{"a":1,"b":2,"d":3}"#, &QUAD),
            "unknown param `d`, expected one of: `a`, `b`, `c`"
        );
        assert_eq!(
            err::<(f64, f64, f64)>(r#"{"a":1,"a":2}"#, &QUAD),
            "duplicate param `a`"
        );
        assert_eq!(
            err::<(f64, f64, f64)>(r#"[1, "two", 3]"#, &QUAD),
            "param `b`: invalid type: string \"two\", expected f64"
        );
        assert_eq!(
            err::<()>("[1]", &NONE),
            "too many params: expected at most 0 (no params), got 1"
        );
        assert_eq!(
            err::<()>(r#"{"a":1}"#, &NONE),
            "unknown param `a`, expected one of: no params"
        );
    }

    #[test]
    fn trailing_options_may_be_left_out() {
        let full: (i32, Option<i32>) = decode(Some(&raw("[1, 2]")), &OPT).unwrap();
        let short: (i32, Option<i32>) = decode(Some(&raw("[1]")), &OPT).unwrap();
        let named: (i32, Option<i32>) = decode(Some(&raw(r#"{"x":1}"#)), &OPT).unwrap();
        let null: (i32, Option<i32>) = decode(Some(&raw("[1, null]")), &OPT).unwrap();
        assert_eq!(full, (1, Some(2)));
        assert_eq!(short, (1, None));
        assert_eq!(named, (1, None));
        assert_eq!(null, (1, None));
        let all: (Option<u8>, Option<u8>) = decode(None, &OPT).unwrap();
        assert_eq!(all, (None, None));
    }

    #[test]
    fn variadic_collects_the_rest() {
        let v: (String, Vec<i64>) = decode(Some(&raw(r#"["s", 1, 2, 3]"#)), &VAR).unwrap();
        assert_eq!(v, ("s".into(), vec![1, 2, 3]));
        let empty: (String, Vec<i64>) = decode(Some(&raw(r#"["s"]"#)), &VAR).unwrap();
        assert_eq!(empty.1, Vec::<i64>::new());
        let named: (String, Vec<i64>) =
            decode(Some(&raw(r#"{"rest":[4],"first":"s"}"#)), &VAR).unwrap();
        assert_eq!(named, ("s".into(), vec![4]));
        assert_eq!(
            err::<(String, Vec<i64>)>(r#"["s", 1, "x"]"#, &VAR),
            "param `rest`: invalid type: string \"x\", expected i64"
        );
    }

    #[test]
    fn escaped_names_are_read() {
        let v: (i32, Option<i32>) = decode(Some(&raw(r#"{"\u0078":5}"#)), &OPT).unwrap();
        assert_eq!(v, (5, None));
    }
}
