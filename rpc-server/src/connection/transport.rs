//! What a transport offers a message connection: its receiving half, which gives messages (or
//! why there are none), and its sending half; and the close codes the connection sends.

use std::future::Future;

use axum::body::Bytes;

/// The close codes the connection sends (WebSocket's, RFC 6455 section 7.4.1); a transport
/// without close frames logs them.
pub(crate) mod close_code {
    pub(crate) const NORMAL: u16 = 1000;
    pub(crate) const AWAY: u16 = 1001;
    pub(crate) const PROTOCOL: u16 = 1002;
    pub(crate) const INVALID: u16 = 1007;
    pub(crate) const POLICY: u16 = 1008;
    pub(crate) const SIZE: u16 = 1009;
    pub(crate) const ERROR: u16 = 1011;
    pub(crate) const AGAIN: u16 = 1013;
}

/// What a transport's receiving half gives next.
pub(crate) enum Inbound {
    /// A whole message.
    Message(Bytes),
    /// Something that is no message but shows the peer is there (a ping, a pong).
    Heard,
    /// The peer closed, or the transport ended.
    End,
    /// The transport could not read a message: close with this code and reason.
    Failed(u16, &'static str),
    /// A message was refused (over the size limit, or not framed right): the peer is answered
    /// an error with a `null` id saying `why`; with `fatal`, the stream cannot be followed
    /// further and the connection ends after the answer.
    Refused {
        code: i64,
        why: &'static str,
        fatal: bool,
    },
}

/// A message transport's receiving half.
pub(crate) trait MessagesIn: Send + 'static {
    /// The next message, or why there is none.
    fn next(&mut self) -> impl Future<Output = Inbound> + Send;
}

/// A message transport's sending half.
pub(crate) trait MessagesOut: Send + 'static {
    /// Whether the transport pings its peer, and closes a silent one.
    const PINGS: bool;

    /// Sends `text`; with `more`, more follow at once and it may only be buffered.
    fn send(&mut self, text: Vec<u8>, more: bool) -> impl Future<Output = Result<(), ()>> + Send;

    /// Pings the peer.
    fn ping(&mut self) -> impl Future<Output = Result<(), ()>> + Send;

    /// Closes the transport: with a code and reason when the server closes it, without when
    /// it answers the peer's close.
    fn close(&mut self, code: Option<(u16, &'static str)>) -> impl Future<Output = ()> + Send;
}
