//! A Model Context Protocol server over MCP's stdio transport: one JSON-RPC message per line on
//! standard input, the answers one per line on standard output; it ends at the end of its
//! input. An MCP client (Claude Desktop, the official SDKs' stdio clients) starts it as a child
//! process:
//!
//! ```text
//! cargo run --release -p examples --example mcp
//! ```
//!
//! Try it by hand: paste these lines (the client's side of the handshake, then a call).
//!
//! ```text
//! {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"me","version":"1"}}}
//! {"jsonrpc":"2.0","method":"notifications/initialized"}
//! {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}
//! ```
//!
//! The tools are in `examples/src/mcp.rs`.

use rpc_core::framing::Framing;

#[tokio::main]
async fn main() {
    if std::env::args().len() > 1 {
        eprintln!("usage: mcp (no arguments): serves MCP over standard input and output");
        std::process::exit(2);
    }
    // Standard output carries MCP messages only: anything else goes to standard error.
    eprintln!(
        "mcp: serving tools {:?} over stdio, one message per line",
        examples::mcp::tools()
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
    );
    examples::mcp::endpoint()
        .serve_stdio(Framing::Newline)
        .await;
}
