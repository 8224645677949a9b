//! The JSON-RPC 2.0 wire format: requests borrowed straight from the body, and responses written
//! straight into one buffer.
//!
//! Nothing here builds a `serde_json::Value`: a request's `params` and `id` stay [`RawValue`]
//! slices of the body, so ids are echoed byte for byte (`"1"` and `1` stay distinct, `1.0` stays
//! `1.0`) and params are deserialized once, directly into the method's argument types.
//!
//! - `read`: a request body's messages, in one pass ([`parse_body`]);
//! - `write`: responses and requests, written into one buffer ([`write_error`], ...);
//! - `response`: a response, as a client reads it ([`Response`]).

use std::borrow::Cow;

use serde_json::value::RawValue;

mod body;
mod message;
mod quick;
mod read;
mod response;
mod write;

pub use body::{parse_body, parse_body_limited, quick_read_agrees};
pub(crate) use read::Key;
pub use response::Response;
pub use write::{finish, start_result, write_error, write_json, write_request};

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
