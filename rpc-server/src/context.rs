//! The HTTP request a call came in, readable from inside any method without appearing in the
//! trait's signature.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header::AsHeaderName};
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The HTTP request behind the current call: its headers, URI, and the extensions that tower
/// layers added (an authenticated user, a request id, ...).
///
/// The server sets it around every call it runs, so a method reads it with
/// [`RequestContext::with`] or one of the shortcuts, and the client's signature stays the
/// trait's. Outside a call (or in a task the method spawned) there is none.
///
/// ```
/// use rpc_server::RequestContext;
///
/// #[derive(Clone)]
/// struct User(String);
///
/// async fn whoami() -> Option<String> {
///     // Inside a method: the user a tower layer put into the request's extensions.
///     RequestContext::extension::<User>().map(|u| u.0)
/// }
/// # assert_eq!(RequestContext::with(|_| ()), None);
/// ```
#[derive(Debug)]
pub struct RequestContext {
    parts: std::sync::Arc<Parts>,
}

impl RequestContext {
    /// Runs `fut` with `parts` as its request's context.
    ///
    /// Plain functions returning the task-local future itself, not `async fn`s awaiting it: each
    /// `async` level would hold `fut` in its own state and move it there whole when first
    /// polled, and `fut` is the request's whole dispatch.
    pub(crate) fn scope<F: Future>(parts: Parts, fut: F) -> TaskLocalFuture<RequestContext, F> {
        Self::scope_shared(std::sync::Arc::new(parts), fut)
    }

    /// The same request for many calls: those of one WebSocket connection.
    pub(crate) fn scope_shared<F: Future>(
        parts: std::sync::Arc<Parts>,
        fut: F,
    ) -> TaskLocalFuture<RequestContext, F> {
        CONTEXT.scope(RequestContext { parts }, fut)
    }

    /// Runs `f` with the current request's context; `None` outside a call.
    pub fn with<R>(f: impl FnOnce(&RequestContext) -> R) -> Option<R> {
        CONTEXT.try_with(f).ok()
    }

    /// A clone of the extension of type `T` in the current request, if any.
    pub fn extension<T: Clone + Send + Sync + 'static>() -> Option<T> {
        Self::with(|cx| cx.parts.extensions.get::<T>().cloned()).flatten()
    }

    /// The other end of the connection the current call came over, to call it back: make a
    /// typed client of the peer's `#[rpc]` trait over it with
    /// `rpc_client::ClientBuilder::<FooClient>::peer(peer)`. It can be kept after the call (to
    /// notify or call later); once the connection has closed, its calls fail with a transport
    /// error. Over HTTP there is no connection to call back on, and the error says so.
    ///
    /// ```
    /// # async fn run() -> Result<(), rpc_core::Error> {
    /// // Inside a method served over a WebSocket, a Unix socket or stdio:
    /// let peer = rpc_server::RequestContext::peer()?;
    /// # Ok(()) }
    /// ```
    pub fn peer() -> Result<rpc_core::peer::Peer, rpc_core::Error> {
        Self::extension::<rpc_core::peer::Peer>().ok_or_else(|| {
            let why = if Self::with(|_| ()).is_some() {
                "the call came over HTTP, where there is no connection to call the client back \
                 on: call back over a WebSocket, a Unix socket or stdio"
            } else {
                "there is no current call (a peer is lent to a method while it runs; keep it \
                 to use it later)"
            };
            rpc_core::Error::Request(why.into())
        })
    }

    /// Ends the connection the current call came over, as the end of its input would: nothing
    /// more is read from it, the calls already read are run and answered, their answers
    /// written, and then it closes (a WebSocket with close code 1000; `serve_stream` and
    /// `serve_stdio` return). For a protocol whose message ends the session, as LSP's `exit`.
    /// Returns `false` when there is no such connection (over HTTP, or outside a call).
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Session { async fn exit(&self); }
    /// struct Server;
    /// impl Session for Server {
    ///     async fn exit(&self) {
    ///         rpc_server::RequestContext::close_connection();
    ///     }
    /// }
    /// ```
    pub fn close_connection() -> bool {
        Self::extension::<crate::connection::Ending>().is_some_and(|closing| {
            closing.close();
            true
        })
    }

    /// The value of header `name` in the current request, if any.
    pub fn header<K: AsHeaderName>(name: K) -> Option<HeaderValue> {
        Self::with(|cx| cx.parts.headers.get(name).cloned()).flatten()
    }

    /// The address of the peer the current call came from: the TCP peer under
    /// [`serve`](crate::serve) (or `axum::serve` with `into_make_service_with_connect_info`).
    /// Behind a proxy it is the proxy's; a header the proxy sets (`X-Forwarded-For`) names the
    /// client, and is to be trusted only when such a proxy is the only way in.
    pub fn peer_addr() -> Option<std::net::SocketAddr> {
        Self::extension::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0)
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The request's extensions, as tower layers left them.
    pub fn extensions(&self) -> &axum::http::Extensions {
        &self.parts.extensions
    }

    /// The request's URI.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The request's HTTP method.
    pub fn method(&self) -> &Method {
        &self.parts.method
    }
}
