//! Subscriptions over WebSocket, with ordinary calls on the same route.
//!
//! ```text
//! cargo run --release -p examples --example pubsub -- 127.0.0.1:7003
//! ```
//! then `ws://127.0.0.1:7003/rpc` takes `subscribe_counter(start, count)`, answers a
//! subscription id and sends `count` notifications named `counter` (`start`, `start + 1`, ...);
//! `unsubscribe_counter(id)` ends one early. `http://127.0.0.1:7003/rpc` answers the same
//! ordinary methods over HTTP, and a browser there gets the explorer, which can subscribe.
//! Stops gracefully on `SIGTERM` or Ctrl-C, closing every socket with a close frame.
//!
//! Every limit of the server can be changed after the address, as for `spec_server` (see
//! `examples::serve_options`): `--max-connections N`, `--receive-deadline MS`, ...
//!
//! With `--stdio [newline|content-length|ethereum]` (newline by default) it serves one
//! connection, subscriptions included, over standard input and output instead, as a child
//! process does for the program that started it; `--max-subscriptions N` then caps the
//! subscriptions of that connection.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = all.iter().position(|a| a == "--stdio") {
        let framing = match all.get(at + 1) {
            Some(name) if !name.starts_with("--") => name.parse()?,
            _ => rpc_core::framing::Framing::Newline,
        };
        let mut limits = rpc_server::WsLimits::default();
        if let Some(at) = all.iter().position(|a| a == "--max-subscriptions") {
            let n = all
                .get(at + 1)
                .ok_or("--max-subscriptions needs a number")?;
            limits = limits.max_subscriptions(n.parse()?);
        }
        examples::pubsub::endpoint()
            .websocket_limits(limits)
            .serve_stdio(framing)
            .await;
        return Ok(());
    }
    let mut args = all.into_iter();
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7003".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("pubsub listening at ws://{local}/rpc and http://{local}/rpc");
    examples::serve_options(rpc_server::serve(listener, examples::pubsub::app()), args)?
        .with_graceful_shutdown(rpc_server::shutdown_signal())
        .await?;
    println!("pubsub stopped");
    Ok(())
}
