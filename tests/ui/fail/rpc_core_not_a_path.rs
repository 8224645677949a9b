use rpc_core::rpc;

#[rpc(rpc_core = "not a path")]
pub trait Api {
    async fn ping(&self) -> String;
}

fn main() {}
