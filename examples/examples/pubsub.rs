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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7003".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("pubsub listening at ws://{local}/rpc and http://{local}/rpc");
    rpc_server::serve(listener, examples::pubsub::app())
        .with_graceful_shutdown(rpc_server::shutdown_signal())
        .await?;
    println!("pubsub stopped");
    Ok(())
}
