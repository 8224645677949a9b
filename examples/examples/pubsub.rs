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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
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
