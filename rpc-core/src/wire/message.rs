//! A request message as read from a body, whichever reader read it (the quick one or the full
//! one), and the checks that make it a call or an entry that is none.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::{Entry, Invalid, Request};

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

/// One message as read in the single pass over the body: any JSON value is accepted here, so
/// that only a syntax error fails the parse and everything else is judged by [`check`].
pub(super) enum Message<'a> {
    Object(Envelope<'a>),
    NotAnObject,
    RepeatedMember,
}

/// Puts `value` in `slot`; whether the slot held one already (a repeated member).
pub(super) fn fill<T>(slot: &mut Option<T>, value: T) -> bool {
    slot.replace(value).is_some()
}

/// The entry a message read from a body makes: a call, or why it is none.
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

/// The entry an object read as `envelope` makes: a call, or why it is none.
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

pub(super) fn is_valid_id(raw: &RawValue) -> bool {
    matches!(raw.get().as_bytes()[0], b'"' | b'-' | b'0'..=b'9' | b'n')
}
