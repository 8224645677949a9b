//! The JSON-RPC 2.0 specification's example service, served with `rpc_server::serve`'s
//! production defaults until `SIGTERM` or Ctrl-C, which stop it gracefully.
//!
//! ```text
//! cargo run --release -p examples --example spec_server -- 127.0.0.1:7002
//! ```
//! then `http://127.0.0.1:7002/rpc` answers the section 7 examples.
//!
//! Every limit of the server can be changed after the address, times in milliseconds (see
//! `examples::serve_options`): `--header-timeout MS`, `--max-connections N`, ... (the attack
//! tests shorten the timeouts so they do not wait a minute).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7002".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "spec_server listening at http://{}/rpc",
        listener.local_addr()?
    );
    let server = examples::serve_options(rpc_server::serve(listener, examples::spec::app()), args)?;
    server
        .with_graceful_shutdown(rpc_server::shutdown_signal())
        .await?;
    println!("spec_server stopped");
    Ok(())
}
