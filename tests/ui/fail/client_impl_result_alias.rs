// The macro sees tokens, not types: a `Result` alias with one argument is not `Result<T, E>`.
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

impl From<rpc_core::Error> for Failed {
    fn from(e: rpc_core::Error) -> Self {
        Failed(e.to_string())
    }
}

type ApiResult<T> = Result<T, Failed>;

#[rpc(client_impl)]
trait Api {
    async fn get(&self) -> ApiResult<u32>;
}

fn main() {}
