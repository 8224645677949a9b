//! The JSON-RPC 2.0 specification's example service, served with `rpc_server::serve`'s
//! production defaults until `SIGTERM` or Ctrl-C, which stop it gracefully.
//!
//! ```text
//! cargo run --release -p examples --example spec_server -- 127.0.0.1:7002
//! ```
//! then `http://127.0.0.1:7002/rpc` answers the section 7 examples.
//!
//! Every limit of the server can be changed after the address, times in milliseconds:
//! `--header-timeout MS`, `--body-timeout MS`, `--idle-timeout MS`, `--send-timeout MS`,
//! `--max-connections N`, `--max-header-bytes N`, `--max-unsent-bytes N` (the attack tests shorten the timeouts so they
//! do not wait a minute).

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7002".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "spec_server listening at http://{}/rpc",
        listener.local_addr()?
    );
    let mut server = rpc_server::serve(listener, examples::spec::app());
    while let Some(flag) = args.next() {
        let value: u64 = match args.next().map(|v| v.parse()) {
            Some(Ok(value)) => value,
            _ => return Err(format!("`{flag}` needs a number after it").into()),
        };
        let ms = Duration::from_millis(value);
        let n = usize::try_from(value)?;
        server = match flag.as_str() {
            "--header-timeout" => server.header_timeout(ms),
            "--body-timeout" => server.body_timeout(ms),
            "--idle-timeout" => server.idle_timeout(ms),
            "--send-timeout" => server.send_timeout(ms),
            "--max-connections" => server.max_connections(n),
            "--max-header-bytes" => server.max_header_bytes(n),
            "--max-unsent-bytes" => server.max_unsent_bytes(n),
            _ => return Err(format!("unknown option `{flag}`").into()),
        };
    }
    server
        .with_graceful_shutdown(rpc_server::shutdown_signal())
        .await?;
    println!("spec_server stopped");
    Ok(())
}
