use rpc_core::rpc;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Oops;

#[rpc]
trait Api {
    async fn fail(&self) -> Result<u32, Oops>;
}

fn main() {}
