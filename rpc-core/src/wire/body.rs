//! Reading a request body: the quick reader for the common shape of a request, the full reader
//! (serde's visitors) for every other body, one pass over it either way.

use super::{Body, quick, read};
use crate::ErrorObject;

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
    match quick::body(text, max_batch_len) {
        Some(body) => Ok(body),
        None => read::full(text, max_batch_len),
    }
}

/// Whether the quick reader, where it reads `body` at all, reads it as the full reader does:
/// for the fuzz targets, which check it on every input.
#[doc(hidden)]
pub fn quick_read_agrees(body: &[u8], max_batch_len: usize) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return true;
    };
    quick::body(text, max_batch_len).is_none_or(|quick| {
        format!("{:?}", Ok::<_, ErrorObject>(quick))
            == format!("{:?}", read::full(text, max_batch_len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::message::is_valid_id;

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
                .and_then(|text| quick::body(text, 3))
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
