//! Writes the OpenRPC documents of the example services, no server needed: what a build step
//! does to publish `openrpc.json`.
//!
//! ```text
//! cargo run -p examples --example openrpc -- target/openrpc   # writes calculator.json, spec.json
//! ```

use std::path::PathBuf;

use examples::calculator::CalculatorServer;
use examples::spec::SpecExamplesServer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/openrpc".into()),
    );
    std::fs::create_dir_all(&dir)?;
    for (name, doc) in [
        ("calculator.json", CalculatorServer::openrpc()),
        ("spec.json", SpecExamplesServer::openrpc()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(&doc)?)?;
        let methods = doc["methods"].as_array().map_or(0, Vec::len);
        println!("{}: {} methods", path.display(), methods);
    }
    Ok(())
}
