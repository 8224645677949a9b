//! The JSON-RPC 2.0 specification's example service, served until killed.
//!
//! ```text
//! cargo run --release -p examples --example spec_server -- 127.0.0.1:7002
//! ```
//! then `http://127.0.0.1:7002/rpc` answers the section 7 examples.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7002".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "spec_server listening at http://{}/rpc",
        listener.local_addr()?
    );
    axum::serve(listener, examples::spec::app()).await?;
    Ok(())
}
