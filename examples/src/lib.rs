//! The services behind the examples, shared with the workspace tests.
//!
//! - [`callbacks`]: RPyC's line counter ported: the server calls the client's `noisy` for each
//!   line it counts, over any message connection.
//! - [`calculator`]: the calculator of the classic XML-RPC/JSON-RPC chapter: variadic
//!   `add_together`, `quadratic` with a typed math-domain error, `remote_repr`, `lengths`.
//! - [`eth`]: a small Ethereum-shaped node (chain id, blocks every 200 ms, balances, `newHeads`)
//!   served over HTTP, WebSocket and IPC on a Unix socket.
//! - [`lsp`]: a small language server over stdio: hover, full text sync, `$/cancelRequest`.
//! - [`mcp`]: a Model Context Protocol server over stdio (tools `add`, `echo`, `sleep` with
//!   schemars input schemas), honouring `notifications/cancelled`.
//! - [`pubsub`]: subscriptions over WebSocket (a counter, a clock) beside an ordinary method.
//! - [`replica`]: a service run as several replicas behind a load balancer, with an idempotent
//!   read and a counter whose every call is logged (the scale-out recipe).
//! - [`spec`]: the methods of the JSON-RPC 2.0 specification's section 7 examples.
//! - [`store`]: a key-value store whose client implements the trait itself, and a bearer-token
//!   layer with per-method access control.

pub mod calculator;
pub mod callbacks;
pub mod eth;
pub mod lsp;
pub mod mcp;
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

/// Applies `--flag VALUE` options from `args` to `server`, times in milliseconds: every limit
/// of [`rpc_server::serve`] can be changed from the command line of `spec_server` and `pubsub`
/// (the attack tests shorten the timeouts so that they do not wait a minute).
///
/// `--header-timeout MS`, `--body-timeout MS`, `--receive-deadline MS`, `--idle-timeout MS`,
/// `--send-timeout MS`, `--max-connections N`, `--max-connections-per-peer N`,
/// `--max-header-bytes N`, `--max-unsent-bytes N`, `--max-receiving-bytes N`.
pub fn serve_options(
    mut server: rpc_server::Serve,
    mut args: impl Iterator<Item = String>,
) -> Result<rpc_server::Serve, String> {
    while let Some(flag) = args.next() {
        let value: u64 = match args.next().map(|v| v.parse()) {
            Some(Ok(value)) => value,
            _ => return Err(format!("`{flag}` needs a number after it")),
        };
        let ms = std::time::Duration::from_millis(value);
        let n = usize::try_from(value).map_err(|e| format!("`{flag}`: {e}"))?;
        server = match flag.as_str() {
            "--header-timeout" => server.header_timeout(ms),
            "--body-timeout" => server.body_timeout(ms),
            "--receive-deadline" => server.receive_deadline(ms),
            "--idle-timeout" => server.idle_timeout(ms),
            "--send-timeout" => server.send_timeout(ms),
            "--max-connections" => server.max_connections(n),
            "--max-connections-per-peer" => server.max_connections_per_peer(n),
            "--max-header-bytes" => server.max_header_bytes(n),
            "--max-unsent-bytes" => server.max_unsent_bytes(n),
            "--max-receiving-bytes" => server.max_receiving_bytes(n),
            _ => return Err(format!("unknown option `{flag}`")),
        };
    }
    Ok(server)
}
