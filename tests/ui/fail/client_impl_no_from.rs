use rpc_core::{RpcError, rpc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Failed(String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl RpcError for Failed {}

#[rpc(client_impl)]
trait Api {
    async fn get(&self) -> Result<u32, Failed>;
}

fn main() {}
