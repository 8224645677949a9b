// The generated code really goes through the given path: a crate that is not there fails.
use rpc_core::rpc;

#[rpc(server, rpc_core = "::no_such_crate")]
pub trait Api {
    async fn ping(&self);
}

fn main() {}
