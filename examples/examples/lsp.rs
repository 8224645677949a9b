//! A small language server over the Language Server Protocol's stdio transport: JSON-RPC
//! messages framed with `Content-Length` headers on standard input and output. An editor
//! starts it as a child process:
//!
//! ```text
//! cargo run --release -p examples --example lsp
//! ```
//!
//! It answers `initialize` (full text sync, hover), takes `initialized` (and then asks the
//! editor for its `example` settings, logging the answer), keeps the documents the editor
//! opens and changes, answers `textDocument/hover` with the word under the cursor, and
//! `example/slow {"ms": N}` after N milliseconds unless `$/cancelRequest` stops it (-32800).
//! `shutdown` then `exit` end it with status 0; `exit` without `shutdown`, or the end of its
//! input without `exit`, with status 1, as LSP says.
//!
//! The server is in `examples/src/lsp.rs`.

use std::time::Duration;

use rpc_core::framing::Framing;

/// How long the calls still running when `exit` comes may take to be answered.
const GRACE: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() {
    if std::env::args().len() > 1 {
        eprintln!(
            "usage: lsp (no arguments): serves the Language Server Protocol over standard \
             input and output"
        );
        std::process::exit(2);
    }
    // Standard output carries LSP messages only: anything else goes to standard error.
    eprintln!("lsp: serving over stdio, Content-Length framing");
    let (endpoint, exit) = examples::lsp::endpoint();
    // `exit` closes the connection: it reads no more, answers the calls in flight, flushes,
    // and `serve_stdio` returns. A call that would run on (a long `example/slow`) is given
    // `GRACE`, not its whole time.
    let served = endpoint.serve_stdio(Framing::ContentLength);
    tokio::select! {
        () = served => {}
        () = async { exit.requested().await; tokio::time::sleep(GRACE).await } => {}
    }
    let status = exit.status();
    eprintln!("lsp: exiting with status {status}");
    // `std::process::exit`, not a return from `main`: the runtime would wait for its read of
    // standard input, a blocking read that ends only when the editor closes the pipe.
    std::process::exit(status);
}
