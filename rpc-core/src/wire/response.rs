//! A response, as a client reads it.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::ErrorObject;

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
