//! RPyC's callback example, typed both ways: the server's `line_counter(lines)` calls the
//! client's `noisy(line)` for every line, in order, and returns the count.
//!
//! ```text
//! cargo run --release -p examples --example callbacks                      # both, in one process and as two
//! cargo run --release -p examples --example callbacks -- --serve 127.0.0.1:7004   # the server alone, at ws://127.0.0.1:7004/rpc
//! cargo run --release -p examples --example callbacks -- --connect ws://127.0.0.1:7004/rpc
//! cargo run --release -p examples --example callbacks -- --stdio           # the server over stdin and stdout
//! cargo run --release -p examples --example callbacks -- --stdio --max-peer-calls 4 --peer-call-timeout-ms 500
//! ```
//!
//! With no argument it runs the client and the server in one process over a WebSocket, then
//! starts itself with `--stdio` as a child process and does the same over its stdin and stdout.

use std::sync::Arc;

use examples::callbacks::{LineCounterClient, NoisyServer, Printer};

const LINES: [&str; 3] = [
    "Twas brillig, and the slithy toves",
    "Did gyre and gimble in the wabe:",
    "All mimsy were the borogoves,",
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--stdio") => {
            // `--max-peer-calls N`: at most N calls back to the client wait at once.
            let mut limits = rpc_server::WsLimits::default();
            if let Some(at) = args.iter().position(|a| a == "--max-peer-calls") {
                let n = args.get(at + 1).ok_or("--max-peer-calls needs a number")?;
                limits = limits.max_peer_calls(n.parse()?);
            }
            // `--peer-call-timeout-ms MS`: a call back unanswered after MS fails, and is
            // cancelled at the client.
            if let Some(at) = args.iter().position(|a| a == "--peer-call-timeout-ms") {
                let ms = args
                    .get(at + 1)
                    .ok_or("--peer-call-timeout-ms needs a number")?;
                limits = limits.peer_call_timeout(std::time::Duration::from_millis(ms.parse()?));
            }
            examples::callbacks::endpoint()
                .websocket_limits(limits)
                .serve_stdio(rpc_core::framing::Framing::Newline)
                .await;
            Ok(())
        }
        Some("--serve") => {
            let addr = args.get(1).map_or("127.0.0.1:7004", String::as_str);
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let app = axum::Router::new()
                .route("/rpc", examples::callbacks::endpoint().into_method_router());
            println!("callbacks serving at ws://{}/rpc", listener.local_addr()?);
            rpc_server::serve(listener, app)
                .with_graceful_shutdown(rpc_server::shutdown_signal())
                .await?;
            Ok(())
        }
        Some("--connect") => {
            let url = args.get(1).ok_or("--connect needs a ws:// URL")?;
            count(LineCounterClient::builder(url)).await
        }
        Some(other) => Err(format!(
            "unknown argument `{other}`: expected --serve ADDR, --connect URL or --stdio"
        )
        .into()),
        None => {
            let app = axum::Router::new()
                .route("/rpc", examples::callbacks::endpoint().into_method_router());
            let addr = examples::spawn(app, "127.0.0.1:0").await?;
            println!("In one process, over ws://{addr}/rpc:");
            count(LineCounterClient::builder(&format!("ws://{addr}/rpc"))).await?;
            println!("\nAs two processes, the server a child over its stdin and stdout:");
            let mut child = std::process::Command::new(std::env::current_exe()?);
            child.arg("--stdio");
            count(rpc_client::ClientBuilder::child(child)).await
        }
    }
}

/// Builds a client serving `noisy`, calls `line_counter`, and prints what came back.
async fn count(
    builder: rpc_client::ClientBuilder<LineCounterClient>,
) -> Result<(), Box<dyn std::error::Error>> {
    let printer = Arc::new(Printer {
        print: true,
        ..Printer::default()
    });
    let counter = builder
        .serve(NoisyServer(printer.clone()), 16)
        .cancellation(rpc_core::peer::Cancellation::Lsp)
        .build()?;
    let lines = LINES.iter().map(|l| l.to_string()).collect();
    let count = counter.line_counter(lines).await?;
    println!("line_counter answered {count}");
    Ok(())
}
