//! A small Ethereum-shaped node over HTTP and WebSocket, and over IPC on a Unix socket, as
//! Ethereum nodes serve their clients (web3.py, alloy, cast).
//!
//! ```text
//! cargo run --release -p examples --example eth -- 127.0.0.1:8545 --ipc /tmp/node.ipc
//! ```
//! then `http://127.0.0.1:8545/` and `ws://127.0.0.1:8545/` answer `eth_chainId`,
//! `eth_blockNumber`, `eth_getBalance` and `eth_subscribe("newHeads")`, and so does the socket
//! at `/tmp/node.ipc` (JSON values back to back, each answer followed by a newline; mode 0600,
//! removed when the node stops). Stops gracefully on `SIGTERM` or Ctrl-C.

use std::future::IntoFuture as _;

use rpc_core::framing::Framing;
use rpc_server::RouterExt as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8545".to_owned());
    let mut ipc = None;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--ipc" => ipc = Some(args.next().ok_or("`--ipc` needs a socket path after it")?),
            other => return Err(format!("unknown option `{other}`, expected `--ipc PATH`").into()),
        }
    }
    let node = examples::eth::Node::start();
    let endpoint = examples::eth::endpoint(node);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let app = axum::Router::new().rpc("/", endpoint.clone());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stopping = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let http = tokio::spawn(
        rpc_server::serve(listener, app)
            .with_graceful_shutdown(stopping(stopped.clone()))
            .into_future(),
    );
    let ipc = match ipc {
        Some(path) => {
            let socket = rpc_server::UnixSocket::bind(&path)?;
            println!("eth listening at http://{local}/ and ws://{local}/ and ipc {path}");
            Some(tokio::spawn(
                rpc_server::serve_messages(socket, endpoint, Framing::Ethereum)
                    .with_graceful_shutdown(stopping(stopped.clone()))
                    .into_future(),
            ))
        }
        None => {
            println!("eth listening at http://{local}/ and ws://{local}/");
            None
        }
    };
    rpc_server::shutdown_signal().await;
    let _ = stop.send(true);
    http.await??;
    if let Some(ipc) = ipc {
        ipc.await??;
    }
    println!("eth stopped");
    Ok(())
}
