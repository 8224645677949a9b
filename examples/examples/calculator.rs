//! The calculator, server and client in one process: each call is printed with its answer.
//!
//! ```text
//! cargo run -p examples --example calculator            # the demo, then exit
//! cargo run -p examples --example calculator -- --serve # the demo, then keep serving
//! cargo run -p examples --example calculator -- --stdio # serve over stdin and stdout
//! ```
//! With `--serve`, open the printed URL in a browser for the explorer page. With `--stdio` the
//! calculator is a child process's server: one JSON-RPC message per line on standard input,
//! the answers one per line on standard output (`--stdio content-length` for LSP's headers);
//! it ends at the end of its input.

use examples::calculator::{CalculatorClient, MathError};
use rpc_core::CallError;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--stdio") {
        let framing = args.get(at + 1).map_or("newline", String::as_str).parse()?;
        // Standard output carries messages only: anything else goes to standard error.
        examples::calculator::endpoint().serve_stdio(framing).await;
        return Ok(());
    }
    let addr = examples::spawn(examples::calculator::app(), "127.0.0.1:0").await?;
    let url = format!("http://{addr}/rpc");
    println!("calculator serving at {url}\n");

    let calc = CalculatorClient::new(&url)?;

    // Introspection, as an XML-RPC server offers it.
    let rpc = calc.client();
    let methods: Vec<String> = rpc.call("system.listMethods", None::<&()>).await?;
    println!("system.listMethods() = {methods:?}");
    let help: String = rpc.call("system.methodHelp", Some(&["quadratic"])).await?;
    println!("system.methodHelp(\"quadratic\") = {help:?}");
    let signature: Vec<Vec<String>> = rpc
        .call("system.methodSignature", Some(&["quadratic"]))
        .await?;
    println!("system.methodSignature(\"quadratic\") = {signature:?}\n");

    let sum = calc.add_together(vec![1, 2, 3, 4, 5]).await?;
    println!("add_together(1, 2, 3, 4, 5) = {sum}");

    let roots = calc.quadratic(1.0, -3.0, 2.0).await?;
    println!("quadratic(1, -3, 2) = {roots:?}");

    match calc.quadratic(1.0, 0.0, 1.0).await {
        Err(CallError::Method(e @ MathError::NoRealRoots { .. })) => {
            println!("quadratic(1, 0, 1) failed, as it should: {e}");
        }
        other => return Err(format!("expected a math domain error, got {other:?}").into()),
    }

    let echoed = calc
        .remote_repr(serde_json::to_value((1, "two", 3.5, None::<i32>))?)
        .await?;
    println!("remote_repr((1, \"two\", 3.5, None)) = {echoed}");

    let lengths = calc
        .lengths(vec![
            json!("hello"),
            json!([1, 2, 3]),
            json!({"a": 1}),
            json!(42),
        ])
        .await?;
    println!("lengths(\"hello\", [1, 2, 3], {{\"a\": 1}}, 42) = {lengths:?}");

    // The multicall: several calls, one request, each answer typed.
    let mut batch = calc.batch();
    let total = batch.add_together(vec![10, 20, 30]);
    let roots = batch.quadratic(2.0, 4.0, 2.0);
    let bad = batch.quadratic(0.0, 1.0, 1.0);
    let sizes = batch.lengths(vec![json!("abc")]);
    let mut answers = batch.send().await?;
    println!("\nbatch of 4 calls in one request:");
    println!("  add_together(10, 20, 30) = {}", answers.take(total)?);
    println!("  quadratic(2, 4, 2) = {:?}", answers.take(roots)?);
    match answers.take(bad) {
        Err(CallError::Method(e)) => println!("  quadratic(0, 1, 1) failed: {e}"),
        other => return Err(format!("expected NotQuadratic, got {other:?}").into()),
    }
    println!("  lengths(\"abc\") = {:?}", answers.take(sizes)?);

    if std::env::args().any(|a| a == "--serve") {
        println!("\nserving until interrupted: open {url} in a browser for the explorer");
        std::future::pending::<()>().await;
    }
    Ok(())
}
