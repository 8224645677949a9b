//! The runtime crates reached under other paths, as in a crate that renames them in its
//! Cargo.toml or a facade that re-exports them: `rpc_core` and `rpc_client` say where they are.

mod facade {
    pub use ::rpc_client as client;
    pub use ::rpc_core as core;
}

use facade::core::{RpcError, rpc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Nope;

impl std::fmt::Display for Nope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nope")
    }
}

impl RpcError for Nope {}

/// A service whose macro finds its runtime through the facade.
#[rpc(rpc_core = "crate::facade::core", rpc_client = "crate::facade::client")]
pub trait Renamed {
    /// Adds.
    async fn add(&self, a: i64, b: Option<i64>) -> Result<i64, Nope>;
    /// Fire and forget.
    async fn poke(&self, #[rpc(variadic)] what: Vec<String>);
}

fn main() {
    let _ = RenamedServer::openrpc();
    let _client: Result<RenamedClient, facade::core::Error> = RenamedClient::new("http://127.0.0.1:1/");
}
