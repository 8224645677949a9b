//! Mounting an endpoint on a `Router` at a path, trailing slash or not.

use axum::Router;
use axum::routing::MethodRouter;
use rpc_core::Service;

use crate::RpcService;
use crate::middleware::Calls;

/// Mounts JSON-RPC endpoints on an axum [`Router`].
///
/// `router.rpc("/rpc", service)` answers at `/rpc` and at `/rpc/`, so a client URL written
/// either way works. (`Router::nest("/rpc", rpc_server::router(..))` answers at `/rpc` only:
/// axum maps a nested router's `/` to the prefix itself.) The service is a generated
/// `{Trait}Server` with default settings, or a configured [`RpcService`].
///
/// ```
/// # use rpc_core::rpc;
/// # #[rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
/// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
/// use rpc_server::{RouterExt, RpcService};
///
/// let app: axum::Router = axum::Router::new()
///     .rpc("/rpc", PingServer(P))
///     .rpc("/admin/rpc", RpcService::new(PingServer(P)).introspection(true))
///     .route("/health", axum::routing::get(|| async { "ok" }));
/// ```
pub trait RouterExt<St> {
    /// Serves `service` at `path` and at `path` with (or without) a trailing slash.
    fn rpc<S: Service, M: Calls>(self, path: &str, service: impl Into<RpcService<S, M>>) -> Self;
}

impl<St: Clone + Send + Sync + 'static> RouterExt<St> for Router<St> {
    fn rpc<S: Service, M: Calls>(self, path: &str, service: impl Into<RpcService<S, M>>) -> Self {
        let route = service.into().into_method_router();
        let other = match path.strip_suffix('/') {
            _ if path == "/" => None,
            Some(bare) => Some(bare.to_owned()),
            None => Some(format!("{path}/")),
        };
        match other {
            Some(other) => self.route(path, route.clone()).route(&other, route),
            None => self.route(path, route),
        }
    }
}

impl<S: Service> From<S> for RpcService<S> {
    fn from(service: S) -> Self {
        RpcService::new(service)
    }
}

/// A router answering with `route` at `/`. Not generic: axum's routing code for a `Router<()>`
/// (its path tree, its maps) is compiled here, once, and a crate that builds its own
/// `Router<()>` reuses it in debug builds.
pub(crate) fn at_root(route: MethodRouter) -> Router {
    Router::new().route("/", route)
}
