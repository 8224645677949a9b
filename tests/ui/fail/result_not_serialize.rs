//! A result type that deserializes but does not serialize, in a server-only trait: one error.

use rpc_core::rpc;
use serde::Deserialize;

#[derive(Deserialize)]
struct Report {
    lines: Vec<String>,
}

#[rpc(server)]
trait Api {
    async fn report(&self) -> Report;
}

fn main() {}
