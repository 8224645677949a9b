//! Writing JSON-RPC messages straight into one buffer.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::ErrorObject;

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
