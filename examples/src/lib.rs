//! The services behind the examples, shared with the workspace tests.
//!
//! - [`calculator`]: the calculator of the classic XML-RPC/JSON-RPC chapter: variadic
//!   `add_together`, `quadratic` with a typed math-domain error, `remote_repr`, `lengths`.
//! - [`pubsub`]: subscriptions over WebSocket (a counter, a clock) beside an ordinary method.
//! - [`replica`]: a service run as several replicas behind a load balancer, with an idempotent
//!   read and a counter whose every call is logged (the scale-out recipe).
//! - [`spec`]: the methods of the JSON-RPC 2.0 specification's section 7 examples.
//! - [`store`]: a key-value store whose client implements the trait itself, and a bearer-token
//!   layer with per-method access control.

pub mod calculator;
pub mod observability;
pub mod pubsub;
pub mod replica;
pub mod spec;
pub mod store;

use std::net::SocketAddr;

/// Serves `app` on `addr` in a background task, through [`rpc_server::serve`] with its
/// production defaults, and returns the address it is bound to (bind port 0 for a free one).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let addr = examples::spawn(axum::Router::new(), "127.0.0.1:0").await?;
/// println!("listening on {addr}");
/// # Ok(()) }
/// ```
pub async fn spawn(app: axum::Router, addr: &str) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = rpc_server::serve(listener, app).await {
            eprintln!("server stopped: {e}");
        }
    });
    Ok(local)
}
